// The firmware at the precision `make firmware` builds (the default: ap_fixed<16,6> weights,
// saturating <16,6> layer outputs, <32,12> accumulators; plus the per-layer overrides a card's
// "precision" names) against float ONNX on 1,000 held-out inputs of each zoo model (real/bogus: the
// held-out alerts and their D4 views), by C
// simulation: top-1 agreement of at least 99%, no tensor outside its type on those inputs
// (except what a card reports), and exactly the figures the model card records (`make cards` writes them; a change
// to the templates or the compiler that moves them must update the cards).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel, randomInputs } from '../../hls/compiler/compile.js';
import type { PrecisionSpec } from '../../hls/compiler/precision.js';
import { heldOutSet } from '../../host/src/datasets/test-set.js';
import { readModelCard } from '../../host/src/model/card.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const BCCD = join(REPO, '..', 'shared', 'data', 'cells', 'bccd');
const ALERTS = join(REPO, '..', 'shared', 'data', 'alerts');
const N = 1000;

interface FixedFacts {
  precision: string;
  agreementTop1: number;
  maxAbsLogitError: number;
  overflows: Record<string, number>;
  n: number;
  data: string;
  modelSha256: string;
}

// Zoo folders: the tasks' shipped students, and the other sizes `make sizes` adds (models/zoo/<task>-<size>).
for (const task of ['cells-bccd', 'cells-lymphocyte', 'jets-hls4ml', 'alerts-realbogus', 'cells-bccd-w2x4', 'cells-bccd-w4x8', 'cells-bccd-w10x24', 'alerts-realbogus-w4x8']) {
  describe(`${task}: fixed point against float ONNX`, () => {
    it(`agrees on >= 99% of ${N} held-out inputs, as its card records`, async () => {
      const card = readModelCard(join(REPO, 'models', 'zoo', task));
      const data = task === 'jets-hls4ml'
        ? { source: 'seeded N(0,1) (seed 1)', inputs: randomInputs(N, 16, 1) }
        : (() => {
          const h = heldOutSet(card, N, BCCD, { alertsRoot: ALERTS });
          return { source: h.source, inputs: h.inputs };
        })();
      expect(data.inputs.length).toBe(N);
      const out = mkdtempSync(join(tmpdir(), `ht-agree-${task}-`));
      // as `hairtrigger compile <folder>` compiles it: a card that preprocesses uint8 images gets the firmware's pixel stage
      const r = await compileModel({ model: card.files.student, out, name: 'agree', precision: (card.raw.precision as PrecisionSpec | undefined) ?? 'default', strategy: 'latency', reuse: 1, clockMhz: 200, task: card.task, check: N, seed: 1, data, lib: false, preprocessing: card.preprocessing });
      expect(r.check!.n).toBe(N);
      expect(r.check!.agreementTop1).toBeGreaterThanOrEqual(0.99);
      // The cell and real/bogus students saturate nowhere on their held-out data; the jet tagger's card names
      // the one layer that does (its output, whose type the FPGA interface carries) and why.
      if (task !== 'jets-hls4ml') expect(r.check!.overflows).toEqual({});
      else expect(Object.keys(r.check!.overflows)).toEqual(['dense_3']);
      const fixed = card.raw.fixed as FixedFacts;
      expect(fixed.precision).toBe(r.precision);
      expect(fixed.n).toBe(N);
      expect(fixed.data).toBe(r.check!.data);
      expect(fixed.modelSha256).toBe(r.modelSha256);
      expect(fixed.agreementTop1).toBe(r.check!.agreementTop1);
      expect(fixed.maxAbsLogitError).toBeCloseTo(r.check!.maxAbsLogitError, 3);
      expect(fixed.overflows).toEqual(r.check!.overflows);
      const fpga = card.raw.fpga as { latencyCycles: number; ii: number; clockMhz: number; dsp: number };
      expect(fpga).toMatchObject({ latencyCycles: r.fpga.latencyCycles, ii: r.fpga.ii, clockMhz: r.fpga.clockMhz, dsp: r.fpga.dsp });
    }, 180_000);
  });
}
