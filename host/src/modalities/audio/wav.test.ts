import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { WavError } from '../../core/errors.js';
import { decodeWav, parseWavHeader, readWav } from './wav.js';

const AUDIO = resolve(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'data', 'audio');
const CLIPS = [
  join(AUDIO, 'micro-speech', 'yes_1000ms.wav'),
  join(AUDIO, 'speech-commands-pico-tinyml-benchmark', 'stop', '022cd682_nohash_0.wav'),
  join(AUDIO, 'mlperf-tiny-wakeword', 'marvin_617de221_0.wav'), // two channels
];
const tmp = mkdtempSync(join(tmpdir(), 'ht-wav-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** sox's own 16-bit mono reading of `path` (no dither), the reference for our reader. */
function soxInt16(path: string): Int16Array {
  const out = join(tmp, 'ref.raw');
  execFileSync('sox', [path, '-D', '-t', 'raw', '-e', 'signed', '-b', '16', '-c', '1', out]);
  const b = readFileSync(out);
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

// --- A WAV writer written for the tests, independent of the reader. -----------------------

interface Spec {
  format: 'pcm' | 'float';
  bits: 8 | 16 | 24 | 32;
  extensible: boolean;
  channels: number;
  rateHz: number;
  /** Values per frame per channel, in the container's own units (u8, s16, s24, s32, float). */
  frames: number[][];
  /** Chunks placed before fmt and between fmt and data (odd sizes get a pad byte). */
  extra: Uint8Array[];
}

function chunk(id: string, body: Uint8Array): Buffer {
  const h = Buffer.alloc(8);
  h.write(id, 0, 'latin1');
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body, Buffer.alloc(body.length & 1)]);
}

function encode(s: Spec): Buffer {
  const bytes = s.bits / 8;
  const fmt = Buffer.alloc(s.extensible ? 40 : 16);
  const tag = s.format === 'pcm' ? 1 : 3;
  fmt.writeUInt16LE(s.extensible ? 0xfffe : tag, 0);
  fmt.writeUInt16LE(s.channels, 2);
  fmt.writeUInt32LE(s.rateHz, 4);
  fmt.writeUInt32LE(s.rateHz * s.channels * bytes, 8);
  fmt.writeUInt16LE(s.channels * bytes, 12);
  fmt.writeUInt16LE(s.bits, 14);
  if (s.extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(s.bits, 18);
    fmt.writeUInt32LE(0, 20);
    Buffer.from([tag, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]).copy(fmt, 24);
  }
  const data = Buffer.alloc(s.frames.length * s.channels * bytes);
  let at = 0;
  for (const f of s.frames) {
    for (const x of f) {
      if (s.format === 'float') data.writeFloatLE(x, at);
      else if (s.bits === 8) data.writeUInt8(x, at);
      else data.writeIntLE(x, at, bytes);
      at += bytes;
    }
  }
  const body = Buffer.concat([Buffer.from('WAVE'), ...s.extra.slice(0, 1).map((e) => chunk('LIST', e)), chunk('fmt ', fmt), ...s.extra.slice(1).map((e) => chunk('junk', e)), chunk('data', data)]);
  return chunk('RIFF', body);
}

/** The mono int16 a frame should give: each value in int16 steps, averaged, rounded half up, clipped. */
function expected(s: Spec): number[] {
  const scale = (x: number) => (s.format === 'float' ? x * 32768 : s.bits === 8 ? (x - 128) * 256 : x / 2 ** (s.bits - 16));
  return s.frames.map((f) => Math.min(32767, Math.max(-32768, Math.floor(f.reduce((a, x) => a + scale(x), 0) / f.length + 0.5))));
}

const specArb: fc.Arbitrary<Spec> = fc
  .record({
    kind: fc.constantFrom('u8', 's16', 's24', 's32', 'f32'),
    extensible: fc.boolean(),
    channels: fc.integer({ min: 1, max: 6 }),
    rateHz: fc.constantFrom(8000, 11025, 16000, 22050, 44100, 48000),
    n: fc.integer({ min: 0, max: 40 }),
    extra: fc.array(fc.uint8Array({ maxLength: 9 }), { maxLength: 2 }),
    seed: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 240 }),
  })
  .map(({ kind, extensible, channels, rateHz, n, extra, seed }) => {
    const format = kind === 'f32' ? 'float' : 'pcm';
    const bits = kind === 'u8' ? 8 : kind === 's16' ? 16 : kind === 's24' || kind === 'f32' ? (kind === 'f32' ? 32 : 24) : 32;
    const q = (u: number): number => {
      if (format === 'float') return Math.fround(u);
      if (bits === 8) return Math.min(255, Math.floor((u + 1) * 128));
      const m = 2 ** (bits - 1);
      return Math.min(m - 1, Math.floor(u * m));
    };
    const frames = Array.from({ length: n }, (_, i) => Array.from({ length: channels }, (_, c) => q(seed[(i * channels + c) % seed.length])));
    return { format, bits, extensible, channels, rateHz, frames, extra } as Spec;
  });

describe('WAV reader against the files sox writes from real clips', () => {
  const formats: [string, string[]][] = [
    ['8-bit unsigned', ['-e', 'unsigned', '-b', '8']],
    ['16-bit', ['-e', 'signed', '-b', '16']],
    ['24-bit (extensible)', ['-e', 'signed', '-b', '24']],
    ['32-bit int (extensible)', ['-e', 'signed', '-b', '32']],
    ['32-bit float', ['-e', 'floating-point', '-b', '32']],
  ];
  for (const clip of CLIPS) {
    for (const [name, args] of formats) {
      it(`${clip.split('/').slice(-2).join('/')} as ${name}: the samples sox reads`, () => {
        const path = join(tmp, `clip.wav`);
        execFileSync('sox', [clip, '-D', ...args, path]);
        const wav = readWav(path);
        const ref = soxInt16(path);
        expect(wav.sampleRateHz).toBe(16_000);
        expect(wav.bitsPerSample).toBe(Number(args[3]));
        expect(wav.format).toBe(args[1] === 'floating-point' ? 'float' : 'pcm');
        expect(wav.samples.length).toBe(ref.length);
        // sox averages channels in floating point before its own rounding: one step apart at most.
        const tol = wav.channels > 1 ? 1 : 0;
        let worst = 0;
        for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(wav.samples[i] - ref[i]));
        expect(worst).toBeLessThanOrEqual(tol);
      });
    }
  }

  it('three real clips merged into three channels (WAVE_FORMAT_EXTENSIBLE) downmix to their mean', () => {
    const path = join(tmp, 'three.wav');
    execFileSync('sox', ['-M', ...CLIPS.slice(0, 2), join(AUDIO, 'micro-speech', 'no_1000ms.wav'), path]);
    const wav = readWav(path);
    expect(wav.formatTag).toBe(0xfffe);
    expect(wav.channels).toBe(3);
    const ref = soxInt16(path);
    const parts = [CLIPS[0], CLIPS[1], join(AUDIO, 'micro-speech', 'no_1000ms.wav')].map((p) => readWav(p).samples);
    for (let i = 0; i < ref.length; i++) {
      expect(Math.abs(wav.samples[i] - ref[i])).toBeLessThanOrEqual(1);
      expect(wav.samples[i]).toBe(Math.round((parts[0][i] + parts[1][i] + parts[2][i]) / 3) | 0);
    }
  });
});

describe('WAV reader on files written by the test', () => {
  it('round trips every format, channel count and odd-sized chunk layout', () => {
    fc.assert(
      fc.property(specArb, (s) => {
        const wav = decodeWav(encode(s), 'gen.wav');
        expect(wav.channels).toBe(s.channels);
        expect(wav.sampleRateHz).toBe(s.rateHz);
        expect(wav.bitsPerSample).toBe(s.bits);
        expect(wav.formatTag).toBe(s.extensible ? 0xfffe : s.format === 'pcm' ? 1 : 3);
        expect(Array.from(wav.samples)).toEqual(expected(s));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but a WavError on truncated or corrupted files', () => {
    fc.assert(
      fc.property(specArb, fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (s, cut, pokes) => {
        const b = encode(s);
        for (const [at, x] of pokes) b[at % b.length] = x;
        const t = b.subarray(0, cut % (b.length + 1));
        try {
          decodeWav(t, 'hostile.wav');
        } catch (err) {
          expect(err).toBeInstanceOf(WavError);
          expect((err as WavError).code).toBe('E_WAV');
          expect((err as Error).message).toMatch(/^E_WAV at hostile\.wav byte \d+: /);
          expect((err as WavError).offset).toBeLessThanOrEqual(t.length);
        }
      }),
      { numRuns: 2000 },
    );
  });

  const base: Spec = { format: 'pcm', bits: 16, extensible: false, channels: 2, rateHz: 16000, frames: [[1, 2], [3, 4]], extra: [] };
  // Offsets in a plain file: RIFF header 0-11, fmt chunk header at 12, its body at 20, data chunk header at 36.
  const cases: [string, (b: Buffer) => Buffer, number, RegExp][] = [
    ['not RIFF', (b) => (b.write('RIFX', 0), b), 0, /not a RIFF\/WAVE/],
    ['a data chunk longer than the file', (b) => (b.writeUInt32LE(9, 40), b), 40, /runs past the end of the file/],
    ['block align inconsistent with channels x bits', (b) => (b.writeUInt16LE(2, 32), b), 32, /block align 2 is not 2 channels x 2 bytes/],
    ['an unknown format tag', (b) => (b.writeUInt16LE(0x55, 20), b), 20, /format tag 0x55/],
    ['zero channels', (b) => (b.writeUInt16LE(0, 22), b), 22, /0 channels/],
    ['rate zero', (b) => (b.writeUInt32LE(0, 24), b), 24, /sample rate 0/],
    ['data before fmt', (b) => Buffer.concat([b.subarray(0, 12), b.subarray(36), b.subarray(12, 36)]), 12, /data chunk before any fmt/],
    ['a truncated data chunk', (b) => b.subarray(0, b.length - 1), 40, /runs past the end/],
    ['no data chunk', (b) => b.subarray(0, 36), 36, /ends before a data chunk/],
    ['a data chunk not a whole number of frames', (b) => (b.writeUInt32LE(6, 40), b), 40, /not a whole number of 4-byte frames/],
    ['12-bit samples', (b) => (b.writeUInt16LE(12, 34), b), 34, /12 bits per sample/],
  ];
  for (const [name, spoil, offset, message] of cases) {
    it(`${name} is a WavError at byte ${offset}`, () => {
      const good = encode(base);
      expect(Array.from(parseWavHeader(good, 'ok.wav') && decodeWav(good, 'ok.wav').samples)).toEqual([2, 4]);
      const bad = spoil(Buffer.from(good));
      let err: unknown = null;
      try {
        decodeWav(bad, 'bad.wav');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WavError);
      expect((err as WavError).offset).toBe(offset);
      expect((err as WavError).message).toMatch(message);
      expect((err as WavError).message).toContain(`bad.wav byte ${offset}`);
    });
  }
});
