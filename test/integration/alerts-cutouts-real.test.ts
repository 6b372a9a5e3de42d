import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FitsError } from '../../host/src/core/errors.js';
import { limits } from '../../host/src/core/limits.js';
import { readAlertFile } from '../../host/src/modalities/alerts/avro/container.js';
import { createCutoutScratch, CUTOUT_CHANNELS, cutoutTriplet } from '../../host/src/modalities/alerts/cutouts.js';
import { createFitsImage, decodeFits } from '../../host/src/modalities/alerts/fits.js';
import { gunzipInto, isGzip } from '../../host/src/modalities/alerts/gunzip.js';
import type { AlertView } from '../../host/src/modalities/alerts/types.js';
import { ALERTS_DIR, avroFiles } from '../support/alerts.js';
import { astropyReference, readF64 } from '../support/fits.js';
import { tempDir } from '../support/fixtures.js';
import { gzipValuesIn, ztfAlertFiles } from '../support/gzip-stamps.js';

/**
 * Every real cutout in ../shared/data/alerts (ZTF gzip FITS, Rubin plain FITS) decodes with no
 * FitsError, and a sample of them reads value for value as astropy reads the same bytes.
 */
interface Stamp {
  alert: AlertView;
  name: string;
  bytes: Uint8Array;
}

const alerts = avroFiles(ALERTS_DIR).flatMap((f) => readAlertFile(f).alerts);
const stamps: Stamp[] = alerts.flatMap((alert) =>
  CUTOUT_CHANNELS.flatMap(([key, name]) => (alert.cutouts[key] === null ? [] : [{ alert, name, bytes: alert.cutouts[key]! }])),
);
const inflated = new Uint8Array(limits.fitsStampBytesMax);
const img = createFitsImage();

/** Decodes one stamp into `img` (gunzip first when it is gzip). */
function decode(s: Stamp): void {
  const where = `${relative(ALERTS_DIR, s.alert.source)} record ${s.alert.index} ${s.name}`;
  if (isGzip(s.bytes)) decodeFits(inflated, img, where, gunzipInto(s.bytes, inflated, where));
  else decodeFits(s.bytes, img, where);
}

describe('every real cutout decodes', () => {
  it('ZTF and Rubin stamps: none is a FitsError; sizes by survey', () => {
    const sizes = new Map<string, number>();
    const errors: string[] = [];
    for (const s of stamps) {
      try {
        decode(s);
        const key = `${s.alert.survey} ${isGzip(s.bytes) ? 'gzip' : 'plain'} ${img.width}x${img.height} BITPIX ${img.bitpix}`;
        sizes.set(key, (sizes.get(key) ?? 0) + 1);
      } catch (e) {
        if (!(e instanceof FitsError)) throw e;
        errors.push(e.message);
      }
    }
    console.log(`${alerts.length} alerts, ${stamps.length} stamps:\n${[...sizes].map(([k, n]) => `  ${k}: ${n}`).join('\n')}`);
    expect(errors).toEqual([]);
    const surveys = new Set(stamps.map((s) => s.alert.survey));
    expect(surveys).toEqual(new Set(['ztf', 'rubin']));
    expect([...sizes.keys()].some((k) => k.startsWith('ztf gzip 63x63'))).toBe(true);
    expect([...sizes.keys()].some((k) => k.startsWith('rubin plain') && !k.includes('63x63'))).toBe(true);
  });

  it('the ZTF stamps are the gzip values found in each file without the Avro decoder, in the same order', () => {
    const files = ztfAlertFiles();
    let count = 0;
    for (const f of files) {
      const viaAvro = stamps.filter((s) => s.alert.source === f).map((s) => s.bytes);
      const scanned = gzipValuesIn(f);
      expect(viaAvro.length, f).toBe(scanned.length);
      for (const [i, g] of scanned.entries()) expect(Buffer.compare(viaAvro[i]!, g), `${f} stamp ${i}`).toBe(0);
      count += scanned.length;
    }
    expect(count).toBe(stamps.filter((s) => s.alert.survey === 'ztf').length);
    expect(count).toBeGreaterThan(1800);
  });

  it('every alert with three stamps makes a finite triplet whose channels have unit or zero norm', () => {
    const S = 63;
    const out = new Float32Array(3 * S * S);
    const scratch = createCutoutScratch();
    let made = 0;
    for (const a of alerts) {
      if (a.cutouts.science === null || a.cutouts.template === null || a.cutouts.difference === null) continue;
      cutoutTriplet(a.cutouts, { stamp: 63, size: S }, out, scratch);
      for (let c = 0; c < 3; c++) {
        let ss = 0;
        for (const v of out.subarray(c * S * S, (c + 1) * S * S)) ss += v * v;
        if (!(Math.abs(ss - 1) < 1e-5 || ss === 0)) expect.fail(`${a.source} record ${a.index} channel ${c}: squared norm ${ss}`);
      }
      made++;
    }
    expect(made).toBe(alerts.filter((a) => Object.values(a.cutouts).every((v) => v !== null)).length);
    expect(made).toBeGreaterThan(600);
  });
});

describe('a sample of real stamps against astropy', () => {
  it('every 10th stamp of each survey reads as astropy reads the same bytes (gzip for ZTF)', () => {
    const dir = tempDir('real-stamps');
    const sample = ['ztf', 'rubin'].flatMap((survey) => stamps.filter((s) => s.alert.survey === survey).filter((_, i) => i % 10 === 0));
    const files = sample.map((s, i) => {
      const path = join(dir, `${i}-${s.alert.survey}-${s.name}.fits${isGzip(s.bytes) ? '.gz' : ''}`);
      writeFileSync(path, s.bytes);
      return path;
    });
    const rows = astropyReference(['read', dir, ...files]);
    expect(rows.length).toBe(sample.length);
    expect(sample.length).toBeGreaterThan(150);
    for (const [i, s] of sample.entries()) {
      decode(s);
      const row = rows[i]!;
      expect([img.width, img.height, img.bitpix]).toEqual([row.width, row.height, row.bitpix]);
      const want = readF64(join(dir, `${row.name}.f64`));
      for (let k = 0; k < want.length; k++) {
        const w = Math.fround(want[k]!);
        if (!Object.is(img.pixels[k], w) && !(Number.isNaN(w) && Number.isNaN(img.pixels[k]))) expect.fail(`${files[i]} pixel ${k}: reader ${img.pixels[k]}, astropy ${want[k]}`);
      }
    }
  });
});
