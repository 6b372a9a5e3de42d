import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readWav } from './wav.js';
import { resampleInt16 } from './resample.js';

const AUDIO = resolve(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'data', 'audio');
const CLIPS = [join(AUDIO, 'micro-speech', 'yes_1000ms.wav'), join(AUDIO, 'mlperf-tiny-wakeword', 'short_wav_easy10s.wav')];
const RATES = [8000, 11025, 22050, 24000, 32000, 44100, 48000];
const tmp = mkdtempSync(join(tmpdir(), 'ht-resample-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function rawInt16(path: string): Int16Array {
  const b = readFileSync(path);
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

/** Signal-to-noise ratio of `got` against `ref`, in dB, away from the first and last 10 ms. */
function snrDb(got: Int16Array, ref: Int16Array): number {
  let e = 0;
  let s = 0;
  for (let i = 160; i < ref.length - 160; i++) {
    e += (got[i] - ref[i]) ** 2;
    s += ref[i] ** 2;
  }
  return 10 * Math.log10(s / e);
}

/** Amplitude of the `hz` component of `x` sampled at `rateHz` (a single-bin DFT), on [-1, 1). */
function toneAmplitude(x: Int16Array, hz: number, rateHz: number): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < x.length; i++) {
    re += x[i] * Math.cos((2 * Math.PI * hz * i) / rateHz);
    im += x[i] * Math.sin((2 * Math.PI * hz * i) / rateHz);
  }
  return (2 * Math.hypot(re, im)) / x.length / 32768;
}

function tone(hz: number, rateHz: number, seconds: number, amplitude: number): Int16Array {
  return Int16Array.from({ length: Math.round(rateHz * seconds) }, (_, i) => Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / rateHz)));
}

describe('resampler to 16 kHz against sox on real clips', () => {
  for (const clip of CLIPS) {
    for (const rate of RATES) {
      it(`${clip.split('/').pop()} at ${rate} Hz: within 40 dB of sox's very-high-quality rate (45 dB from above 16 kHz)`, async () => {
        const at = join(tmp, `in-${rate}.wav`);
        const ref = join(tmp, `ref-${rate}.raw`);
        execFileSync('sox', [clip, '-D', '-c', '1', '-r', String(rate), at]);
        execFileSync('sox', [at, '-D', '-t', 'raw', '-e', 'signed', '-b', '16', ref, 'rate', '-v', '16k']);
        const want = rawInt16(ref);
        const wav = readWav(at);
        expect(wav.sampleRateHz).toBe(rate);
        const got = await resampleInt16(wav.samples, rate, 16_000);
        // A ratio that is not a whole number leaves the two a sample apart in length.
        expect(Math.abs(got.length - want.length)).toBeLessThanOrEqual(1);
        expect(snrDb(got, want.subarray(0, Math.min(got.length, want.length)))).toBeGreaterThan(rate > 16_000 ? 45 : 40);
      });
    }
  }
});

describe('resampler to 16 kHz on tones', () => {
  for (const rate of RATES.filter((r) => r > 16_000)) {
    it(`${rate} Hz: tones above 8 kHz are suppressed by at least 80 dB, tones in band pass within 0.1 dB`, async () => {
      for (const hz of [8600, 10_000, 0.45 * rate]) {
        // A tone at hz aliases to |rate' - hz| folded into [0, 8 kHz]: measure it there.
        const alias = 16_000 - hz > 0 ? 16_000 - hz : hz % 16_000;
        const y = await resampleInt16(tone(hz, rate, 1, 0.9), rate, 16_000);
        expect(toneAmplitude(y, Math.abs(alias > 8000 ? 16_000 - alias : alias), 16_000)).toBeLessThan(0.9 * 10 ** (-80 / 20));
      }
      for (const hz of [1000, 4000, 7000]) {
        const y = await resampleInt16(tone(hz, rate, 1, 0.5), rate, 16_000);
        expect(Math.abs(20 * Math.log10(toneAmplitude(y, hz, 16_000) / 0.5))).toBeLessThan(0.1);
      }
    });
  }

  it('a naive decimator (every third sample) fails the same alias check: the check can tell', () => {
    const x = tone(10_000, 48_000, 1, 0.9);
    const y = Int16Array.from({ length: x.length / 3 }, (_, i) => x[3 * i]);
    expect(toneAmplitude(y, 6000, 16_000)).toBeGreaterThan(0.5);
  });
});
