import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMfcc, LOGMEL_DEFAULT_SPEC, MFCC_DEFAULT_SPEC, type FrontEndSpec } from '../../host/src/modalities/audio/mfcc.js';
import { feed, feedStreams, wholeClip } from '../../host/src/modalities/audio/testing.js';
import { SHARED } from '../support/fixtures.js';
import { runPython, TRAIN } from '../support/python.js';

/**
 * One keyword front end, two implementations: the daemon's streaming MFCC / log-mel
 * (host/src/modalities/audio/mfcc.ts, fed in random chunk sizes) and the numpy one training
 * uses (models/train/audio_features.py), on real clips: micro_speech's test clips and three
 * speakers of each Speech Commands folder. Both compute in float64 and round to float32, so
 * they may differ where a float64 result rounds the other way: the tolerance is two float32
 * steps of the value (2^-22 |v|, at least 2^-22). Measured on 2026-12-06: log-mel identical,
 * MFCC 9e-15 apart at most (a coefficient near 0).
 */
const AUDIO = join(SHARED, 'audio');
const TOLERANCE = 2 ** -22;
const close = (want: number, got: number) => Math.abs(want - got) <= TOLERANCE * Math.max(1, Math.abs(want));

/** The int16 samples of a mono 16-bit PCM WAV: a walk over its RIFF chunks to `data` (h-wav's reader does the full job). */
function readWav16(path: string): Int16Array {
  const b = readFileSync(path);
  expect(b.toString('latin1', 0, 4) + b.toString('latin1', 8, 12)).toBe('RIFFWAVE');
  for (let at = 12; at + 8 <= b.length; ) {
    const id = b.toString('latin1', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    if (id === 'fmt ') expect([b.readUInt16LE(at + 8), b.readUInt16LE(at + 10), b.readUInt32LE(at + 12), b.readUInt16LE(at + 22)], path).toEqual([1, 1, 16_000, 16]);
    if (id === 'data') return new Int16Array(b.buffer.slice(b.byteOffset + at + 8, b.byteOffset + at + 8 + size));
    at += 8 + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

function clips(): string[] {
  const micro = ['yes_1000ms', 'no_1000ms', 'silence_1000ms', 'noise_1000ms'].map((n) => join(AUDIO, 'micro-speech', `${n}.wav`));
  const sc = join(AUDIO, 'speech-commands-pico-tinyml-benchmark');
  const words = readdirSync(sc, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  expect(words.length).toBe(12);
  return [...micro, ...words.flatMap((w) => readdirSync(join(sc, w)).filter((f) => f.endsWith('.wav')).sort().slice(0, 3).map((f) => join(sc, w, f)))];
}

function python(spec: FrontEndSpec, paths: string[], concat = false): { path: string; frames: number; width: number; features: number[] }[] {
  return JSON.parse(runPython([join(TRAIN, 'audio_features.py'), '--spec', JSON.stringify(spec), ...(concat ? ['--concat'] : []), ...paths])).files;
}

/** Chunk sizes from a seeded generator: 1 to 2,000 samples, so windows straddle chunks every way. */
function chunkSizes(seed: number): number[] {
  let x = seed >>> 0;
  return Array.from({ length: 64 }, () => 1 + ((x = (x * 1664525 + 1013904223) >>> 0) % 2000));
}

describe('MFCC / log-mel parity, TypeScript streaming vs numpy, on real clips', () => {
  const paths = clips();

  for (const spec of [MFCC_DEFAULT_SPEC, LOGMEL_DEFAULT_SPEC]) {
    it(`${spec.kind}: the one model frame of each 1 s clip equals audio_features.py within two float32 steps`, () => {
      const want = python(spec, paths);
      expect(want.map((w) => w.path)).toEqual(paths);
      let bad = 0;
      let worstPath = '';
      paths.forEach((path, i) => {
        const samples = readWav16(path);
        expect(samples.length, path).toBe(16_000);
        const got = feed(spec, samples, chunkSizes(i + 1));
        expect(got.length, path).toBe(1); // 49 hops in 16,000 samples: exactly one model frame
        expect([want[i]!.frames, want[i]!.width]).toEqual([49, spec.kind === 'mfcc' ? 10 : 40]);
        // Streaming gives exactly the whole-clip features, however the clip was chunked.
        expect(Array.from(got[0]!.x)).toEqual(wholeClip(spec, samples).flatMap((r) => Array.from(r)));
        want[i]!.features.forEach((v, k) => {
          if (!close(v, got[0]!.x[k]!)) (bad += 1), (worstPath = path);
        });
      });
      expect(bad, `values apart, the last in ${worstPath}`).toBe(0);
    }, 120_000);
  }

  it('every clip a stream of its own, all fed at once chunk by chunk: each stream\'s frame equals numpy\'s for its clip', () => {
    // The streams of one process share one front end (its tables and scratch) per spec:
    // interleaved windows of different streams must not leak into each other.
    expect(createMfcc({ ...MFCC_DEFAULT_SPEC })).toBe(createMfcc(JSON.parse(JSON.stringify(MFCC_DEFAULT_SPEC)) as FrontEndSpec));
    expect(createMfcc(LOGMEL_DEFAULT_SPEC)).not.toBe(createMfcc(MFCC_DEFAULT_SPEC));
    const want = python(MFCC_DEFAULT_SPEC, paths);
    const got = feedStreams(MFCC_DEFAULT_SPEC, paths.map(readWav16), [160, 37, 480, 1, 999]);
    let bad = 0;
    got.forEach((frames, i) => {
      expect(frames.length, paths[i]).toBe(1);
      want[i]!.features.forEach((v, k) => {
        if (!close(v, frames[0]!.x[k]!)) bad++;
      });
    });
    expect(bad).toBe(0);
  }, 120_000);

  it('a 16 s stream of 16 real clips, a model frame every 3 hops: every frame equals numpy\'s rows for its second', () => {
    const spec: FrontEndSpec = { ...MFCC_DEFAULT_SPEC, stride: 3 };
    const some = paths.filter((_, i) => i % 2 === 0).slice(0, 16);
    expect(some.length).toBe(16);
    const parts = some.map(readWav16);
    const samples = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (samples.set(p, at), at + p.length), 0);
    const [want] = python(spec, some, true);
    const rows = want!.frames; // 1 + (256,000 - 480) / 320 = 799
    expect(rows).toBe(799);
    const got = feed(spec, samples, chunkSizes(99));
    expect(got.length).toBe(Math.floor((rows - 49) / 3) + 1);
    let bad = 0;
    got.forEach((g, j) => {
      const first = j * 3; // the frame ends at hop 48 + 3j
      for (let k = 0; k < 490; k++) if (!close(want!.features[first * 10 + k]!, g.x[k]!)) bad++;
    });
    expect(bad).toBe(0);
  }, 120_000);

  it('a single 30 ms window (micro_speech yes_30ms.wav) gives one frame of 10 MFCC equal to numpy', () => {
    const spec: FrontEndSpec = { ...MFCC_DEFAULT_SPEC, frames: 1, input: { shape: [1, 1, 10] } };
    const path = join(AUDIO, 'micro-speech', 'yes_30ms.wav');
    const samples = readWav16(path);
    expect(samples.length).toBe(480);
    const got = feed(spec, samples, [7, 100, 373]);
    const [want] = python(spec, [path]);
    expect(got.length).toBe(1);
    want!.features.forEach((v, k) => expect(close(v, got[0]!.x[k]!), `coefficient ${k}`).toBe(true));
  }, 60_000);
});
