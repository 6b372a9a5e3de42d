/**
 * Elu, Selu, Softplus and HardSigmoid (nnet_activation_extra.h) through `compileModel --check`:
 * the generated firmware (g++) against onnxruntime's float operators on seeded N(0, 2^2)
 * inputs, with `auto` precision (16-bit input and result types, I = observed range + 2).
 *
 * Bounds, from the template's error (nnet_activation_extra.h) on these types: input and
 * result LSB at most 2^-9 (|x| < 16 -> I <= 7 of 16 bits), a table step of 1/64 read at the
 * nearest grid point:
 *   elu (slope <= 1):            step/2 + 2 LSB                     = 0.0078 + 0.0039 -> 0.012
 *   selu (slope <= 1.76):        1.76 (step/2 + LSB) + LSB                             -> 0.02
 *   softplus (slope <= 1):       as elu                                                -> 0.012
 *   hardsigmoid (no table):      alpha LSB + LSB + 2^-16 (alpha, beta)                 -> 0.003
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel } from './compile.js';
import { createRng } from '../../host/src/core/rng.js';
import { encodeModel } from './testing.js';
import type { AttrSpec } from './testing.js';

const tmp = mkdtempSync(join(tmpdir(), 'ht-act-'));
const N = 64;
const CHECK = 100;

const cases: { op: string; attrs: Record<string, AttrSpec>; bound: number }[] = [
  { op: 'Elu', attrs: { alpha: { f: 0.7 } }, bound: 0.012 },
  { op: 'Selu', attrs: {}, bound: 0.02 },
  { op: 'Softplus', attrs: {}, bound: 0.012 },
  { op: 'HardSigmoid', attrs: { alpha: { f: 0.25 }, beta: { f: 0.4 } }, bound: 0.003 },
];

describe('export activations: firmware against onnxruntime', { timeout: 300_000 }, () => {
  for (const c of cases) {
    it(`${c.op}: max |error| <= ${c.bound} on ${CHECK} inputs of N(0, 4)`, async () => {
      const model = join(tmp, `${c.op}.onnx`);
      writeFileSync(model, encodeModel({
        input: { name: 'x', shape: ['N', N] }, output: { name: 'y', shape: ['N', N] },
        nodes: [{ op: c.op, name: 'act', inputs: ['x'], outputs: ['y'], attrs: c.attrs }],
      }));
      const rng = createRng(7);
      const inputs = Array.from({ length: CHECK + 256 }, () => Float32Array.from({ length: N }, () => 2 * rng.normal()));
      const r = await compileModel({ model, out: join(tmp, c.op), name: c.op.toLowerCase(), precision: 'auto', strategy: 'latency',
        reuse: 1, clockMhz: 200, check: CHECK, seed: 7, lib: false, data: { source: 'seeded N(0,4)', inputs } });
      console.log(`${c.op}: max |error| ${r.check!.maxAbsError.toExponential(3)} (bound ${c.bound})`);
      expect(r.check!.maxAbsError).toBeLessThanOrEqual(c.bound);
      // Not trivially small: the table's step shows (hardsigmoid has no table, only LSBs).
      expect(r.check!.maxAbsError).toBeGreaterThan(0);
    });
  }
});
