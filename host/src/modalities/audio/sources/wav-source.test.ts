import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { manualClock, monotonicClock } from '../../../core/clock.js';
import { WavError, type HairtriggerError } from '../../../core/errors.js';
import { sources } from '../../../sources/registry.js';
import { manualTimers } from '../../../sources/manual-timers.fixture.js';
import { realTimers, type Source } from '../../../sources/source.js';
import '../index.js';
import { readWav } from '../wav.js';
import { audioChain, joined } from './chain.fixture.js';
import { createWavSource } from './wav-source.js';
import { CHUNK_SAMPLES_DEFAULT } from './pcm.js';

const AUDIO = resolve(import.meta.dirname, '..', '..', '..', '..', '..', '..', 'shared', 'data', 'audio');
const YES = join(AUDIO, 'micro-speech', 'yes_1000ms.wav');
const MARVIN = join(AUDIO, 'mlperf-tiny-wakeword', 'marvin_617de221_0.wav');
const NO = join(AUDIO, 'micro-speech', 'no_1000ms.wav');
const STREAM = join(AUDIO, 'mlperf-tiny-wakeword', 'short_wav_easy10s.wav');
const tmp = mkdtempSync(join(tmpdir(), 'ht-wav-source-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ctx = (errors: HairtriggerError[] = []) => ({ clock: monotonicClock, timers: realTimers, at: (p: string) => p, log: () => {}, error: (e: HairtriggerError) => errors.push(e) });

/** Runs a source to its end into the audio chain. */
async function play(src: Source, rateHz = 16_000) {
  const rec = audioChain(src.spec, rateHz);
  src.start(rec.sink);
  await src.done;
  return rec;
}

function soxTo16k(path: string): Int16Array {
  const out = join(tmp, 'ref.raw');
  execFileSync('sox', [path, '-D', '-t', 'raw', '-e', 'signed', '-b', '16', '-c', '1', out, 'rate', '-v', '16k']);
  const b = readFileSync(out);
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

describe('wav source', () => {
  it('plays a real clip in chunks of any size: every sample once, in order; chunk and window stream times from the sample count', { timeout: 60_000 }, async () => {
    const want = readWav(YES).samples;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4000 }), async (chunkSamples) => {
        const src = sources.create({ kind: 'wav', path: YES, pacing: 'max', chunkSamples }, ctx(), 'source');
        const rec = await play(src);
        expect(joined(rec)).toEqual(want);
        expect(src.delivered).toBe(Math.ceil(want.length / chunkSamples));
        expect(src.expectedFrames).toBe(src.delivered);
        let end = 0;
        rec.chunks.forEach((c, k) => {
          end += c.samples.length;
          expect(c.seq).toBe(k);
          expect(c.sensorNs).toBeCloseTo((end / 16_000) * 1e9, 3);
        });
        // Window k (480 samples, hop 320) covers samples [320k, 320k + 480): it ends at that stream time.
        expect(rec.windows.length).toBe(Math.floor((want.length - 480) / 320) + 1);
        rec.windows.forEach((w, k) => {
          expect(w.seq).toBe(k);
          expect(w.sensorNs).toBeCloseTo(((320 * k + 480) / 16_000) * 1e9, 3);
          expect(w.first).toBe(want[320 * k]);
        });
      }),
      { numRuns: 12 },
    );
  });

  it('paced at x10, each chunk is due a tenth of its stream time after the start', () => {
    const clock = manualClock(5_000_000);
    const { timers, step } = manualTimers(clock);
    const samples = readWav(NO).samples;
    const src = createWavSource(samples, { pacing: 'x10', loop: false, chunkSamples: 320, rateHz: 16_000, stream: 'a', spinWindowUs: 0 }, clock, timers);
    const rec = audioChain(src.spec, 16_000);
    src.start(rec.sink);
    for (let guard = 0; guard < 10_000 && step(); guard++);
    expect(rec.chunks.length).toBe(50);
    rec.chunks.forEach((c, k) => expect(c.dueNs - 5_000_000).toBeCloseTo(((320 * (k + 1)) / 16_000) * 1e8, 3));
  });

  it('at max pace a window is due when the source produced the chunk that completed it: never before that chunk was read, distinct and monotone per chunk', { timeout: 60_000 }, async () => {
    // Nothing is scheduled at max pace, so a chunk's samples all come into being when the source
    // delivers it; a window ending inside the chunk was not due earlier (before the fix it was
    // due the stream time of the samples after its end before the chunk was even read: 10 ms
    // at 320-sample chunks, every frame late on a 1 ms budget).
    await fc.assert(
      // From 32 samples a chunk: each takes microseconds, so consecutive ingest stamps differ.
      fc.asyncProperty(fc.integer({ min: 32, max: 2000 }), async (chunkSamples) => {
        const rec = await play(sources.create({ kind: 'wav', path: STREAM, pacing: 'max', chunkSamples }, ctx(), 'source'));
        expect(rec.windows.length).toBe(499);
        rec.chunks.forEach((c, k) => {
          expect(c.dueNs).toBeGreaterThanOrEqual(c.ingestNs);
          if (k > 0) expect(c.dueNs).toBeGreaterThan(rec.chunks[k - 1].dueNs);
        });
        for (const w of rec.windows) expect(w.dueNs).toBe(rec.chunks[w.chunk].dueNs);
      }),
      { numRuns: 8 },
    );
  });

  it.each([
    ['realtime', 1],
    ['x10', 10],
  ] as const)('paced %s, a window is due when its last sample was played: its stream end over the speed after the start', (pacing, speed) => {
    const clock = manualClock(5_000_000);
    const { timers, step } = manualTimers(clock);
    const src = createWavSource(readWav(NO).samples, { pacing, loop: false, chunkSamples: 320, rateHz: 16_000, stream: 'a', spinWindowUs: 0 }, clock, timers);
    const rec = audioChain(src.spec, 16_000);
    src.start(rec.sink);
    for (let guard = 0; guard < 10_000 && step(); guard++);
    expect(rec.windows.length).toBe(49);
    // Window k ends at sample 320k + 480, 160 samples before the end of the chunk that completes it.
    rec.windows.forEach((w, k) => expect(w.dueNs - 5_000_000).toBeCloseTo(((320 * k + 480) / 16_000) * (1e9 / speed), 3));
  });

  it('spinWindowUs 0 paces on timers only (never turns the event loop), each chunk on its due time', async () => {
    const clock = manualClock(1_000_000);
    const { timers, step } = manualTimers(clock);
    let immediates = 0;
    const counted = { ...timers, setImmediate: (fn: () => void) => (immediates++, timers.setImmediate(fn)) };
    const src = sources.create({ kind: 'wav', path: NO, pacing: 'realtime', spinWindowUs: 0 }, { ...ctx(), clock, timers: counted }, 'source');
    const rec = audioChain(src.spec, 16_000);
    src.start(rec.sink);
    // The source starts once its samples are made (asynchronously: the resampler's promise).
    for (let waited = 0; waited < 500 && !step(); waited++) await new Promise((r) => setTimeout(r, 10));
    for (let guard = 0; guard < 10_000 && step(); guard++);
    expect(rec.chunks.length).toBe(16_000 / CHUNK_SAMPLES_DEFAULT); // one second
    expect(immediates).toBe(0);
    for (const c of rec.chunks) expect(c.ingestNs - c.dueNs).toBe(0);
    expect(() => sources.create({ kind: 'wav', path: NO, spinWindowUs: 2001 }, ctx(), 'source')).toThrow('spinWindowUs');
  });

  it('its replay speed changes live (the control API, model selection benches): chunks after the change are due at the new pace, and say so', () => {
    const clock = manualClock(5_000_000);
    const { timers, step } = manualTimers(clock);
    const samples = readWav(NO).samples;
    const src = createWavSource(samples, { pacing: 'x10', loop: false, chunkSamples: 320, rateHz: 16_000, stream: 'a', spinWindowUs: 0 }, clock, timers);
    const rec = audioChain(src.spec, 16_000);
    const pace: number[] = [];
    const push = rec.sink.push;
    rec.sink.push = (slot) => {
      pace.push(slot.wallNsPerStreamNs);
      push(slot);
    };
    src.start(rec.sink);
    expect(src.pacing!.pace).toBe(10);
    for (let guard = 0; guard < 10_000 && rec.chunks.length < 20 && step(); guard++);
    expect(rec.chunks.length).toBe(20);
    src.pacing!.setSpeed(40);
    for (let guard = 0; guard < 10_000 && step(); guard++);
    expect(rec.chunks.length).toBe(50);
    const hopNs = (320 / 16_000) * 1e9;
    // Before the change a chunk every 2 ms (x10), after it every 0.5 ms (x40), and each slot
    // carries the wall time a stream ns took when it came (the window's due time uses it).
    for (let k = 1; k < 20; k++) expect(rec.chunks[k]!.dueNs - rec.chunks[k - 1]!.dueNs).toBeCloseTo(hopNs / 10, 0);
    for (let k = 22; k < 50; k++) expect(rec.chunks[k]!.dueNs - rec.chunks[k - 1]!.dueNs).toBeCloseTo(hopNs / 40, 0);
    expect(pace.slice(0, 20).every((p) => p === 0.1)).toBe(true);
    expect(pace.slice(21).every((p) => p === 1 / 40)).toBe(true);
  });

  it('loops: sequence numbers and stream time run on across passes', async () => {
    const samples = Int16Array.from({ length: 1000 }, (_, i) => i);
    const src = createWavSource(samples, { pacing: 'max', loop: true, chunkSamples: 300, rateHz: 8000, stream: 'a' }, monotonicClock, realTimers);
    const rec = audioChain(src.spec, 8000);
    const push = rec.sink.push;
    rec.sink.push = (s) => {
      push(s);
      if (rec.chunks.length === 10) void src.stop();
    };
    src.start(rec.sink);
    await src.done;
    expect(rec.chunks.map((c) => c.samples.length)).toEqual([300, 300, 300, 100, 300, 300, 300, 100, 300, 300]);
    expect(rec.chunks.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(rec.chunks[9].sensorNs).toBeCloseTo((2600 / 8000) * 1e9, 3);
    expect(rec.chunks[4].samples[0]).toBe(0);
  });

  it('plays a folder as one stream in name order, each file resampled to 16 kHz (checked against sox)', { timeout: 60_000 }, async () => {
    const dir = join(tmp, 'folder');
    mkdirSync(dir);
    execFileSync('sox', [MARVIN, '-D', '-b', '24', '-r', '44100', join(dir, 'b.wav')]); // stereo, 24-bit, 44.1 kHz
    execFileSync('sox', [YES, '-D', '-r', '8000', join(dir, 'a.wav')]);
    execFileSync('sox', [NO, '-D', '-e', 'floating-point', '-b', '32', join(dir, 'c.WAV')]);
    writeFileSync(join(dir, 'notes.txt'), 'not audio');
    const src = sources.create({ kind: 'wav', path: dir, pacing: 'max' }, ctx(), 'source');
    const got = joined(await play(src));
    let at = 0;
    for (const f of ['a.wav', 'b.wav', 'c.WAV']) {
      const want = soxTo16k(join(dir, f));
      const part = got.subarray(at, at + want.length);
      let e = 0;
      let s = 0;
      for (let i = 160; i < want.length - 160; i++) {
        e += (part[i] - want[i]) ** 2;
        s += want[i] ** 2;
      }
      expect(10 * Math.log10(s / e)).toBeGreaterThan(40);
      at += want.length;
    }
    expect(Math.abs(got.length - at)).toBeLessThanOrEqual(2);
    expect(Math.abs(src.delivered - src.expectedFrames!)).toBeLessThanOrEqual(1);
  });

  it('a hostile file in the folder fails the config with its WavError', () => {
    const dir = join(tmp, 'hostile');
    mkdirSync(dir);
    const good = readFileSync(YES);
    writeFileSync(join(dir, 'a.wav'), good);
    writeFileSync(join(dir, 'b.wav'), good.subarray(0, 1000));
    expect(() => sources.create({ kind: 'wav', path: dir }, ctx(), 'source')).toThrow(WavError);
    expect(() => sources.create({ kind: 'wav', path: dir }, ctx(), 'source')).toThrow(`${join(dir, 'b.wav')} byte 40`);
  });
});
