import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALERTS_DIR, avroFiles } from '../../../../../test/support/alerts.js';
import { AlertDecodeError, ConfigError } from '../../../core/errors.js';
import { limits } from '../../../core/limits.js';
import { decodeConfluent, frameConfluent } from './confluent.js';
import { readAlertFile } from './container.js';
import { SchemaRegistry } from './registry.js';

const RUBIN_SCHEMAS = join(ALERTS_DIR, 'rubin-schemas');
const ZTF_SCHEMAS = join(ALERTS_DIR, 'ztf-avro-alert', 'schema');

function registry(): SchemaRegistry {
  const r = new SchemaRegistry();
  r.loadRubin(RUBIN_SCHEMAS);
  r.loadZtf(ZTF_SCHEMAS);
  return r;
}

const reg = registry();
const sample = (major: string) => readAlertFile(join(RUBIN_SCHEMAS, major, '0', 'sample_data', 'fakeAlert.avro')).alerts[0];

describe('SchemaRegistry', () => {
  it('loads Rubin 9.0, 10.0, 11.0 as major*100+minor and ZTF 4.02 as 402, from the published folders', () => {
    expect(reg.ids()).toEqual([402, 900, 1000, 1100]);
    expect(reg.get(900)!.info).toMatchObject({ id: 900, name: 'lsst.v9_0.alert', version: '9.0' });
    expect(reg.get(1100)!.info).toMatchObject({ id: 1100, name: 'lsst.v11_0.alert', version: '11.0' });
    expect(reg.get(402)!.info).toMatchObject({ id: 402, name: 'ztf.alert', version: '4.02' });
    // The schema is self-contained: the named types of the other files are inlined.
    const text = JSON.stringify(reg.get(900)!.info.json);
    expect(text).toContain('"name":"diaSource"');
    expect(text).toContain('"name":"diaForcedSource"');
    expect(readFileSync(join(RUBIN_SCHEMAS, 'latest.txt'), 'utf8').trim()).toBe('11.0');
  });

  it('gives a container file the id of the registered schema its header matches, null for others', () => {
    for (const [major, id] of [['9', 900], ['10', 1000], ['11', 1100]] as const) {
      const r = readAlertFile(join(RUBIN_SCHEMAS, major, '0', 'sample_data', 'fakeAlert.avro'), reg);
      expect(r.schema!.id).toBe(id);
      expect(r.alerts[0].schema.id).toBe(id);
    }
    for (const dir of ['ztf-3.3-2020-01', 'ztf-4.02-2023-10', 'rubin-9.0-2025-09']) {
      const r = readAlertFile(avroFiles(join(ALERTS_DIR, dir))[0], reg);
      expect(r.errors).toEqual([]);
      expect(r.alerts[0].schema.id, dir).toBeNull();
    }
  });

  it('refuses a folder without the top-level schema, and more schemas than limits.alertSchemasMax', () => {
    expect(() => new SchemaRegistry().loadFolder(ZTF_SCHEMAS, 'lsst.v9_0.alert', 900)).toThrow(AlertDecodeError);
    const r = new SchemaRegistry();
    const tiny = { type: 'record', name: 'tiny', fields: [{ name: 'id', type: 'long' }] };
    for (let id = 0; id < limits.alertSchemasMax; id++) r.register(id, tiny);
    r.register(0, tiny); // replacing one is fine
    expect(() => r.register(limits.alertSchemasMax, tiny)).toThrow(ConfigError);
  });
});

describe('Confluent wire format', () => {
  it('decodes a bare Rubin 9.0 message (the sample record framed with id 900) as the container file does', () => {
    const a = sample('9');
    const msg = frameConfluent(900, a.bytes);
    expect([...msg.subarray(0, 5)]).toEqual([0, 0, 0, 0x03, 0x84]);
    const v = decodeConfluent(msg, reg, 'lsst-alerts', 17);
    expect(v.survey).toBe('rubin');
    expect(v.schema.id).toBe(900);
    expect(v.id).toBe(a.id);
    expect(v.objectId).toBe(a.objectId);
    expect(v.jd).toBe(a.jd);
    expect(v.index).toBe(17);
    expect(v.source).toBe('lsst-alerts');
    expect(Buffer.from(v.bytes).equals(Buffer.from(a.bytes))).toBe(true);
    expect(v.points).toEqual(a.points);
  });

  it('names the stream, the index and the schema in every fault', () => {
    const msg = frameConfluent(900, sample('9').bytes);
    const fail = (buf: Buffer): AlertDecodeError => {
      try {
        decodeConfluent(buf, reg, 'lsst-alerts', 3);
      } catch (err) {
        expect(err).toBeInstanceOf(AlertDecodeError);
        return err as AlertDecodeError;
      }
      throw new Error('decoded a broken message');
    };
    const unknown = fail(frameConfluent(901, sample('9').bytes));
    expect(unknown.reason).toBe('unknown-schema');
    expect(unknown.message).toContain('lsst-alerts record 3 (schema id 901)');
    expect(unknown.message).toContain('402, 900, 1000, 1100');
    const magic = Buffer.from(msg);
    magic[0] = 1;
    expect(fail(magic).reason).toBe('bad-header');
    expect(fail(msg.subarray(0, 3)).reason).toBe('truncated');
    const cut = fail(msg.subarray(0, msg.length - 10));
    expect(cut.reason).toBe('truncated');
    expect(cut.message).toContain('(schema lsst.v9_0.alert id 900)');
    expect(fail(Buffer.concat([msg, Buffer.from([0])])).reason).toBe('corrupt');
  });

  it('round-trips any id and real record (property)', () => {
    const records = [sample('9'), sample('10'), sample('11')];
    const r = new SchemaRegistry();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 2 }), (id, k) => {
        r.register(id, records[k].schema.json);
        const v = decodeConfluent(frameConfluent(id, records[k].bytes), r, 's');
        expect(v.schema.id).toBe(id);
        expect(v.id).toBe(records[k].id);
        expect(Buffer.from(v.bytes).equals(Buffer.from(records[k].bytes))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('throws nothing but AlertDecodeError for truncated or damaged messages (property)', () => {
    const msg = frameConfluent(1100, sample('11').bytes);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: msg.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.boolean(), (p, xor, cut) => {
        const bad = cut ? msg.subarray(0, p) : Buffer.from(msg);
        if (!cut) bad[p] ^= xor;
        try {
          const v = decodeConfluent(bad, reg, 's');
          void v.points;
        } catch (err) {
          expect(err).toBeInstanceOf(AlertDecodeError);
          if (cut) expect(['truncated', 'corrupt']).toContain((err as AlertDecodeError).reason);
        }
        if (cut) expect(() => decodeConfluent(bad, reg, 's')).toThrow(AlertDecodeError);
      }),
      { numRuns: 300 },
    );
  });
});
