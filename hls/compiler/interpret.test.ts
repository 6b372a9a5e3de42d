import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FrameShapeError } from '../../host/src/core/errors.js';
import { buildIr } from './build-ir.js';
import { readOnnx } from './onnx-reader.js';
import { calibrateRanges, runIr, runIrBatch } from './interpret.js';
import { IR_INPUT, shapeSize } from './ir.js';
import { maxRelErr, normalSampler, ortRunner, withSymbolicBatch } from './testing.js';
import { MODEL_CASES } from './models.fixture.js';

/** Golden tolerance: max |ours - ort| / (1 + |ort|) over every output of every sample. */
const TOLERANCE = 1e-4;
const SAMPLES = 20;
const SEED = 20261127;

describe('interpreter against onnxruntime (golden)', () => {
  for (const c of MODEL_CASES.filter((m) => m.kinds !== null)) {
    it(`${c.label}: ${SAMPLES} N(0,1) inputs, seed ${SEED}`, async () => {
      const ir = buildIr(readOnnx(c.path));
      const ort = await ortRunner(withSymbolicBatch(readFileSync(c.path)));
      const draw = normalSampler(SEED);
      let worst = 0;
      for (let i = 0; i < SAMPLES; i++) {
        const x = draw(shapeSize(ir.inputShape));
        const ref = await ort(x, ir.inputShape);
        const ours = runIr(ir, x);
        expect(ours.length).toBe(shapeSize(ir.outputShape));
        worst = Math.max(worst, maxRelErr(ours, ref));
      }
      expect(worst, `${c.label} (seed ${SEED})`).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe('runIr contract', () => {
  const student = MODEL_CASES.find((c) => c.label === 'cells-bccd/student')!;

  it('rejects an input of the wrong length with FrameShapeError', () => {
    const ir = buildIr(readOnnx(student.path));
    expect(() => runIr(ir, new Float32Array(10))).toThrow(FrameShapeError);
  });

  it('records per-layer output ranges that bound every output seen', () => {
    const ir = buildIr(readOnnx(student.path));
    const draw = normalSampler(5);
    const inputs = Array.from({ length: 4 }, () => draw(shapeSize(ir.inputShape)));
    const ranges = calibrateRanges(ir, inputs);
    expect([...ranges.keys()]).toEqual([IR_INPUT, ...ir.layers.map((l) => l.name)]);
    const relu = ranges.get('relu_0')!;
    expect(relu.min).toBe(0);
    expect(relu.max).toBeGreaterThan(0);
    const outRange = ranges.get(ir.output)!;
    for (const y of runIrBatch(ir, inputs)) {
      for (const v of y) {
        expect(v).toBeGreaterThanOrEqual(Math.fround(outRange.min) - 1e-6);
        expect(v).toBeLessThanOrEqual(Math.fround(outRange.max) + 1e-6);
      }
    }
  });
});
