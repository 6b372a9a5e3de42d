import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERTS_DIR, avroFiles } from '../../../../../test/support/alerts.js';
import { REPO } from '../../../../../test/support/fixtures.js';
import { runPython } from '../../../../../test/support/python.js';
import { readAlertFile } from './container.js';

// Every field of real packets against Apache Avro's own reader (Python, Debian's python3-avro):
// a few files of each folder, the multi-alert files and the Rubin samples.
const folders = ['ztf-avro-alert', 'ztf-3.2-2018-12', 'ztf-3.3-2020-01', 'ztf-4.02-2023-10', 'rubin-9.0-2025-09', 'fink-client-ztf', 'rubin-schemas'];
const files = folders.flatMap((f) => {
  const all = avroFiles(join(ALERTS_DIR, f));
  return f === 'fink-client-ztf' || f === 'rubin-schemas' ? all : all.slice(0, 3);
});

/** The first path where `ours` (our decoded value) and `ref` (the reference's JSON) differ, or null. */
function firstDifference(ours: unknown, ref: unknown, path: string): string | null {
  if (typeof ours === 'bigint' || (typeof ours === 'number' && typeof ref === 'string')) {
    return String(ours) === ref || (Number.isNaN(ours) && ref === 'nan') ? null : `${path}: ${String(ours)} != ${String(ref)}`;
  }
  if (ours instanceof Uint8Array) {
    const r = ref as { bytes: number; sha256: string };
    return ours.length === r.bytes && createHash('sha256').update(ours).digest('hex') === r.sha256 ? null : `${path}: bytes differ`;
  }
  if (Array.isArray(ours)) {
    if (!Array.isArray(ref) || ref.length !== ours.length) return `${path}: array of ${ours.length}`;
    for (let i = 0; i < ours.length; i++) {
      const d = firstDifference(ours[i], ref[i], `${path}[${i}]`);
      if (d !== null) return d;
    }
    return null;
  }
  if (ours !== null && typeof ours === 'object') {
    const keys = Object.keys(ours);
    if (ref === null || typeof ref !== 'object' || Object.keys(ref).sort().join() !== [...keys].sort().join()) return `${path}: fields differ`;
    for (const k of keys) {
      const d = firstDifference((ours as Record<string, unknown>)[k], (ref as Record<string, unknown>)[k], `${path}.${k}`);
      if (d !== null) return d;
    }
    return null;
  }
  return Object.is(ours, ref) ? null : `${path}: ${String(ours)} != ${String(ref)}`;
}

describe('decoded records against Apache Avro\'s reader', () => {
  it('agree on every field of every record, longs digit for digit', () => {
    const ref = JSON.parse(runPython([join(REPO, 'test', 'support', 'avro-reference.py'), ...files])) as unknown[][];
    expect(ref).toHaveLength(files.length);
    let records = 0;
    files.forEach((f, i) => {
      const ours = readAlertFile(f).alerts.map((a) => a.value);
      expect(ours.length, f).toBe(ref[i].length);
      ours.forEach((v, k) => expect(firstDifference(v, ref[i][k], `${f}#${k}`)).toBeNull());
      records += ours.length;
    });
    expect(records).toBe(35); // 2 + 4 folders x 3 + 18 (Fink) + 3 (Rubin samples)
  });
});
