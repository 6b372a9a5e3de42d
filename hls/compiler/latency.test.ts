import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../host/src/core/errors.js';
import { buildIr } from './build-ir.js';
import { readOnnx } from './onnx-reader.js';
import type { DenseLayer, Ir } from './ir.js';
import { IR_INPUT } from './ir.js';
import { allowedReuse, divisors, DSP_SHARE, dspPerProduct, estimate, type Strategy } from './latency.js';
import { MODEL_CASES } from './models.fixture.js';

const SEED = 20261127;
const STRATEGIES: Strategy[] = ['latency', 'resource'];

/** A chain of dense(+relu) layers, built directly as IR (weights are not read by the model). */
function denseChain(sizes: number[]): Ir {
  const layers: Ir['layers'] = [];
  let prev = IR_INPUT;
  for (let i = 0; i + 1 < sizes.length; i++) {
    const nIn = sizes[i]!;
    const nOut = sizes[i + 1]!;
    const dense: DenseLayer = {
      kind: 'dense', name: `dense_${i}`, sources: [], inputs: [prev], inputShapes: [[nIn]], outputShape: [nOut],
      nIn, nOut, weights: new Float32Array(nIn * nOut).fill(0.5), bias: new Float32Array(nOut),
    };
    layers.push(dense, { kind: 'relu', name: `relu_${i}`, sources: [], inputs: [dense.name], inputShapes: [[nOut]], outputShape: [nOut] });
    prev = `relu_${i}`;
  }
  return { source: 'chain', inputName: 'x', inputShape: [sizes[0]!], layers, output: prev, outputShape: [sizes.at(-1)!] };
}

const model = (label: string): Ir => buildIr(readOnnx(MODEL_CASES.find((c) => c.label === label)!.path));

describe('width rule and helpers', () => {
  it('maps 16x16 to one DSP48, 32x32 to four, anything under 10 bits to LUTs', () => {
    expect(dspPerProduct(16, 16)).toBe(1);
    expect(dspPerProduct(27, 18)).toBe(1);
    expect(dspPerProduct(32, 32)).toBe(4);
    expect(dspPerProduct(16, 8)).toBe(0);
  });
  it('divisors are exact and sorted', () => {
    expect(divisors(12)).toEqual([1, 2, 3, 4, 6, 12]);
    expect(divisors(1)).toEqual([1]);
  });
});

describe('invariants on random dense chains (fast-check)', () => {
  // Sizes are powers of two so that every reuse factor 2^k up to the smallest product divides.
  const chain = fc.array(fc.integer({ min: 1, max: 6 }).map((k) => 2 ** k), { minLength: 2, maxLength: 5 });

  it('cycles and II grow with reuse, DSPs fall as 1/reuse, totals are the sums', () => {
    fc.assert(
      fc.property(chain, fc.constantFrom(...STRATEGIES), (sizes, strategy) => {
        const ir = denseChain(sizes);
        const reuses = allowedReuse(ir);
        let prev: ReturnType<typeof estimate> | undefined;
        for (const reuse of reuses) {
          const est = estimate(ir, { strategy, reuse });
          expect(est.latencyCycles).toBe(est.layers.reduce((s, l) => s + l.cycles, 0));
          expect(est.dsp).toBe(Math.round(DSP_SHARE * est.layers.reduce((s, l) => s + l.multipliers, 0)));
          expect(est.weightStorageBits).toBe(est.layers.reduce((s, l) => s + l.weightBits, 0));
          expect(est.ii).toBe(Math.max(...est.layers.map((l) => l.ii)));
          expect(est.latencyUs).toBeCloseTo(est.latencyCycles / 200, 12);
          for (const l of est.layers.filter((x) => x.kind === 'dense')) {
            const d = ir.layers.find((x) => x.name === l.name) as DenseLayer;
            expect(l.multipliers * reuse).toBe(d.nIn * d.nOut);
            expect(l.ii).toBe(reuse);
          }
          if (prev) {
            // Non-strict: under the resource strategy the per-iteration adder tree shrinks by
            // one level as R doubles, which can cancel the extra issue slot.
            expect(est.latencyCycles).toBeGreaterThanOrEqual(prev.latencyCycles);
            expect(est.ii).toBeGreaterThan(prev.ii);
            expect(est.layers.reduce((s, l) => s + l.multipliers, 0)).toBeLessThan(prev.layers.reduce((s, l) => s + l.multipliers, 0));
            expect(est.dsp).toBeLessThanOrEqual(prev.dsp);
            expect(est.weightStorageBits).toBe(prev.weightStorageBits);
          }
          prev = est;
        }
        const first = estimate(ir, { strategy, reuse: 1 });
        if (reuses.length >= 3) expect(prev!.latencyCycles).toBeGreaterThan(first.latencyCycles);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it('a reuse factor that does not divide throws ConfigError naming the layer and allowed values', () => {
    const ir = denseChain([16, 64, 32, 32, 5]);
    const run = () => estimate(ir, { strategy: 'latency', reuse: 3 });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/layer dense_0.*1024 multiplies.*allowed for this layer: 1, 2, 4, 8, 16, 32, 64, 128.*every layer of the model: 1, 2, 4, 8, 16, 32$/);
  });

  it('rejects bad options with ConfigError', () => {
    const ir = denseChain([4, 4]);
    for (const bad of [{ reuse: 0 }, { reuse: 1.5 }, { reuse: 1, clockMhz: 0 }, { reuse: 1, weightBits: 0 }, { reuse: 1, weightBits: 65 }]) {
      expect(() => estimate(ir, { strategy: 'latency', ...bad })).toThrow(ConfigError);
    }
    expect(() => estimate(ir, { strategy: 'fast' as Strategy, reuse: 1 })).toThrow(ConfigError);
  });

  it('zero weights cost no multiplier under the latency strategy (constants), all under resource (BRAM)', () => {
    const ir = denseChain([16, 64]);
    (ir.layers[0] as DenseLayer).weights.fill(0, 0, 768);
    expect(estimate(ir, { strategy: 'latency', reuse: 1 }).layers[0]!.multipliers).toBe(256);
    expect(estimate(ir, { strategy: 'resource', reuse: 1 }).layers[0]!.multipliers).toBe(1024);
  });

  it('a slower clock chains more adder levels into a cycle, never fewer', () => {
    const ir = denseChain([64, 64, 64]);
    const cycles = [400, 200, 100, 40].map((clockMhz) => estimate(ir, { strategy: 'latency', reuse: 1, clockMhz }).latencyCycles);
    // 6 levels x 1.25 ns = 7.5 ns per dense: 3 cycles at 2.5 ns, 2 at 5 ns, 1 at 10 ns and 25 ns; relu 1.
    expect(cycles).toEqual([3 + 1 + 3 + 1, 2 + 1 + 2 + 1, 1 + 1 + 1 + 1, 1 + 1 + 1 + 1]);
  });

  it('narrow weights move every product to LUTs', () => {
    const est = estimate(denseChain([16, 64]), { strategy: 'latency', reuse: 1, weightBits: 8 });
    expect(est.dsp).toBe(0);
    expect(est.layers[0]!.lutMultipliers).toBe(1024);
  });
});

describe('real models', () => {
  it('jet tagger 16-64-32-32-5: hand-computed figures at reuse 1', () => {
    const est = estimate(model('three_layer_keras'), { strategy: 'latency', reuse: 1 });
    // At 5 ns and 1.25 ns per adder level, four levels fit a cycle: dense R - 1 +
    // ceil(1.25 * ceil(log2 n_in) / 5) → 1, 2, 2, 2; relu 1 each; softmax 1 + ceil(1.25 * 3 / 5) = 2.
    expect(est.layers.map((l) => l.cycles)).toEqual([1, 1, 2, 1, 2, 1, 2, 2]);
    expect(est.layers.map((l) => l.multipliers)).toEqual([1024, 0, 2048, 0, 1024, 0, 160, 5]);
    expect(est.dsp).toBe(Math.round(DSP_SHARE * (1024 + 2048 + 1024 + 160 + 5)));
    expect(est.ii).toBe(1);
    expect(est.weightStorageBits).toBe((1024 + 2048 + 1024 + 160 + 64 + 32 + 32 + 5) * 16);
  });

  for (const label of ['cells-bccd/student', 'cells-lymphocyte/student', 'three_layer_keras']) {
    it(`${label}: sane magnitudes at every allowed reuse, both strategies`, () => {
      const ir = model(label);
      const reuses = allowedReuse(ir);
      expect(reuses).toContain(8);
      for (const strategy of STRATEGIES) {
        for (const reuse of [1, 8]) {
          const est = estimate(ir, { strategy, reuse });
          expect(est.latencyCycles).toBeGreaterThan(10);
          expect(est.latencyUs).toBeLessThan(1000); // a trigger model, not a batch job
          expect(est.dsp).toBeGreaterThan(0);
          expect(est.dsp).toBeLessThan(20_000);
          expect(est.layers.every((l) => l.cycles >= 0 && l.ii >= 1)).toBe(true);
        }
      }
      const notDividing = [2, 3, 5, 7, 9, 11].find((r) => !reuses.includes(r))!;
      expect(() => estimate(ir, { strategy: 'latency', reuse: notDividing })).toThrow(ConfigError);
    });
  }

  it('cells-bccd: conv II is its pixel loop, the network II the first pool (it loops over channels too)', () => {
    const est = estimate(model('cells-bccd/student'), { strategy: 'latency', reuse: 1 });
    const conv0 = est.layers.find((l) => l.name === 'conv2d_0')!;
    expect(conv0.ii).toBe(30 * 30);
    expect(conv0.multipliers).toBe(3 * 9 * 8);
    expect(est.ii).toBe(8 * 15 * 15);
    expect(est.layers.find((l) => l.ii === est.ii)!.name).toBe('maxpool2d_0');
  });
});
