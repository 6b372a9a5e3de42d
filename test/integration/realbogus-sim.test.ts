// The zoo's real/bogus student as firmware (the `sim` backend, the library `make firmware`
// builds) on the held-out real ZTF packets: its agreement with ZTF's own scores (drb >= 0.5,
// rb >= 0.5) on the test split is what the model card reports for the student in fixed point
// (models/train emulates the firmware's arithmetic in float64; the firmware's accumulators
// are exact too, so the two may differ only where a logit sits on the decision boundary).
import { describe, expect, it } from 'vitest';
import { loadSimBackend } from '../../host/src/backends/sim.js';
import { zooStudent } from '../../host/src/backends/sim.fixture.js';
import { realBogusInputs, realBogusRows, realBogusSplits, REALBOGUS_THRESHOLD } from '../../host/src/modalities/alerts/realbogus.js';
import { ALERTS_DIR } from '../support/alerts.js';

// The shipped student (widths 8,16) and its other size (4,8; models/zoo/alerts-realbogus-w4x8).
for (const folder of ['alerts-realbogus', 'alerts-realbogus-w4x8']) describe(`${folder} student on sim, held-out real packets`, () => {
  it('agrees with drb and rb on the test split as its card says', async () => {
    const { card, lib } = zooStudent(folder);
    const test = realBogusSplits(realBogusRows(ALERTS_DIR).rows).test;
    expect(test.length).toBe((card.raw.dataset as { test: number }).test);
    const x = realBogusInputs(test);
    const per = x.length / test.length;
    const backend = loadSimBackend({ path: lib, inputShape: card.inputShape, classes: 2 });
    const y = new Float32Array(2);
    let drbSame = 0, rbSame = 0;
    try {
      for (let i = 0; i < test.length; i++) {
        backend.predict(x.subarray(i * per, (i + 1) * per), y);
        const real = y[1]! > y[0]!;
        if (real === test[i]!.drb >= REALBOGUS_THRESHOLD) drbSame++;
        if (real === test[i]!.rb >= REALBOGUS_THRESHOLD) rbSame++;
      }
    } finally {
      await backend.close();
    }
    const raw = card.raw as { agreementFixed: number; agreementRbFixed: number };
    // Within one alert of the card (its figures are rounded to 4 decimals).
    const oneAlert = 1 / test.length + 1e-4;
    expect(Math.abs(drbSame / test.length - raw.agreementFixed)).toBeLessThanOrEqual(oneAlert);
    expect(Math.abs(rbSame / test.length - raw.agreementRbFixed)).toBeLessThanOrEqual(oneAlert);
  }, 120_000);
});
