import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAlertFile } from '../../host/src/modalities/alerts/avro/container.js';
import { LIGHTCURVE_DEFAULT_SPEC } from '../../host/src/modalities/alerts/lightcurve.js';
import { ALERTS_DIR, avroFiles } from '../support/alerts.js';
import { tempDir } from '../support/fixtures.js';
import { gridParity, type ParityCase } from '../support/lightcurve-parity.js';

/**
 * The grid parity on every real packet of ../shared/data/alerts: the TypeScript side decodes
 * each packet (avro container reader, AlertView.points), writes its points and its grid; the
 * numpy implementation recomputes the grid from the points.
 */
function realCases(survey: 'ztf' | 'rubin'): ParityCase[] {
  const cases: ParityCase[] = [];
  for (const path of avroFiles(ALERTS_DIR)) {
    for (const a of readAlertFile(path).alerts) {
      if (a.survey === survey) cases.push({ source: `${path} #${a.index} ${a.objectId}`, jd: a.jd, points: a.points });
    }
  }
  return cases;
}

describe('light-curve grid parity on the real packets', () => {
  for (const survey of ['ztf', 'rubin'] as const) {
    it(`TypeScript and numpy agree within 1e-6 on every ${survey} alert`, () => {
      const cases = realCases(survey);
      expect(cases.length).toBeGreaterThanOrEqual(100);
      // Packets with history (the grid is more than the alert's own detection): most ZTF
      // packets; 4 of the 100 Rubin 9.0 commissioning packets.
      expect(cases.filter((c) => c.points.count > 1).length).toBeGreaterThan(survey === 'ztf' ? 100 : 2);
      const r = gridParity(cases, LIGHTCURVE_DEFAULT_SPEC, join(tempDir('lc-real'), `${survey}.jsonl`));
      expect(r.count).toBe(cases.length);
      expect(r.maxAbsDiff, `worst: ${r.worst}`).toBeLessThanOrEqual(1e-6);
    });
  }
});
