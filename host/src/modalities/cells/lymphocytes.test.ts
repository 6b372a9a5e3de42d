import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AssertionFailure } from '../../core/assert.js';
import { ConfigError } from '../../core/errors.js';
import {
  createLymphocyteGenerator,
  LYMPHOCYTE_CLASS_PARAMS,
  LYMPHOCYTE_LABELS,
  lymphocyteNuisance,
  type LymphocyteGenerator,
} from './lymphocytes.js';

/** Renders `n` frames; returns the frames back to back and their labels. */
function render(gen: LymphocyteGenerator, n: number): { frames: Uint8Array; labels: Uint8Array } {
  const frames = new Uint8Array(n * gen.frameBytes);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = gen.next(frames, i * gen.frameBytes);
  return { frames, labels };
}

/** Mean grey level of the crop's outermost ring of pixels: the local background. */
function borderMean(frame: Uint8Array, size: number): number {
  let sum = 0;
  for (let i = 0; i < size; i++) {
    sum += frame[i] + frame[(size - 1) * size + i] + frame[i * size] + frame[i * size + size - 1];
  }
  return sum / (4 * size);
}

/** Size feature: pixels darker than the background by more than 5% (the cell's area). */
function darkArea(frame: Uint8Array, size: number): number {
  const cut = borderMean(frame, size) * 0.95;
  let n = 0;
  for (let i = 0; i < size * size; i++) if (frame[i] < cut) n++;
  return n;
}

describe('createLymphocyteGenerator', () => {
  it('describes its frames', () => {
    const gen = createLymphocyteGenerator({ seed: 1 });
    expect(gen.labels).toEqual(['B', 'T4', 'T8']);
    expect(gen.size).toBe(48);
    expect(gen.frameBytes).toBe(48 * 48);
    expect(createLymphocyteGenerator({ seed: 1, size: 16 }).frameBytes).toBe(256);
  });

  it('is byte-identical for the same seed', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (seed) => {
        const a = render(createLymphocyteGenerator({ seed }), 4);
        const b = render(createLymphocyteGenerator({ seed }), 4);
        expect(Buffer.compare(a.frames, b.frames)).toBe(0);
        expect(Buffer.compare(a.labels, b.labels)).toBe(0);
      }),
      { numRuns: 15 },
    );
  });

  it('differs between seeds, including seeds equal in their low 32 bits', () => {
    const differ = (s: number, t: number): boolean =>
      Buffer.compare(render(createLymphocyteGenerator({ seed: s }), 2).frames,
        render(createLymphocyteGenerator({ seed: t }), 2).frames) !== 0;
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.maxSafeInteger(), (s, t) => {
        fc.pre(s !== t);
        expect(differ(s, t)).toBe(true);
      }),
      { numRuns: 10 },
    );
    expect(differ(5, 5 + 2 ** 32)).toBe(true);
    expect(differ(-1, 2 ** 32 - 1)).toBe(true);
  });

  it('writes exactly frameBytes at offset and leaves other bytes alone', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), fc.integer(), (before, after, seed) => {
        const gen = createLymphocyteGenerator({ seed, size: 16 });
        const ref = createLymphocyteGenerator({ seed, size: 16 });
        const buf = new Uint8Array(before + gen.frameBytes + after);
        for (let i = 0; i < buf.length; i++) buf[i] = (i * 31 + 7) & 0xff;
        const expected = new Uint8Array(ref.frameBytes);
        expect(gen.next(buf, before)).toBe(ref.next(expected));
        for (let i = 0; i < before; i++) expect(buf[i]).toBe((i * 31 + 7) & 0xff);
        for (let i = before + gen.frameBytes; i < buf.length; i++) expect(buf[i]).toBe((i * 31 + 7) & 0xff);
        expect(Buffer.compare(buf.subarray(before, before + gen.frameBytes), expected)).toBe(0);
      }),
      { numRuns: 20 },
    );
  });

  it('refuses a target too short for a frame (a caller bug)', () => {
    const gen = createLymphocyteGenerator({ seed: 3, size: 16 });
    const buf = new Uint8Array(300).fill(9);
    expect(() => gen.next(buf, 100)).toThrow(AssertionFailure);
    expect(() => gen.next(buf, -1)).toThrow(AssertionFailure);
    expect(() => gen.next(new Uint8Array(255))).toThrow(AssertionFailure);
    expect(buf.every((v) => v === 9)).toBe(true);
  });

  it('draws classes in proportion to classWeights', () => {
    const weights = [1, 2, 5];
    const n = 6000;
    const { labels } = render(createLymphocyteGenerator({ seed: 11, size: 16, classWeights: weights }), n);
    const counts = [0, 0, 0];
    for (const k of labels) counts[k]++;
    for (let k = 0; k < 3; k++) {
      const p = weights[k] / 8;
      const sd = Math.sqrt(n * p * (1 - p));
      // Five binomial standard deviations: a false alarm about once in 10^6 seeds.
      expect(Math.abs(counts[k] - n * p)).toBeLessThan(5 * sd);
    }
    const none = render(createLymphocyteGenerator({ seed: 12, size: 16, classWeights: [0, 1, 0] }), 500);
    expect(none.labels.every((k) => k === 1)).toBe(true);
  });

  it('orders the class means of the cell-area feature as designed (B > T4 > T8)', () => {
    const gen = createLymphocyteGenerator({ seed: 2024 });
    const n = 1800;
    const { frames, labels } = render(gen, n);
    const sum = [0, 0, 0];
    const sq = [0, 0, 0];
    const count = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const a = darkArea(frames.subarray(i * gen.frameBytes, (i + 1) * gen.frameBytes), gen.size);
      sum[labels[i]] += a;
      sq[labels[i]] += a * a;
      count[labels[i]]++;
    }
    const mean = sum.map((s, k) => s / count[k]);
    const se = sq.map((s, k) => Math.sqrt((s / count[k] - mean[k] ** 2) / count[k]));
    const designed = LYMPHOCYTE_CLASS_PARAMS.map((p) => p.diameterPxMean);
    expect(designed[0]).toBeGreaterThan(designed[1]);
    expect(designed[1]).toBeGreaterThan(designed[2]);
    // Gaps of about 100 and 55 pixels; each must clear four standard errors.
    expect(mean[0] - mean[1]).toBeGreaterThan(4 * Math.hypot(se[0], se[1]));
    expect(mean[1] - mean[2]).toBeGreaterThan(4 * Math.hypot(se[1], se[2]));
  });

  it('overlaps: the size feature alone classifies far from perfectly, yet above chance', () => {
    // Nearest class mean on the cell area, fitted on one stream and scored on another.
    const fit = createLymphocyteGenerator({ seed: 1 });
    const score = createLymphocyteGenerator({ seed: 2 });
    const n = 1500;
    const a = render(fit, n);
    const sum = [0, 0, 0];
    const count = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      sum[a.labels[i]] += darkArea(a.frames.subarray(i * fit.frameBytes), fit.size);
      count[a.labels[i]]++;
    }
    const centre = sum.map((s, k) => s / count[k]);
    const b = render(score, n);
    let right = 0;
    for (let i = 0; i < n; i++) {
      const v = darkArea(b.frames.subarray(i * score.frameBytes), score.size);
      let best = 0;
      for (let k = 1; k < 3; k++) if (Math.abs(v - centre[k]) < Math.abs(v - centre[best])) best = k;
      if (best === b.labels[i]) right++;
    }
    expect(right / n).toBeGreaterThan(0.4);
    expect(right / n).toBeLessThan(0.75);
  });

  it('looks like bright field: grey background, darker cell, values spread within 0..255', () => {
    const gen = createLymphocyteGenerator({ seed: 77 });
    const { frames } = render(gen, 200);
    const size = gen.size;
    const mid = (size / 2) * size + size / 2;
    let darkerCentres = 0;
    for (let i = 0; i < 200; i++) {
      const f = frames.subarray(i * gen.frameBytes, (i + 1) * gen.frameBytes);
      const bg = borderMean(f, size);
      expect(bg).toBeGreaterThan(lymphocyteNuisance.illuminationGreyMin - 12);
      expect(bg).toBeLessThan(lymphocyteNuisance.illuminationGreyMax + 12);
      if (f[mid] < bg - 10) darkerCentres++;
    }
    expect(darkerCentres).toBeGreaterThan(190);
  });

  it('scales to other crop sizes', () => {
    for (const size of [16, 33, 256]) {
      const gen = createLymphocyteGenerator({ seed: 5, size });
      const out = new Uint8Array(gen.frameBytes);
      const k = gen.next(out);
      expect(k).toBeGreaterThanOrEqual(0);
      expect(k).toBeLessThan(LYMPHOCYTE_LABELS.length);
      const bg = borderMean(out, size);
      expect(darkArea(out, size) / (size * size)).toBeGreaterThan(0.05);
      expect(bg).toBeGreaterThan(150);
    }
  });

  it('rejects bad options with a ConfigError naming the field and the range', () => {
    const bad: [unknown, string, RegExp][] = [
      [{ seed: 1.5 }, 'sim.lymphocytes.seed', /finite integer/],
      [{ seed: Number.NaN }, 'sim.lymphocytes.seed', /finite integer/],
      [{ seed: Number.POSITIVE_INFINITY }, 'sim.lymphocytes.seed', /finite integer/],
      [{ seed: 2 ** 53 }, 'sim.lymphocytes.seed', /2\^53/],
      [{ seed: '1' }, 'sim.lymphocytes.seed', /finite integer/],
      [{}, 'sim.lymphocytes.seed', /finite integer/],
      [{ seed: 1, size: 15 }, 'sim.lymphocytes.size', /16\.\.256/],
      [{ seed: 1, size: 257 }, 'sim.lymphocytes.size', /16\.\.256/],
      [{ seed: 1, size: 47.5 }, 'sim.lymphocytes.size', /integer in 16\.\.256/],
      [{ seed: 1, classWeights: [1, 1] }, 'sim.lymphocytes.classWeights', /length 3/],
      [{ seed: 1, classWeights: [1, -1, 1] }, 'sim.lymphocytes.classWeights[1]', />= 0/],
      [{ seed: 1, classWeights: [1, 1, Number.NaN] }, 'sim.lymphocytes.classWeights[2]', /finite/],
      [{ seed: 1, classWeights: [0, 0, 0] }, 'sim.lymphocytes.classWeights', /positive/],
      [{ seed: 1, classWeights: 'equal' }, 'sim.lymphocytes.classWeights', /array/],
      [null, 'sim.lymphocytes', /object/],
    ];
    for (const [opts, where, message] of bad) {
      let caught: unknown;
      try {
        createLymphocyteGenerator(opts as never);
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(opts)).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).where).toBe(where);
      expect((caught as ConfigError).message).toMatch(message);
    }
  });

  it('rejects any size outside 16..256 and accepts any inside', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -1000, max: 15 }), fc.integer({ min: 257, max: 10_000 }), fc.double()), (size) => {
        fc.pre(!(Number.isInteger(size) && size >= 16 && size <= 256));
        expect(() => createLymphocyteGenerator({ seed: 1, size })).toThrow(ConfigError);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 16, max: 64 }), (size) => {
        expect(createLymphocyteGenerator({ seed: 1, size }).frameBytes).toBe(size * size);
      }),
      { numRuns: 10 },
    );
  });

  it('does not allocate on the heap per frame', async () => {
    // V8 allocates new objects in new space; a loop that allocates nothing leaves its usage
    // unchanged unless a collection ran in between, which the gc observer reports (then the
    // window is retried). An allocating `next` (a typed array, a boxed float, a closure per
    // frame) adds at least 16 bytes a call and fails every window.
    const gen = createLymphocyteGenerator({ seed: 9 });
    const out = new Uint8Array(gen.frameBytes);
    for (let i = 0; i < 5000; i++) gen.next(out); // let the optimiser settle first
    const newSpaceUsed = (): number =>
      v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? Number.NaN;
    let collections = 0;
    const observer = new PerformanceObserver((list) => {
      collections += list.getEntries().length;
    });
    observer.observe({ entryTypes: ['gc'] });
    const calls = 2000;
    const bytesPerCall: number[] = [];
    try {
      for (let attempt = 0; attempt < 4; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        collections = 0;
        const before = newSpaceUsed();
        for (let i = 0; i < calls; i++) gen.next(out);
        const after = newSpaceUsed();
        await new Promise((resolve) => setTimeout(resolve, 20)); // let gc entries arrive
        if (collections > 0) continue;
        bytesPerCall.push((after - before) / calls);
      }
    } finally {
      observer.disconnect();
    }
    expect(bytesPerCall.length).toBeGreaterThan(0);
    expect(Math.min(...bytesPerCall)).toBeLessThan(4);
  });
});
