// `node build/bench/audio-io.js`: what reading audio costs before the front end, on the real
// files of ../shared/data/audio. Prints one JSON object:
// - `wavDecode`: the WAV reader (bytes read and decoded to mono int16) on the 61 s background
//   noise file, as 16-bit mono (as stored) and as 24-bit stereo at 48 kHz (made by sox);
// - `resample`: 48 kHz and 44.1 kHz to 16 kHz with libsamplerate's best sinc, real-time factor;
// - `wavSource`: the `wav` source at max pacing through the `chunks` decoder and the `window`
//   preprocessor (480-sample windows, hop 320): chunks/s and audio seconds per second.
// Medians of 5 runs each. Standalone (not in `make bench`), so it needs `make build` and sox.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decoders } from '../host/src/codecs/registry.js';
import '../host/src/codecs/chunks.js';
import { monotonicClock } from '../host/src/core/clock.js';
import { copyFrameHeader, FrameRing, type FrameSlot } from '../host/src/core/frame.js';
import { decodeWav } from '../host/src/modalities/audio/wav.js';
import { resampleInt16 } from '../host/src/modalities/audio/resample.js';
import { createWavSource } from '../host/src/modalities/audio/sources/wav-source.js';
import '../host/src/preprocess/builtins.js';
import { createStreamPreprocessor } from '../host/src/preprocess/stream-preprocessor.js';
import { realTimers } from '../host/src/sources/source.js';

const AUDIO = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'audio');
const NOISE = join(AUDIO, 'speech-commands-wids-tutorial', '_background_noise_', 'running_tap.wav');
const RUNS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function timed(fn: () => unknown): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    runs.push((performance.now() - t) / 1000);
  }
  return median(runs);
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'ht-bench-audio-'));
  try {
    const mono = readFileSync(NOISE);
    const stereoPath = join(tmp, 's24.wav');
    execFileSync('sox', [NOISE, '-D', '-b', '24', '-r', '48000', '-c', '2', stereoPath]);
    const stereo = readFileSync(stereoPath);
    const seconds = decodeWav(mono, NOISE).durationS;
    const decode = async (b: Buffer) => {
      const s = await timed(() => decodeWav(b, 'bench'));
      return { seconds: s, mbPerS: b.length / s / 1e6, realTimeFactor: seconds / s };
    };
    const wavDecode = { audioS: seconds, s16Mono16k: await decode(mono), s24Stereo48k: await decode(stereo) };
    const at48 = decodeWav(stereo, 'bench').samples;
    execFileSync('sox', [NOISE, '-D', '-r', '44100', join(tmp, 'r44.wav')]);
    const at44 = decodeWav(readFileSync(join(tmp, 'r44.wav')), 'bench').samples;
    const rate = async (x: Int16Array, hz: number) => ({ realTimeFactor: seconds / (await timed(() => resampleInt16(x, hz, 16_000))) });
    const resample = { from48k: await rate(at48, 48_000), from44k1: await rate(at44, 44_100) };
    const samples = decodeWav(mono, NOISE).samples;
    const play = async () => {
      const src = createWavSource(samples, { pacing: 'max', loop: false, chunkSamples: 320, rateHz: 16_000, stream: 'a' }, monotonicClock, realTimers);
      const decode = decoders.create({ kind: 'chunks' }, { spec: src.spec }, 'decoder');
      const pre = createStreamPreprocessor({ kind: 'window', frame: { dtype: 'int16', sampleRateHz: 16_000 }, window: 480, hop: 320, scale: 1 / 32768 });
      const ring = new FrameRing(pre.inputElements, 1, 1024);
      const outlet = { derive: (from: FrameSlot) => { const s = ring.acquire(); copyFrameHeader(from, s); return s; } };
      const emit = () => {};
      src.start({ acquire: () => ring.acquire(), push: (s) => (decode.run(s), pre.run(s, outlet, emit)) });
      await src.done;
      return src.delivered;
    };
    const chunks = await play();
    const s = await timed(play);
    const wavSource = { chunks, chunksPerS: chunks / s, realTimeFactor: seconds / s };
    process.stdout.write(JSON.stringify({ wavDecode, resample, wavSource }, null, 2) + '\n');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
