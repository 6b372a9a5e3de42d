import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERTS_DIR, avroFiles } from '../../../../test/support/alerts.js';
import { readAlertFile } from './avro/container.js';
import { BANDS, type AlertView } from './types.js';

/** AB mag to uJy, written out here from the definition (3631 Jy zero point; 23.9 is its
 * rounding, 6e-5 apart in relative flux). */
function abMicroJansky(mag: number): number {
  return 3631e6 * 10 ** (-mag / 2.5);
}

/** Flux within 1e-4 relative of the AB definition. */
function expectFlux(got: number, want: number): void {
  expect(Math.abs(got / want - 1)).toBeLessThan(1e-4);
}

function sortedByJd(a: AlertView): void {
  for (let i = 1; i < a.points.count; i++) expect(a.points.jd[i]).toBeGreaterThanOrEqual(a.points.jd[i - 1]);
}

describe('ZTF light-curve points', () => {
  // Fink adds its own concatenated light curve to each alert it exports (cjd, cfid, cmagpsf,
  // csigmapsf, cisdiffpos: prv_candidates then candidate): an independent reference.
  const multi = readAlertFile(join(ALERTS_DIR, 'fink-client-ztf', 'avro_multi_alerts.avro')).alerts;

  it('match Fink\'s own light-curve columns, point by point', () => {
    expect(multi.length).toBeGreaterThan(5);
    for (const a of multi) {
      const cjd = a.field('cjd') as (number | null)[];
      const ref = cjd
        .map((jd, i) => ({ jd, fid: (a.field('cfid') as number[])[i], mag: (a.field('cmagpsf') as (number | null)[])[i], sig: (a.field('csigmapsf') as (number | null)[])[i], pos: (a.field('cisdiffpos') as (string | null)[])[i] }))
        .filter((r) => r.jd !== null)
        .sort((x, y) => x.jd! - y.jd!);
      const p = a.points;
      expect(p.count, a.objectId).toBe(ref.length);
      sortedByJd(a);
      for (let i = 0; i < p.count; i++) {
        const r = ref[i];
        expect(p.jd[i]).toBe(r.jd);
        expect(BANDS[p.band[i]]).toBe(({ 1: 'g', 2: 'r', 3: 'i' } as Record<number, string>)[r.fid]);
        expect(p.upperLimit[i]).toBe(r.mag === null ? 1 : 0);
        if (r.mag === null) continue;
        const flux = (r.pos === 'f' || r.pos === '0' ? -1 : 1) * abMicroJansky(r.mag);
        expectFlux(p.flux[i], flux);
        expectFlux(p.fluxErr[i], Math.abs(flux) * r.sig! * 0.4 * Math.LN10);
      }
    }
  });

  it('include the negative detections (isdiffpos f) with a negative flux', () => {
    let negatives = 0;
    for (const f of avroFiles(join(ALERTS_DIR, 'ztf-4.02-2023-10'))) {
      const a = readAlertFile(f).alerts[0];
      for (const c of [a.field('candidate'), ...((a.field('prv_candidates') as unknown[] | null) ?? [])] as { isdiffpos: string | null; magpsf: number | null; jd: number }[]) {
        if (c.magpsf === null || c.isdiffpos !== 'f') continue;
        negatives++;
        // Fink's 4.02 sample repeats jds in prv_candidates (Apache Avro's reader agrees): match by jd and sign.
        const want = -abMicroJansky(c.magpsf);
        const found = Array.from(a.points.jd).some((jd, k) => jd === c.jd && Math.abs(a.points.flux[k] / want - 1) < 1e-4);
        expect(found, `${a.objectId} jd ${c.jd}`).toBe(true);
      }
    }
    expect(negatives).toBeGreaterThan(0);
  });

  it('give upper limits the flux of diffmaglim and no error', () => {
    const a = multi[0];
    const limits = ((a.field('prv_candidates') as { magpsf: number | null; diffmaglim: number; jd: number }[]) ?? []).filter((c) => c.magpsf === null);
    expect(limits.length).toBeGreaterThan(0);
    for (const c of limits) {
      const i = a.points.jd.indexOf(c.jd);
      expect(a.points.upperLimit[i]).toBe(1);
      expectFlux(a.points.flux[i], abMicroJansky(c.diffmaglim));
      expect(a.points.fluxErr[i]).toBe(0);
    }
  });
});

describe('Rubin light-curve points', () => {
  it('are the sample\'s diaSource and prvDiaSources in uJy (alert.json), forced sources of the same visits left out', () => {
    for (const major of ['9', '10', '11']) {
      const dir = join(ALERTS_DIR, 'rubin-schemas', major, '0', 'sample_data');
      const json = JSON.parse(readFileSync(join(dir, 'alert.json'), 'utf8')) as Record<string, { visit: number; psfFlux: number; psfFluxErr: number; midpointMjdTai: number; band: string }[]>;
      const a = readAlertFile(join(dir, 'fakeAlert.avro')).alerts[0];
      const detections = [json.diaSource as never, ...json.prvDiaSources];
      const visits = new Set(detections.map((s) => s.visit));
      const forced = (json.prvDiaForcedSources ?? []).filter((s) => !visits.has(s.visit));
      const ref = [...detections, ...forced].sort((x, y) => x.midpointMjdTai - y.midpointMjdTai);
      expect(a.points.count).toBe(ref.length);
      for (let i = 0; i < ref.length; i++) {
        expect(a.points.jd[i]).toBe(ref[i].midpointMjdTai + 2400000.5);
        expect(a.points.flux[i]).toBeCloseTo(ref[i].psfFlux / 1000, 6);
        expect(a.points.fluxErr[i]).toBeCloseTo(ref[i].psfFluxErr / 1000, 6);
        expect(BANDS[a.points.band[i]]).toBe(ref[i].band);
        expect(a.points.upperLimit[i]).toBe(0);
      }
    }
  });

  it('count every detection and forced source of the real 9.0 packets', () => {
    for (const f of avroFiles(join(ALERTS_DIR, 'rubin-9.0-2025-09'))) {
      const a = readAlertFile(f).alerts[0];
      const prv = (a.field('prvDiaSources') as { visit: bigint }[] | null) ?? [];
      const visits = new Set([a.field('visit'), ...prv.map((s) => s.visit)]);
      const forced = ((a.field('prvDiaForcedSources') as { visit: bigint; psfFlux: number | null }[] | null) ?? []).filter((s) => !visits.has(s.visit) && s.psfFlux !== null);
      expect(a.points.count, f).toBe(1 + prv.length + forced.length);
      expect(a.points.jd).toContain(a.jd);
      sortedByJd(a);
    }
  });
});
