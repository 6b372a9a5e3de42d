import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { arithRef, convertRef, Ovf, Quant, rawRange, type Shape } from './test/reference.js';

const nnetDir = path.dirname(fileURLToPath(import.meta.url));
const buildDir = path.join(nnetDir, '..', 'build', 'test');
const harness = path.join(buildDir, 'fixed_cases');

// Must match kWidths / kInts and the arith types A0..A5 in test/fixed_cases.cc.
const GRID_W = [4, 8, 12, 16, 18, 24, 32] as const;
const GRID_I = [-2, 0, 1, 4, 6, 8, 16] as const;
const ARITH_TYPES: readonly Shape[] = [
  { w: 16, i: 6 },
  { w: 8, i: 3 },
  { w: 18, i: 8 },
  { w: 12, i: -2 },
  { w: 24, i: 30 },
  { w: 32, i: 16 },
];
const RAW_IN_LIMIT = 1n << 62n; // |RAW_IN| < 2^62, the harness's input contract
const FRAC_IN_MAX = 40;
const BATCH_CASES = 2_000;
const CONV_RUNS = 50; // 100,000 random conversions
const ARITH_RUNS = 5; // 10,000 random operand pairs
const harnessBytesMax = 256 * 1024 * 1024;

interface ConvCase {
  w: number;
  i: number;
  q: number;
  o: number;
  fracIn: number;
  rawIn: bigint;
}

/** Runs the harness on one batch; throws with its stderr if it exits non-zero. */
function runHarness(mode: 'conv' | 'arith', lines: string[]): string[] {
  const r = spawnSync(harness, [mode], { input: lines.join('\n') + '\n', encoding: 'utf8', maxBuffer: harnessBytesMax });
  if (r.status !== 0) throw new Error(`fixed_cases ${mode} exited ${r.status}: ${r.stderr}`);
  const out = r.stdout.trim().split('\n');
  expect(out).toHaveLength(lines.length);
  return out;
}

const convLine = (c: ConvCase): string => `${c.w} ${c.i} ${c.q} ${c.o} ${c.fracIn} ${c.rawIn}`;

/** Sends every case through the harness; returns a message naming the first mismatch, or null. */
function firstConvMismatch(cases: ConvCase[]): string | null {
  const got = runHarness('conv', cases.map(convLine));
  for (let k = 0; k < cases.length; k++) {
    const c = cases[k];
    const want = convertRef(c.w, c.i, c.q, c.o, c.fracIn, c.rawIn);
    if (BigInt(got[k]) !== want) return `case "${convLine(c)}": harness ${got[k]}, reference ${want}`;
  }
  return null;
}

const clampRawIn = (x: bigint): bigint =>
  x >= RAW_IN_LIMIT ? RAW_IN_LIMIT - 1n : x <= -RAW_IN_LIMIT ? -RAW_IN_LIMIT + 1n : x;

/**
 * Input raw for the value (2k + delta) / 2 target LSBs, plus eps input LSBs: delta = +-1
 * lands exactly on a tie when the input grid is fine enough, k near min/max probes overflow.
 */
function rawNear(c: Omit<ConvCase, 'rawIn'>, k: bigint, delta: number, eps: number): bigint {
  const e = c.fracIn - (c.w - c.i) - 1; // input LSBs per half target LSB, as a power of 2
  const halves = 2n * k + BigInt(delta);
  const raw = e >= 0 ? halves << BigInt(e) : halves >> BigInt(-e);
  return clampRawIn(raw + BigInt(eps));
}

const shapeArb = fc.record({
  w: fc.constantFrom(...GRID_W),
  i: fc.constantFrom(...GRID_I),
  q: fc.integer({ min: 0, max: 6 }),
  o: fc.integer({ min: 0, max: 3 }),
  fracIn: fc.integer({ min: 1, max: FRAC_IN_MAX }),
});

/** Target raw k to aim at: near min, max or zero, anywhere inside, or whole wraps away. */
function targetArb(w: number): fc.Arbitrary<bigint> {
  const { min, max } = rawRange(w);
  const near = (base: bigint) => fc.integer({ min: -3, max: 3 }).map((d) => base + BigInt(d));
  const wraps = fc.tuple(fc.bigInt({ min, max }), fc.integer({ min: -3, max: 3 }));
  return fc.oneof(
    near(min),
    near(max),
    near(0n),
    fc.bigInt({ min, max }),
    wraps.map(([k, m]) => k + BigInt(m) * (1n << BigInt(w))),
  );
}

const caseArb: fc.Arbitrary<ConvCase> = shapeArb.chain((s) => {
  const anyRaw = fc.oneof(
    fc.bigInt({ min: -RAW_IN_LIMIT + 1n, max: RAW_IN_LIMIT - 1n }),
    fc.bigInt({ min: -4096n, max: 4096n }),
  );
  const edge = fc
    .tuple(targetArb(s.w), fc.integer({ min: -1, max: 1 }), fc.integer({ min: -1, max: 1 }))
    .map(([k, delta, eps]) => rawNear(s, k, delta, eps));
  return fc.oneof({ arbitrary: edge, weight: 3 }, { arbitrary: anyRaw, weight: 1 }).map((rawIn) => ({ ...s, rawIn }));
});

beforeAll(() => {
  mkdirSync(buildDir, { recursive: true });
  const cc = spawnSync('g++', ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Werror', '-I', nnetDir,
    path.join(nnetDir, 'test', 'fixed_cases.cc'), '-o', harness], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`compiling fixed_cases failed:\n${cc.stderr}`);
});

describe('ht::ap_fixed conversion against the exact reference', () => {
  it('matches on hand-derived answers', () => {
    // [W, I, Q, O, F_in, RAW_IN, expected raw]
    const golden: [number, number, number, number, number, bigint, bigint][] = [
      // ap_fixed<8,4>: 3/32 and 5/32 are 1.5 and 2.5 LSB; 2^-5-ths otherwise as noted.
      [8, 4, Quant.RND_CONV, Ovf.WRAP, 5, 3n, 2n],
      [8, 4, Quant.RND_CONV, Ovf.WRAP, 5, 5n, 2n],
      [8, 4, Quant.RND, Ovf.WRAP, 5, 5n, 3n],
      [8, 4, Quant.RND, Ovf.WRAP, 5, -5n, -2n],
      [8, 4, Quant.RND_INF, Ovf.WRAP, 5, -5n, -3n],
      [8, 4, Quant.RND_ZERO, Ovf.WRAP, 5, -5n, -2n],
      [8, 4, Quant.RND_MIN_INF, Ovf.WRAP, 5, 5n, 2n],
      [8, 4, Quant.TRN, Ovf.WRAP, 5, -1n, -1n], // -1/32 floors to -1/16
      [8, 4, Quant.TRN_ZERO, Ovf.WRAP, 5, -1n, 0n],
      // ap_fixed<16,6> of 1/3 (floor(2^40/3) / 2^40): 341.33 LSB.
      [16, 6, Quant.TRN, Ovf.WRAP, 40, 366503875925n, 341n],
      [16, 6, Quant.TRN, Ovf.WRAP, 40, -366503875925n, -342n],
      [16, 6, Quant.TRN_ZERO, Ovf.WRAP, 40, -366503875925n, -341n],
      // ap_fixed<8,1> spans [-1, 1): 1.0 wraps to -1.0, saturates to 127/128.
      [8, 1, Quant.TRN, Ovf.WRAP, 1, 2n, -128n],
      [8, 1, Quant.TRN, Ovf.SAT, 1, 2n, 127n],
      [8, 1, Quant.TRN, Ovf.SAT_ZERO, 1, 2n, 0n],
      [8, 1, Quant.TRN, Ovf.SAT_SYM, 1, -2n, -127n], // -1.0 is min: SAT_SYM still gives -max
      [8, 1, Quant.TRN, Ovf.SAT, 1, -2n, -128n],
      [8, 1, Quant.RND, Ovf.SAT, 10, 1023n, 127n], // 127.875 LSB rounds up into overflow
      [8, 1, Quant.RND, Ovf.WRAP, 10, 1023n, -128n],
      // ap_fixed<4,8>: LSB = 16, range [-128, 112]. 40 = 2.5 LSB, 200 wraps.
      [4, 8, Quant.TRN, Ovf.WRAP, 1, 80n, 2n],
      [4, 8, Quant.RND_CONV, Ovf.WRAP, 1, 80n, 2n],
      [4, 8, Quant.RND, Ovf.WRAP, 1, 80n, 3n],
      [4, 8, Quant.TRN, Ovf.WRAP, 1, 400n, -4n], // 12.5 LSB -> 12 -> 12 - 16
      [4, 8, Quant.TRN, Ovf.SAT, 1, 400n, 7n],
      // ap_fixed<12,-2>: LSB = 2^-14, max just under 0.125.
      [12, -2, Quant.TRN, Ovf.SAT, 3, 1n, 2047n],
      [12, -2, Quant.TRN, Ovf.WRAP, 4, 1n, 1024n],
    ];
    const got = runHarness('conv', golden.map(([w, i, q, o, f, raw]) => `${w} ${i} ${q} ${o} ${f} ${raw}`));
    expect(got.map(BigInt)).toEqual(golden.map((g) => g[6]));
    // The reference agrees with the hand-derived answers too.
    expect(golden.map(([w, i, q, o, f, raw]) => convertRef(w, i, q, o, f, raw))).toEqual(golden.map((g) => g[6]));
  });

  it('matches on every grid cell at ties and around min, zero and max', () => {
    const cases: ConvCase[] = [];
    for (const w of GRID_W) {
      const { min, max } = rawRange(w);
      const targets = [min - 1n, min, min + 1n, -1n, 0n, 1n, max - 1n, max, max + 1n];
      for (const i of GRID_I) {
        // Two input LSBs finer than half a target LSB, so eps = +-1 sits just off each tie.
        const fracIn = Math.min(FRAC_IN_MAX, Math.max(1, w - i + 3));
        for (let q = 0; q <= 6; q++) {
          for (let o = 0; o <= 3; o++) {
            const s = { w, i, q, o, fracIn };
            for (const k of targets)
              for (const delta of [-1, 0, 1])
                for (const eps of [-1, 0, 1]) cases.push({ ...s, rawIn: rawNear(s, k, delta, eps) });
          }
        }
      }
    }
    expect(cases.length).toBe(GRID_W.length * GRID_I.length * 7 * 4 * 81);
    const mismatch = firstConvMismatch(cases);
    if (mismatch !== null) throw new Error(mismatch);
  });

  it('matches on random cases from every mode, width and scale', () => {
    // Each run draws one batch seed, so a failure names that seed and the first bad case
    // instead of printing thousands of cases as the counterexample.
    fc.assert(
      fc.property(fc.integer(), (batchSeed) => {
        const cases = fc.sample(caseArb, { seed: batchSeed, numRuns: BATCH_CASES });
        const mismatch = firstConvMismatch(cases);
        if (mismatch !== null) throw new Error(`batch seed ${batchSeed}: ${mismatch}`);
      }),
      { numRuns: CONV_RUNS, endOnFailure: true },
    );
  });

  it('rejects a type outside the compiled grid instead of guessing', () => {
    expect(() => runHarness('conv', ['5 1 5 3 4 1'])).toThrow(/not in the compiled grid/);
    expect(() => runHarness('conv', ['8 4 9 3 4 1'])).toThrow(/unknown Q, O/);
    expect(() => runHarness('conv', ['8 4 5 3 4 x'])).toThrow(/malformed/);
  });
});

describe('ht::ap_fixed arithmetic against the exact reference', () => {
  const pairArb = fc
    .tuple(fc.integer({ min: 0, max: ARITH_TYPES.length - 1 }), fc.integer({ min: 0, max: ARITH_TYPES.length - 1 }))
    .chain(([a, b]) => {
      const operand = (w: number) => {
        const { min, max } = rawRange(w);
        return fc.oneof(fc.constantFrom(min, min + 1n, -1n, 0n, 1n, max), fc.bigInt({ min, max }));
      };
      return fc.tuple(fc.constant(a), fc.constant(b), operand(ARITH_TYPES[a].w), operand(ARITH_TYPES[b].w));
    });

  it('computes +, -, *, unary minus and comparisons exactly, with ap_fixed result widths', () => {
    fc.assert(
      fc.property(fc.integer(), (batchSeed) => {
        const pairs = fc.sample(pairArb, { seed: batchSeed, numRuns: BATCH_CASES });
        const got = runHarness('arith', pairs.map(([a, b, ra, rb]) => `${a} ${b} ${ra} ${rb}`));
        pairs.forEach(([a, b, ra, rb], k) => {
          const r = arithRef(ARITH_TYPES[a], ARITH_TYPES[b], ra, rb);
          const want = [r.mul, r.add, r.sub, r.negA, r.cmp, r.mulShape.w, r.mulShape.i, r.addShape.w, r.addShape.i];
          expect(got[k], `batch seed ${batchSeed}, pair ${a} ${b} ${ra} ${rb}`).toBe(want.join(' '));
        });
      }),
      { numRuns: ARITH_RUNS, endOnFailure: true },
    );
  });
});

describe('ht::ap_fixed compile-time contract (test/fixed_types.cc)', () => {
  const compile = (...defines: string[]) =>
    spawnSync('g++', ['-std=c++17', '-fsyntax-only', '-Wall', '-Wextra', '-Werror', '-I', nnetDir,
      ...defines.map((d) => `-D${d}`), path.join(nnetDir, 'test', 'fixed_types.cc')], { encoding: 'utf8' });

  it('holds the documented result widths and hand-derived conversions', () => {
    const r = compile();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.each(['WIDTH', 'FRACTION', 'PRODUCT', 'SUM'])('refuses an out-of-range type (%s)', (name) => {
    const r = compile(`HT_EXPECT_FAIL_${name}`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/static assertion failed: ht::ap_fixed/);
  });
});
