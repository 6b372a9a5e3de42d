import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { manualClock, monotonicClock } from '../../../core/clock.js';
import { SourceError, type HairtriggerError } from '../../../core/errors.js';
import { FrameRing } from '../../../core/frame.js';
import { IngressQueue } from '../../../sources/ingress.js';
import { sources } from '../../../sources/registry.js';
import { realTimers } from '../../../sources/source.js';
import '../index.js';
import { readWav } from '../wav.js';
import { audioChain, joined } from './chain.fixture.js';
import { PcmChunker, type PcmSource } from './pcm-source.js';
import { CHUNK_SAMPLES_DEFAULT } from './pcm.js';

/** Chunks of the 10 s wake-word stream at the sources' default chunk size. */
const CHUNKS = (10 * 16_000) / CHUNK_SAMPLES_DEFAULT;

const AUDIO = resolve(import.meta.dirname, '..', '..', '..', '..', '..', '..', 'shared', 'data', 'audio');
const STREAM = join(AUDIO, 'mlperf-tiny-wakeword', 'short_wav_easy10s.wav');
const REPO = resolve(import.meta.dirname, '..', '..', '..', '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'ht-pcm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ctx = (errors: HairtriggerError[]) => ({ clock: monotonicClock, timers: realTimers, at: (p: string) => p, log: () => {}, error: (e: HairtriggerError) => errors.push(e) });

/** The real 10 s wake-word stream as raw s16le mono, written by sox. */
function rawStream(): { path: string; bytes: Buffer } {
  const path = join(tmp, 'stream.raw');
  execFileSync('sox', [STREAM, '-D', '-t', 'raw', '-e', 'signed', '-b', '16', '-c', '1', path]);
  return { path, bytes: readFileSync(path) };
}

describe('PCM chunker', () => {
  it('cuts any byte stream, however it arrives, into whole chunks in order; an odd tail is a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 12 }), fc.integer({ min: 1, max: 700 }), async (bytes, cuts, chunkSamples) => {
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const pieces = [...at, bytes.length].map((end, i, ends) => Buffer.from(bytes.subarray(i === 0 ? 0 : ends[i - 1], end))).filter((p) => p.length > 0);
        const q = new IngressQueue({ policy: 'block', framesMax: 4, bytesMax: 4096 }, manualClock(), realTimers);
        const ring = new FrameRing(1, 1, 8);
        const got: { bytes: number[]; sensorNs: number; seq: number }[] = [];
        q.attach({ acquire: () => ring.acquire(), push: (s) => got.push({ bytes: Array.from(s.raw.subarray(s.rawOffset, s.rawOffset + s.rawLength)), sensorNs: s.sensorNs, seq: s.seq }) });
        let error: unknown = null;
        await new PcmChunker(q, chunkSamples, 8000).read(Readable.from(pieces), 'test', () => false).catch((e: unknown) => (error = e));
        while (q.depth > 0) await new Promise((r) => setImmediate(r));
        const whole = bytes.length & ~1;
        const size = chunkSamples * 2;
        const want = Array.from({ length: Math.ceil(whole / size) }, (_, k) => Array.from(bytes.subarray(k * size, Math.min((k + 1) * size, whole))));
        expect(got.map((g) => g.bytes)).toEqual(want);
        expect(got.map((g) => g.seq)).toEqual(want.map((_, k) => k));
        expect(got.map((g) => g.sensorNs)).toEqual(want.map((_, k) => (Math.min((k + 1) * size, whole) / 2 / 8000) * 1e9));
        if (bytes.length % 2 === 1) expect(error).toBeInstanceOf(SourceError);
        else expect(error).toBeNull();
      }),
      { numRuns: 150 },
    );
  });
});

describe('pcm source', () => {
  it('a file of raw PCM gives the chunks and windows the wav source gives for the same real stream', { timeout: 60_000 }, async () => {
    const { path } = rawStream();
    const errors: HairtriggerError[] = [];
    const pcm = sources.create({ kind: 'pcm', path }, ctx(errors), 'source');
    const viaPcm = audioChain(pcm.spec, 16_000);
    pcm.start(viaPcm.sink);
    await pcm.done;
    const wav = sources.create({ kind: 'wav', path: STREAM, pacing: 'max' }, ctx(errors), 'source');
    const viaWav = audioChain(wav.spec, 16_000);
    wav.start(viaWav.sink);
    await wav.done;
    expect(errors).toEqual([]);
    expect(joined(viaPcm)).toEqual(readWav(STREAM).samples);
    expect(viaPcm.chunks.map((c) => [c.seq, c.sensorNs, c.samples.length])).toEqual(viaWav.chunks.map((c) => [c.seq, c.sensorNs, c.samples.length]));
    const windows = (r: typeof viaPcm) => r.windows.map((w) => [w.seq, w.sensorNs, w.chunk, w.first]);
    expect(windows(viaPcm)).toEqual(windows(viaWav));
    expect(viaPcm.windows.length).toBe(499);
    // A file is read as fast as it comes: a window is due when its chunk was, not the stream time
    // of the samples after its end before that (as a live stream's would be).
    for (const w of viaPcm.windows) expect(w.dueNs).toBe(viaPcm.chunks[w.chunk].dueNs);
    expect((pcm as PcmSource).ingress.delivered).toBe(CHUNKS);
  });

  it('takes one TCP connection at a time, refuses a second, and runs the stream time on across successive ones', { timeout: 60_000 }, async () => {
    const { bytes } = rawStream();
    const errors: HairtriggerError[] = [];
    const src = sources.create({ kind: 'pcm', listen: '127.0.0.1:0', queue: { policy: 'block' } }, ctx(errors), 'source') as PcmSource;
    const rec = audioChain(src.spec, 16_000);
    src.start(rec.sink);
    while (src.address() === null) await new Promise((r) => setTimeout(r, 5));
    const { port } = src.address()!;
    const half = 16_000 * 5 * 2; // 5 s of s16le
    const first = connect(port, '127.0.0.1');
    await new Promise<void>((r) => first.on('connect', r));
    const second = connect(port, '127.0.0.1');
    await new Promise<void>((r) => second.on('close', () => r()).on('error', () => {}));
    for (let at = 0; at < half; at += 7777) first.write(bytes.subarray(at, Math.min(at + 7777, half)));
    first.end();
    while (src.ingress.delivered < CHUNKS / 2) await new Promise((r) => setTimeout(r, 5));
    const third = connect(port, '127.0.0.1', () => third.end(bytes.subarray(half)));
    while (src.ingress.delivered < CHUNKS) await new Promise((r) => setTimeout(r, 5));
    await src.stop();
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/refused a second connection .*one PCM stream at a time/)]);
    expect(joined(rec)).toEqual(readWav(STREAM).samples);
    expect(rec.chunks[CHUNKS - 1].sensorNs).toBeCloseTo(10e9, 3);
  });

  it('reads standard input (path "-") as it reads a file: a child process with the compiled source (make build), fed by a pipe', { timeout: 60_000 }, async () => {
    const { bytes } = rawStream();
    // The child writes back every chunk's bytes on stdout, then one JSON line of counts on stderr.
    const script = [
      "import { sources } from './build/host/src/sources/registry.js';",
      "import './build/host/src/modalities/audio/index.js';",
      "import { monotonicClock } from './build/host/src/core/clock.js';",
      "import { FrameRing } from './build/host/src/core/frame.js';",
      "import { realTimers } from './build/host/src/sources/source.js';",
      "const errors = [];",
      "const src = sources.create({ kind: 'pcm', path: '-' }, { clock: monotonicClock, timers: realTimers, at: (p) => p, log() {}, error: (e) => errors.push(e.message) }, 'source');",
      "const ring = new FrameRing(1, 1, 8);",
      "let last = 0;",
      "src.start({ acquire: () => ring.acquire(), push: (s) => { process.stdout.write(Buffer.from(s.raw.subarray(s.rawOffset, s.rawOffset + s.rawLength))); last = s.sensorNs; } });",
      "await src.done;",
      "process.stderr.write(JSON.stringify({ delivered: src.delivered, last, errors }));",
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {}); // a child that fails early closes the pipe: its stderr says why
    child.stdin.end(bytes);
    const [code] = (await once(child, 'close')) as [number];
    expect(code, Buffer.concat(err).toString()).toBe(0);
    expect(JSON.parse(Buffer.concat(err).toString())).toEqual({ delivered: CHUNKS, last: 10e9, errors: [] });
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
  });
});
