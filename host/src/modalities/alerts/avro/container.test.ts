import { readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERTS_DIR, avroFiles, skipBytesAt, zigzagAt } from '../../../../../test/support/alerts.js';
import { readAlertFile } from './container.js';

// The real packets of ../shared/data/alerts (origins and counts in ../shared/data/README.md).
const files = avroFiles(ALERTS_DIR);
const read = new Map(files.map((f) => [f, readAlertFile(f)]));

/** Records per folder, from the table in ../shared/data/README.md (multi-alert files included). */
const README_COUNTS: Record<string, number> = {
  'ztf-avro-alert': 2,
  'ztf-3.2-2018-12': 31,
  'ztf-3.3-2020-01': 50,
  'ztf-4.02-2023-10': 561,
  'rubin-9.0-2025-09': 100,
  'fink-client-ztf': 18,
  'rubin-schemas': 3,
};

describe('readAlertFile on every real packet', () => {
  it('decodes every .avro file with no fault', () => {
    expect(files.length).toBeGreaterThan(700);
    for (const [f, r] of read) {
      expect(r.errors.map((e) => e.message), f).toEqual([]);
      expect(r.alerts.length, f).toBeGreaterThan(0);
      expect(r.codec).toBe('null');
    }
  });

  it('counts the records per folder of the README table', () => {
    const counts: Record<string, number> = {};
    for (const [f, r] of read) {
      const top = relative(ALERTS_DIR, f).split('/')[0];
      counts[top] = (counts[top] ?? 0) + r.alerts.length;
    }
    expect(counts).toEqual(README_COUNTS);
    expect(read.get(join(ALERTS_DIR, 'fink-client-ztf', 'avro_multi_alerts.avro'))!.alerts.length).toBeGreaterThan(1);
  });

  it('keeps ZTF candids and Rubin diaSourceIds digit for digit (the file names)', () => {
    let checked = 0;
    for (const [f, r] of read) {
      const folder = basename(dirname(f));
      if (folder !== 'ztf-3.2-2018-12' && folder !== 'ztf-3.3-2020-01' && folder !== 'rubin-9.0-2025-09') continue;
      const named = BigInt(basename(f).split(/[_.]/)[0]);
      expect(r.alerts[0].id, f).toBe(named);
      checked++;
    }
    expect(checked).toBe(181);
    // Rubin ids above 2^53: a number would have lost the last digits.
    expect(read.get(join(ALERTS_DIR, 'rubin-9.0-2025-09', '169298432900464695_169298432900464695.avro'))!.alerts[0].id).toBe(169298432900464695n);
  });

  it('agrees with the ids read from the record bytes by an independent varint decoder', () => {
    for (const f of files.filter((x) => x.includes('ztf-4.02-2023-10')).slice(0, 50)) {
      const a = read.get(f)!.alerts[0];
      // topLevelRecord: candid is field 0, a ["long", "null"] union: branch index, then the long.
      const branch = zigzagAt(a.bytes, 0);
      expect(branch.value).toBe(0n);
      expect(a.id).toBe(zigzagAt(a.bytes, branch.next).value);
      expect(a.id).toBeGreaterThan(2n ** 53n);
    }
    for (const f of files.filter((x) => x.includes('ztf-3.3-2020-01'))) {
      const a = read.get(f)!.alerts[0];
      // ztf.alert 3.3: schemavsn, publisher, objectId (strings), then candid.
      const pos = skipBytesAt(a.bytes, skipBytesAt(a.bytes, skipBytesAt(a.bytes, 0)));
      expect(a.id).toBe(zigzagAt(a.bytes, pos).value);
    }
  });

  it('reads the Rubin samples as alert.json states them (ids above 2^53 from the text)', () => {
    for (const major of ['9', '10', '11']) {
      const dir = join(ALERTS_DIR, 'rubin-schemas', major, '0', 'sample_data');
      const a = read.get(join(dir, 'fakeAlert.avro'))!.alerts[0];
      const text = readFileSync(join(dir, 'alert.json'), 'utf8');
      const ids = [...text.matchAll(/"diaSourceId":\s*(\d+)/g)].map((m) => BigInt(m[1]));
      expect(a.survey).toBe('rubin');
      expect(a.schema.name).toBe(`lsst.v${major}_0.alert`);
      expect(a.schema.version).toBe(`${major}.0`);
      expect(a.id).toBe(ids[0]);
      expect(a.field('diaSource.diaSourceId')).toBe(ids[1]);
      expect(a.field('prvDiaSources.0.diaSourceId')).toBe(ids[2]);
      expect(a.objectId).toBe(/"diaObjectId":\s*(\d+)/.exec(text)![1]);
      const mjd = Number(/"midpointMjdTai":\s*([\d.]+)/.exec(text)![1]);
      expect(a.jd).toBe(mjd + 2400000.5);
    }
  });

  it('gives each record its own bytes, and bytes fields as views into them', () => {
    const r = read.get(join(ALERTS_DIR, 'fink-client-ztf', 'avro_multi_alerts.avro'))!;
    const file = readFileSync(r.name);
    let end = -1;
    for (const [i, a] of r.alerts.entries()) {
      expect(a.index).toBe(i);
      expect(a.source).toBe(r.name);
      const at = file.indexOf(a.bytes);
      expect(at).toBeGreaterThan(end);
      end = at + a.bytes.length - 1;
      const science = a.cutouts.science!;
      // The stamp is a gzip member (1f 8b) lying inside the record's bytes, same memory.
      expect([science[0], science[1]]).toEqual([0x1f, 0x8b]);
      expect(science.buffer).toBe(a.bytes.buffer);
      expect(science.byteOffset).toBeGreaterThanOrEqual(a.bytes.byteOffset);
      expect(science.byteOffset + science.length).toBeLessThanOrEqual(a.bytes.byteOffset + a.bytes.length);
    }
  });
});
