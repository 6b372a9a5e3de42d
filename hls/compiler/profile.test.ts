import { describe, expect, it } from 'vitest';
import { IR_INPUT, type Ir } from './ir.js';
import { formatProfile, profileModel, typeRange } from './profile.js';
import { parseFixedType, resolvePrecision } from './precision.js';

/** input [2] -> dense (identity x 8, bias 0) -> relu: outputs 8x the inputs. */
function tinyIr(): Ir {
  return {
    source: 'tiny', inputShape: [2], output: 'relu_0', outputShape: [2],
    layers: [
      { name: 'dense_0', kind: 'dense', inputs: [IR_INPUT], inputShapes: [[2]], outputShape: [2], nIn: 2, nOut: 2,
        weights: Float32Array.from([8, 0, 0, 8]), bias: Float32Array.from([0, 0]) },
      { name: 'relu_0', kind: 'relu', inputs: ['dense_0'], inputShapes: [[2]], outputShape: [2] },
    ],
  } as unknown as Ir;
}

describe('profileModel (compile --profile)', () => {
  it('type ranges follow W and I', () => {
    expect(typeRange(parseFixedType('ap_fixed<16,6>', 't'))).toEqual({ min: -32, max: 32 - 2 ** -10, lsb: 2 ** -10 });
    expect(typeRange(parseFixedType('ap_fixed<8,1>', 't'))).toEqual({ min: -1, max: 1 - 2 ** -7, lsb: 2 ** -7 });
  });

  it('counts values outside each result type and below half an LSB', () => {
    const precision = resolvePrecision({ default: { result: 'ap_fixed<8,4>' } }); // range [-8, 7.9375], lsb 1/16
    const inputs = [Float32Array.from([0.5, -0.5]), Float32Array.from([1, 0.001]), Float32Array.from([-2, 0.25])];
    const rows = profileModel(tinyIr(), precision, inputs);
    const row = (layer: string, tensor = 'output') => rows.find((r) => r.layer === layer && r.tensor === tensor)!;
    // dense outputs: 4, -4, 8, 0.008, -16, 2: two overflow (8 > 7.9375 and -16 < -8), 0.008 < 1/32.
    expect(row('dense_0')).toMatchObject({ min: -16, max: 8, count: 6, overflows: 2, belowLsb: 1, type: 'ap_fixed<8,4>' });
    // relu: 4, 0, 8, 0.008, 0, 2: 8 overflows; 0.008 is below half an LSB; zeros are not counted.
    expect(row('relu_0')).toMatchObject({ min: 0, max: 8, overflows: 1, belowLsb: 1 });
    expect(row('input')).toMatchObject({ overflows: 0, count: 6 });
    expect(row('dense_0', 'weight')).toMatchObject({ min: 0, max: 8, overflows: 0, count: 4, type: 'ap_fixed<16,6>' }); // the default weight type holds 8
    expect(formatProfile(rows)).toMatch(/dense_0\s+output\s+ap_fixed<8,4>\s+\[-8, 7\.938\]\s+\[-16, 8\]\s+2\/6/);
  });
});
