// CPU time of the keyword front end (host/src/modalities/audio/mfcc.ts) per 20 ms hop, on the
// real 1 s clips of ../shared/data/audio/micro-speech: `createMfcc` alone (one 480-sample
// window to 10 MFCC), and the `mfcc` stream preprocessor fed 320-sample chunks (one hop each,
// a [49, 10] model frame emitted every hop: stride 1, the dearest cadence).
// Run: `node build/bench/mfcc.js` after `make build` (MFCC_BENCH_ROUNDS, default 50); with
// `node --single-threaded --expose-gc --max-semi-space-size=128` it also gives the bytes the
// preprocessor allocates per hop (young generation, as bench/alloc-probe.ts measures).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { copyFrameHeader, FrameRing, type FrameSlot } from '../host/src/core/frame.js';
import '../host/src/modalities/audio/index.js';
import { createMfcc, MFCC_DEFAULT_SPEC } from '../host/src/modalities/audio/mfcc.js';
import { createStreamPreprocessor } from '../host/src/preprocess/stream-preprocessor.js';

const MICRO = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'audio', 'micro-speech');
const ROUNDS = Number(process.env.MFCC_BENCH_ROUNDS ?? 50);
const HOP_US = 20_000;

/** The samples of micro_speech's canonical 44-byte-header clips (16-bit mono), one after the other. */
function stream(): Int16Array {
  const parts = ['yes_1000ms', 'no_1000ms', 'silence_1000ms', 'noise_1000ms'].map((n) => {
    const b = readFileSync(join(MICRO, `${n}.wav`));
    return new Int16Array(b.buffer.slice(b.byteOffset + 44, b.byteOffset + b.length));
  });
  const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  return all;
}

/** Median over ROUNDS of the CPU microseconds per hop that `pass` (one pass, `hops` hops) takes; round -1 warms up. */
function cpuUsPerHop(hops: number, pass: () => void): number {
  const per: number[] = [];
  for (let r = -1; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    pass();
    const c = process.cpuUsage(c0);
    if (r >= 0) per.push((c.user + c.system) / hops);
  }
  return per.sort((a, b) => a - b)[per.length >> 1]!;
}

const samples = stream();
const hops = Math.floor((samples.length - 480) / 320) + 1;
const front = createMfcc(MFCC_DEFAULT_SPEC);
const out = new Float32Array(10);
const frontUs = cpuUsPerHop(hops, () => {
  for (let k = 0; k < hops; k++) front.run(samples.subarray(k * 320, k * 320 + 480), out);
});

const pre = createStreamPreprocessor(MFCC_DEFAULT_SPEC);
const ring = new FrameRing(pre.inputElements, 12, 64);
const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
const chunks = Math.floor(samples.length / 320);
const outlet = { derive: (from: FrameSlot) => { const s = ring.acquire(); copyFrameHeader(from, s); return s; } };
let frames = 0;
const emit = () => void frames++;
const streamPass = () => {
  pre.reset();
  for (let k = 0; k < chunks; k++) {
    const slot = ring.acquire();
    slot.raw = bytes;
    slot.rawOffset = k * 640;
    slot.rawLength = 640;
    slot.dueNs = k * 2e7;
    pre.run(slot, outlet, emit);
  }
};
const streamUs = cpuUsPerHop(chunks, streamPass);

/** Young-generation bytes one more pass allocates per hop, when gc is exposed (else null). */
function bytesPerHop(hops: number, pass: () => void): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return null;
  const young = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
  pass(); // warm: compiled, every table built
  gc();
  const probe = young();
  const before = young(); // reading the statistics allocates too: subtract one read's worth
  pass();
  return Math.max(0, young() - before - (before - probe)) / hops;
}

const allocBytesPerHop = bytesPerHop(chunks, streamPass);
const result = { bench: 'mfcc', rounds: ROUNDS, hops, frontEndUsPerHop: +frontUs.toFixed(2), preprocessorUsPerHop: +streamUs.toFixed(2), modelFrames: frames, allocBytesPerHop, streamsPerCore: Math.floor(HOP_US / streamUs) };
console.log(`MFCC front end (49 x 10, fft.js 512): ${frontUs.toFixed(2)} us CPU per hop; mfcc preprocessor, a model frame every hop: ${streamUs.toFixed(2)} us per hop, so ${result.streamsPerCore} streams of 16 kHz per core for the front end alone`);
console.log(JSON.stringify(result));
