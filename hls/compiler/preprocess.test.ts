// The firmware preprocessing plan (preprocess.ts): which specs the firmware runs, the crop,
// and constants exact for every pixel value of the zoo's cell cards. The kernel itself is
// checked against the host's float path in hls/nnet/preprocess.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../host/src/core/errors.js';
import { parseFixedType } from './precision.js';
import { hostInputRaw, isPixelSpec, planPreprocess, type PixelSpec } from './preprocess.js';

const ZOO = join(import.meta.dirname, '..', '..', 'models', 'zoo');
const INPUT_T = parseFixedType('ap_fixed<16,6,AP_TRN,AP_SAT>', 'test');
const card = (task: string) => JSON.parse(readFileSync(join(ZOO, task, 'card.json'), 'utf8')) as { preprocessing: unknown };

describe('firmware preprocessing plan', () => {
  for (const task of ['cells-bccd', 'cells-lymphocyte']) {
    it(`${task}: the card's spec runs in firmware, with constants that give the host's input for all 256 values per channel`, () => {
      const spec = card(task).preprocessing;
      expect(isPixelSpec(spec)).toBe(true);
      const plan = planPreprocess(spec as PixelSpec, INPUT_T, task);
      expect(plan.mismatches).toBe(0);
      expect([plan.cropTop, plan.cropLeft]).toEqual([0, 0]);
      // The constants against the card's own numbers: within one LSB of 2^-fracBits.
      const s = spec as PixelSpec;
      plan.gainRaw.forEach((g, c) => expect(Math.abs(g / 2 ** plan.fracBits - s.scale / s.std[c]!)).toBeLessThanOrEqual(2 * 2 ** -plan.fracBits));
      plan.offsetRaw.forEach((o, c) => expect(Math.abs(o / 2 ** plan.fracBits + s.mean[c]! / s.std[c]!)).toBeLessThanOrEqual(4 * 2 ** -plan.fracBits));
    });
  }

  it('keeps feature, audio and alert specs on the host', () => {
    for (const task of ['jets-hls4ml', 'keywords', 'alerts-realbogus', 'alerts-transient']) expect(isPixelSpec(card(task).preprocessing)).toBe(false);
  });

  it('centre-crops a larger frame and refuses a bilinear resize or a smaller frame', () => {
    const base: PixelSpec = { frame: { shape: [40, 37, 1], dtype: 'uint8' }, input: { shape: [1, 32, 32] }, resize: 'centre-crop', scale: 1 / 255, mean: [0.5], std: [0.25] };
    const plan = planPreprocess(base, INPUT_T, 'test');
    expect([plan.cropTop, plan.cropLeft]).toEqual([4, 2]);
    expect(() => planPreprocess({ ...base, resize: 'bilinear' }, INPUT_T, 'test')).toThrow(ModelError);
    expect(() => planPreprocess({ ...base, frame: { shape: [30, 37, 1], dtype: 'uint8' } }, INPUT_T, 'test')).toThrow(/smaller than the model input/);
  });

  it('hostInputRaw is the float32 value floored and clamped for AP_TRN, AP_SAT', () => {
    // (255/255 - 0.5) / 0.25 = 2 -> 2048 at 2^-10; (0 - 0.5) / 0.25 = -2 -> -2048; 300 saturates.
    expect(hostInputRaw(255, 1 / 255 / 0.25, -0.5 / 0.25, INPUT_T)).toBe(2048);
    expect(hostInputRaw(0, 1 / 255 / 0.25, -0.5 / 0.25, INPUT_T)).toBe(-2048);
    expect(hostInputRaw(255, 1, 100, INPUT_T)).toBe(32767);
  });
});
