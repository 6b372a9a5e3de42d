import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALERTS_DIR, avroFiles, blockLayout, TEST_SYNC, writeContainer } from '../../../../../test/support/alerts.js';
import { AlertDecodeError } from '../../../core/errors.js';
import type { AlertView } from '../types.js';
import { readAlertBuffer, readAlertFile, type AlertFile } from './container.js';
import { compileWriterSchema } from './schema.js';

// Real ZTF 3.3 packets (one exposure), re-written by avsc's BlockEncoder into multi-block
// container files with each codec: what a night's stream file looks like.
const sources = avroFiles(join(ALERTS_DIR, 'ztf-3.3-2020-01')).slice(0, 8).map((f) => readAlertFile(f));
const records = sources.map((s) => s.alerts[0]);
const CODECS = ['null', 'deflate', 'snappy'] as const;
type Codec = (typeof CODECS)[number];
const written = {} as Record<Codec, { file: Buffer; clean: AlertFile }>;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ht-avro-'));
  const schema = compileWriterSchema(sources[0].schema!.json);
  for (const codec of CODECS) {
    // ~2 records a block (avsc flushes when the next record does not fit).
    const bytes = await writeContainer(schema.type, records.map((a) => a.value), codec, 140_000);
    const path = join(dir, `ztf-${codec}.avro`);
    writeFileSync(path, bytes);
    const file = readFileSync(path);
    written[codec] = { file, clean: readAlertBuffer(file, path) };
  }
});

function sameRecord(got: AlertView, want: AlertView): void {
  expect(got.index).toBe(want.index);
  expect(Buffer.from(got.bytes).equals(Buffer.from(want.bytes))).toBe(true);
}

describe('container files written with each codec', () => {
  it.each(CODECS)('%s: re-read byte-equal to the real records, over several blocks', (codec) => {
    const { file, clean } = written[codec];
    expect(clean.errors).toEqual([]);
    expect(clean.codec).toBe(codec);
    expect(blockLayout(file).length).toBeGreaterThanOrEqual(3);
    expect(clean.alerts.length).toBe(records.length);
    clean.alerts.forEach((a, i) => {
      expect(Buffer.from(a.bytes).equals(Buffer.from(records[i].bytes))).toBe(true);
      expect(a.id).toBe(records[i].id);
      expect(a.index).toBe(i);
    });
  });

  it('snappy: a block whose CRC does not match is reported corrupt and skipped, the others kept', () => {
    const file = Buffer.from(written.snappy.file);
    const blocks = blockLayout(file);
    const b = blocks[1];
    file[b.end - TEST_SYNC.length - 1] ^= 0xff; // last CRC byte of block 1
    const r = readAlertBuffer(file, 'crc.avro');
    expect(r.errors.map((e) => [e.reason, e.index])).toEqual([['corrupt', b.first]]);
    expect(r.errors[0].message).toMatch(/CRC32/);
    expect(r.alerts.map((a) => a.index)).toEqual(records.map((_, i) => i).filter((i) => i < b.first || i >= b.first + b.count));
  });
});

describe('faults in a container file', () => {
  const reasons = (r: AlertFile): string[] => r.errors.map((e) => e.reason);

  it('bad magic, unknown codec and a schema that is not JSON are header faults with no records', () => {
    const file = written.null.file;
    const notAvro = Buffer.from(file);
    notAvro[0] = 0x50;
    expect(reasons(readAlertBuffer(notAvro, 'x'))).toEqual(['bad-header']);
    const lz4 = Buffer.from(file.toString('latin1').replace('\x08null', '\x08lz4x'), 'latin1');
    expect(reasons(readAlertBuffer(lz4, 'x'))).toEqual(['unknown-codec']);
    const badSchema = Buffer.from(file.toString('latin1').replace('"fields"', '"fieldz"'), 'latin1');
    expect(reasons(readAlertBuffer(badSchema, 'x'))).toEqual(['bad-header']);
    const badJson = Buffer.from(file.toString('latin1').replace('"fields"', '"fields{'), 'latin1');
    expect(reasons(readAlertBuffer(badJson, 'x'))).toEqual(['bad-header']);
    expect(reasons(readAlertBuffer(file.subarray(0, 30), 'x'))).toEqual(['truncated']);
  });

  it('a metadata length that is no long (over 10 varint bytes) or negative is a bad header, not a truncation', () => {
    const magic = Buffer.from('Obj\x01', 'latin1');
    const tooLong = readAlertBuffer(Buffer.concat([magic, Buffer.from([2]), Buffer.alloc(11, 0x80), Buffer.from([1]), written.null.file]), 'x');
    expect(tooLong.errors.map((e) => [e.reason, e.message.replace(/.*: /, '')])).toEqual([['bad-header', 'the metadata map has a malformed length before byte 15']]);
    const negative = readAlertBuffer(Buffer.concat([magic, Buffer.from([2, 3]), written.null.file]), 'x');
    expect(reasons(negative)).toEqual(['bad-header']);
  });

  it('a damaged sync marker after a whole block keeps its records; a wrong block size keeps what decodes and goes on at the next marker', () => {
    const blocks = blockLayout(written.null.file);
    const marker = Buffer.from(written.null.file);
    marker[blocks[0].end - 3] ^= 0x55;
    const r1 = readAlertBuffer(marker, 'marker.avro');
    expect(reasons(r1)).toEqual(['bad-sync']);
    expect(r1.alerts.length).toBe(records.length);

    // Block 1's size varint follows its one-byte count: 8 bytes smaller cuts its last record,
    // 8 bytes larger leaves bytes after it; either way the blocks after it are read.
    for (const delta of [-8, 8]) {
      const size = Buffer.from(written.null.file);
      size[blocks[1].start + 1] += 2 * delta; // zigzag: the varint's low 7 bits hold 2 * size
      const r = readAlertBuffer(size, 'size.avro');
      expect(reasons(r)).toEqual(['bad-sync']);
      const lost = delta < 0 ? 1 : 0;
      expect(r.errors[0].message).toContain(`(${blocks[1].count - lost} of its ${blocks[1].count} records kept)`);
      expect(r.alerts.length).toBe(records.length - lost);
      for (const a of r.alerts) expect(records.some((w) => Buffer.from(w.bytes).equals(Buffer.from(a.bytes)))).toBe(true);
      const last = blocks.at(-1)!;
      r.alerts.slice(-last.count).forEach((a, i) => expect(a.id).toBe(records[last.first + i].id));
    }
  });

  it('names the file, the record index and the schema in each message', () => {
    const file = written.null.file;
    const r = readAlertBuffer(file.subarray(0, file.length - 100), 'night.avro');
    const e = r.errors[0];
    expect(e).toBeInstanceOf(AlertDecodeError);
    expect(e.code).toBe('E_ALERT_DECODE');
    expect(e.reason).toBe('truncated');
    expect(e.message).toContain('night.avro record 7 (schema ztf.alert)');
    expect(r.alerts.length).toBe(7);
  });
});

describe('random damage (property)', () => {
  /** Records of `clean` that lie wholly before byte `p` of the file (their whole block for compressed codecs). */
  function before(codec: Codec, p: number): AlertView[] {
    const { file, clean } = written[codec];
    if (codec === 'null') return clean.alerts.filter((a) => a.bytes.byteOffset - file.byteOffset + a.bytes.length <= p);
    const whole = blockLayout(file).filter((b) => b.end <= p);
    const n = whole.reduce((sum, b) => sum + b.count, 0);
    return clean.alerts.slice(0, n);
  }

  function checkKept(got: AlertFile, want: AlertView[]): void {
    for (const e of got.errors) expect(e).toBeInstanceOf(AlertDecodeError);
    expect(got.alerts.length).toBeGreaterThanOrEqual(want.length);
    want.forEach((w, i) => sameRecord(got.alerts[i], w));
  }

  it.each(CODECS)('%s: truncation anywhere keeps every record before the cut and reports the cut', (codec) => {
    const { file } = written[codec];
    const ends = new Set(blockLayout(file).map((b) => b.end));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: file.length - 1 }), (p) => {
        const got = readAlertBuffer(file.subarray(0, p), 'cut.avro');
        checkKept(got, before(codec, p));
        if (!ends.has(p)) expect(got.errors.length).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
  });

  it.each(CODECS)('%s: corrupt bytes never throw, and every record before the damage is kept', (codec) => {
    const { file } = written[codec];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: file.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 1, max: 8 }), (p, xor, run) => {
        const bad = Buffer.from(file);
        for (let i = p; i < Math.min(bad.length, p + run); i++) bad[i] ^= xor;
        const got = readAlertBuffer(bad, 'bad.avro');
        checkKept(got, before(codec, p));
        for (const a of got.alerts) void a.points; // building the light curve of a damaged record never throws
      }),
      { numRuns: 150 },
    );
  });
});
