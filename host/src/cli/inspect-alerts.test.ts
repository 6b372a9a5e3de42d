import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERTS_DIR } from '../../../test/support/alerts.js';
import { frameConfluent } from '../modalities/alerts/avro/confluent.js';
import { readAlertFile } from '../modalities/alerts/avro/container.js';
import { inspectPath, inspectPaths } from './inspect.js';
import { fakeStream } from './progress.fixture.js';

const SCHEMAS = { rubin: join(ALERTS_DIR, 'rubin-schemas'), ztf: join(ALERTS_DIR, 'ztf-avro-alert', 'schema') };
const RECORDINGS = resolve(import.meta.dirname, '..', '..', '..', 'sim', 'recordings');

interface Line {
  file: string;
  kind: string;
  format: string;
  codec: string | null;
  schema: { name: string; version: string | null; id: number | null } | null;
  records: number;
  decoded: number;
  errors: { index: number; code: string; message: string }[];
  skipped?: number;
}

const jsonLines = (json: string): Line[] => json.trim().split('\n').map((l) => JSON.parse(l) as Line);

describe('hairtrigger inspect over alert files', () => {
  it('reads every real alert folder: one JSON line per file, other files skipped and counted', () => {
    const r = inspectPaths([ALERTS_DIR], SCHEMAS, fakeStream(false));
    expect(r.status).toBe(0);
    const lines = jsonLines(r.json);
    const all = readdirSync(ALERTS_DIR, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const avro = all.filter((e) => e.name.endsWith('.avro'));
    const summary = lines.at(-1)!;
    expect(summary).toEqual({ kind: 'summary', files: avro.length, records: 765, decoded: 765, errors: 0, skipped: all.length - avro.length });
    expect(summary.skipped).toBeGreaterThan(20); // schemas, alert.json samples, README, latest.txt
    const files = lines.slice(0, -1);
    expect(files).toHaveLength(avro.length);
    for (const l of files) expect(l).toMatchObject({ kind: 'alerts', format: 'container', codec: 'null', errors: [] });
    const rubin11 = files.find((l) => l.file.endsWith(join('11', '0', 'sample_data', 'fakeAlert.avro')))!;
    expect(rubin11.schema).toEqual({ name: 'lsst.v11_0.alert', version: '11.0', id: 1100 });
    const multi = files.find((l) => l.file.endsWith('avro_multi_alerts.avro'))!;
    expect(multi.records).toBe(readAlertFile(multi.file).alerts.length);
    expect(r.text).toMatch(new RegExp(`${avro.length} alert files, 765 records, 765 decoded, 0 errors; ${summary.skipped} other files skipped\\n$`));
  });

  it('reports faults with exit status 1, decodes Confluent records, and skips what is not an alert', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-inspect-alerts-'));
    const ztf = readFileSync(join(ALERTS_DIR, 'ztf-3.3-2020-01', '1095578116015010001.avro'));
    writeFileSync(join(dir, 'cut.avro'), ztf.subarray(0, ztf.length - 1000));
    const rubin = readAlertFile(join(ALERTS_DIR, 'rubin-schemas', '9', '0', 'sample_data', 'fakeAlert.avro')).alerts[0];
    writeFileSync(join(dir, 'rubin.confluent'), frameConfluent(900, rubin.bytes));
    writeFileSync(join(dir, 'unknown.confluent'), frameConfluent(777, rubin.bytes));
    copyFileSync(join(ALERTS_DIR, 'ztf-avro-alert', 'README.md'), join(dir, 'README.md'));
    const r = inspectPaths([dir], SCHEMAS, fakeStream(false));
    expect(r.status).toBe(1);
    const [cut, conf, unknown, summary] = jsonLines(r.json);
    expect(cut).toMatchObject({ format: 'container', records: 1, decoded: 0, schema: { name: 'ztf.alert', version: '3.3', id: null } });
    expect(cut.errors.map((e) => e.code)).toEqual(['truncated']);
    expect(conf).toMatchObject({ format: 'confluent', records: 1, decoded: 1, errors: [], schema: { name: 'lsst.v9_0.alert', id: 900 } });
    expect(unknown.errors.map((e) => e.code)).toEqual(['unknown-schema']);
    expect(summary).toMatchObject({ kind: 'summary', files: 3, records: 3, decoded: 1, errors: 2, skipped: 1 });
    expect(r.text).toMatch(/cut\.avro: alerts, container, codec null, schema ztf\.alert 3\.3, 1 records, 0 decoded, 1 errors\n {2}record 0: truncated: E_ALERT_DECODE at .*cut\.avro record 0/);
  });

  it('exits 2 for a named path that does not exist or is of no known kind, still reporting the others', () => {
    const file = join(ALERTS_DIR, 'ztf-3.2-2018-12', '697252845815015007.avro');
    const r = inspectPaths([file, join(ALERTS_DIR, 'nothing-here'), join(ALERTS_DIR, 'ztf-avro-alert', 'README.md')], SCHEMAS, fakeStream(false));
    expect(r.status).toBe(2);
    const lines = jsonLines(r.json);
    expect(lines[0]).toMatchObject({ file, decoded: 1, schema: { name: 'ztf.alert', version: '3.1' } });
    expect(lines[1]).toMatchObject({ error: 'no such file or folder' });
    expect((lines[2] as unknown as { error: string }).error).toMatch(/of no known kind/);
  });

  it('sniffs a named file without an extension by its first bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-inspect-sniff-'));
    copyFileSync(join(ALERTS_DIR, 'ztf-3.2-2018-12', '697252845815015007.avro'), join(dir, 'packet'));
    const rubin = readAlertFile(join(ALERTS_DIR, 'rubin-schemas', '10', '0', 'sample_data', 'fakeAlert.avro')).alerts[0];
    writeFileSync(join(dir, 'message'), frameConfluent(1000, rubin.bytes));
    const lines = jsonLines(inspectPaths([join(dir, 'packet'), join(dir, 'message')], SCHEMAS).json);
    expect(lines.map((l) => [l.format, l.decoded])).toEqual([['container', 1], ['confluent', 1], [undefined, 2]]);
  });

  it('keeps captures as they were: a folder of captures prints what inspectPath does', () => {
    const before = inspectPath(RECORDINGS, fakeStream(false));
    const now = inspectPaths([RECORDINGS], SCHEMAS, fakeStream(false));
    expect(now.status).toBe(0);
    expect(now.text).toBe(before.text);
    expect(JSON.parse(now.json)).toEqual(before.json);
  });
});
