import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../host/src/core/rng.js';
import { createCutoutScratch, cutoutTriplet } from '../../host/src/modalities/alerts/cutouts.js';
import { fitsFloat32 } from '../support/fits.js';
import { tempDir } from '../support/fixtures.js';
import { runPython, TRAIN } from '../support/python.js';

/**
 * models/train/alerts_cutouts.py (the training twin) against the TypeScript cutoutTriplet on
 * the same stamps: random sizes (smaller and larger than 63, odd and even), NaN and infinite
 * pixels, all-zero stamps, every crop size class. Each output element may differ by one
 * float32 rounding (numpy sums the squares pairwise, TypeScript in order).
 */
const SPECS = [{ stamp: 63, size: 63 }, { stamp: 63, size: 32 }, { stamp: 63, size: 21 }, { stamp: 30, size: 30 }, { stamp: 64, size: 1 }];

describe('alerts_cutouts.py equals the TypeScript cutout triplet', () => {
  const rng = createRng(1206);
  const dir = tempDir('cutouts-py');
  const cases = Array.from({ length: 40 }, (_, k) => {
    const spec = SPECS[k % SPECS.length]!;
    const stamps = [0, 1, 2].map((c) => {
      const w = 20 + Math.floor(rng.uniform() * 60), h = 20 + Math.floor(rng.uniform() * 60);
      const v = new Float32Array(w * h).map(() => (rng.uniform() - 0.3) * 10 ** Math.floor(rng.uniform() * 6));
      if (c === 1 && k % 3 === 0) v.fill(0);
      for (let i = 0; i < v.length; i += 17 + k) v[i] = [NaN, Infinity, -Infinity][i % 3]!;
      writeFileSync(join(dir, `${k}-${c}.f32`), v);
      return { w, h, v };
    });
    return { k, spec, stamps };
  });

  it('on 40 triplets of random stamps', () => {
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases.map(({ k, spec, stamps }) => ({ k, spec, shapes: stamps.map((s) => [s.h, s.w]) }))));
    runPython(['-c', `
import json, sys, numpy as np
sys.path.insert(0, ${JSON.stringify(TRAIN)})
import alerts_cutouts
d = sys.argv[1]
for c in json.load(open(d + '/cases.json')):
    st = [np.fromfile(f"{d}/{c['k']}-{i}.f32", '<f4').reshape(c['shapes'][i]) for i in range(3)]
    alerts_cutouts.cutout_triplet(*st, stamp_side=c['spec']['stamp'], size=c['spec']['size']).astype('<f4').tofile(f"{d}/{c['k']}.out")
`, dir]);
    const scratch = createCutoutScratch();
    let worst = 0;
    for (const { k, spec, stamps } of cases) {
      const fits = stamps.map((s) => fitsFloat32(s.w, s.h, s.v));
      const out = new Float32Array(3 * spec.size * spec.size);
      cutoutTriplet({ science: gzipSync(fits[0]!), template: fits[1]!, difference: gzipSync(fits[2]!) }, spec, out, scratch);
      const b = readFileSync(join(dir, `${k}.out`));
      const py = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
      expect(py.length).toBe(out.length);
      for (let i = 0; i < out.length; i++) {
        const ulp = Math.max(Math.abs(py[i]!) * 2 ** -23, 2 ** -149);
        const d = Math.abs(out[i]! - py[i]!) / ulp;
        worst = Math.max(worst, d);
        if (!(d <= 1)) expect.fail(`case ${k} element ${i}: TypeScript ${out[i]}, Python ${py[i]}`);
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
  });
});
