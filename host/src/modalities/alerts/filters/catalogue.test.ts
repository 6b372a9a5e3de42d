import { join } from 'node:path';
import type avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { ALERTS_DIR, avroFiles } from '../../../../../test/support/alerts.js';
import { readAlertFile } from '../avro/container.js';
import { compileWriterSchema } from '../avro/schema.js';
import type { AlertView } from '../types.js';
import { SchemaRegistry } from '../avro/registry.js';
import { FieldCatalogue, registryCatalogues, type FieldKind } from './catalogue.js';
import { rubinSchemaJson, ztfSchemaJson } from './testing.js';

// The catalogue is our own walk of the schema JSON; these tests hold it against avsc's parser
// (the same schema, parsed by the library) and against AlertView.field on real packets.

/** Every path of an avsc type, with the kind the catalogue should give it. */
function avscPaths(type: avro.Type, path: string, nullable: boolean, out: Map<string, { kind: FieldKind; nullable: boolean }>): void {
  const t = type as avro.Type & { typeName: string; types?: avro.Type[]; fields?: Array<{ name: string; type: avro.Type }>; itemsType?: avro.Type };
  if (t.typeName.startsWith('union')) {
    const branches = t.types!.filter((b) => (b as { typeName: string }).typeName !== 'null');
    if (branches.length === 1) return avscPaths(branches[0], path, true, out);
    return void out.set(path, { kind: 'union', nullable: true });
  }
  const kinds: Record<string, FieldKind> = { int: 'number', long: 'number', float: 'number', double: 'number', string: 'string', enum: 'string', boolean: 'boolean', bytes: 'bytes', fixed: 'bytes', map: 'map', array: 'array', record: 'record', null: 'null' };
  const kind = kinds[t.typeName.replace(/^abstract:/, '')];
  if (path !== '') out.set(path, { kind, nullable });
  if (t.typeName === 'record') for (const f of t.fields!) avscPaths(f.type, path === '' ? f.name : `${path}.${f.name}`, false, out);
  if (t.typeName === 'array') avscPaths(t.itemsType!, `${path}.#`, true, out);
}

function catalogueAsMap(c: FieldCatalogue): Map<string, { kind: FieldKind; nullable: boolean }> {
  return new Map([...c.fields.values()].map((f) => [f.path, { kind: f.kind, nullable: f.nullable }]));
}

const SCHEMAS = [
  { json: () => ztfSchemaJson(), name: 'ztf.alert' },
  { json: () => rubinSchemaJson(9), name: 'lsst.v9_0.alert' },
  { json: () => rubinSchemaJson(10), name: 'lsst.v10_0.alert' },
  { json: () => rubinSchemaJson(11), name: 'lsst.v11_0.alert' },
];

describe('field catalogue', () => {
  it.each(SCHEMAS)('lists the paths of $name that avsc finds in it', ({ json: load, name }) => {
    const json = load();
    const cat = FieldCatalogue.fromSchema(json, name);
    expect(cat.name).toBe(name);
    const expected = new Map<string, { kind: FieldKind; nullable: boolean }>();
    avscPaths(compileWriterSchema(json).type, '', false, expected);
    expect(catalogueAsMap(cat)).toEqual(expected);
    expect(cat.fields.size).toBeGreaterThan(100);
  });

  it('resolves bare names inside candidate (ZTF) and diaSource (Rubin), array items by index', () => {
    const ztf = FieldCatalogue.fromSchema(ztfSchemaJson(), 'ztf');
    const rubin = FieldCatalogue.fromSchema(rubinSchemaJson(9), 'rubin');
    expect(ztf.resolve('drb')).toEqual({ path: 'candidate.drb', kind: 'number', nullable: true });
    expect(ztf.resolve('objectId')?.kind).toBe('string');
    expect(ztf.resolve('prv_candidates.3.magpsf')).toEqual({ path: 'prv_candidates.#.magpsf', kind: 'number', nullable: true });
    expect(rubin.resolve('snr')?.path).toBe('diaSource.snr');
    expect(rubin.resolve('drb')).toBeUndefined();
    expect(ztf.closeMatches('magpfs')).toContain('candidate.magpsf');
  });

  it('gives one catalogue per registered schema', () => {
    const registry = new SchemaRegistry();
    registry.loadRubin(join(ALERTS_DIR, 'rubin-schemas'));
    registry.loadZtf(join(ALERTS_DIR, 'ztf-avro-alert', 'schema'));
    expect(registryCatalogues(registry).map((c) => c.name)).toEqual(['ztf.alert', 'lsst.v9_0.alert', 'lsst.v10_0.alert', 'lsst.v11_0.alert']);
  });

  it('names what is wrong with a schema', () => {
    expect(() => FieldCatalogue.fromSchema({ type: 'record', name: 'r', fields: [{ name: 'x', type: 'nope' }] }, 'here')).toThrow(/field x names the type nope/);
    expect(() => FieldCatalogue.fromSchema('string', 'here')).toThrow(/not an Avro record/);
  });
});

/** A few records of every real packet folder (ZTF 3.2/3.3/4.02 and Fink's, Rubin 9.0, the Rubin samples). */
function realAlerts(): AlertView[] {
  const byFolder = new Map<string, string[]>();
  for (const f of avroFiles(ALERTS_DIR)) {
    const folder = f.slice(0, f.lastIndexOf('/'));
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), f]);
  }
  return [...byFolder.values()].flatMap((files) => files.slice(0, 3).flatMap((f) => readAlertFile(f).alerts.slice(0, 4)));
}

function kindOf(v: unknown): FieldKind {
  if (typeof v === 'number' || typeof v === 'bigint') return 'number';
  if (typeof v === 'string' || typeof v === 'boolean') return typeof v as FieldKind;
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'array';
  return v === null ? 'null' : 'record';
}

describe('field catalogue against AlertView.field on real packets', () => {
  it('every path of a packet schema reads from the packet with the kind the catalogue gives', () => {
    const alerts = realAlerts();
    const surveys = new Set(alerts.map((a) => a.survey));
    expect(surveys).toEqual(new Set(['ztf', 'rubin']));
    let checked = 0;
    for (const a of alerts) {
      const cat = FieldCatalogue.fromSchema(a.schema.json, a.source);
      for (const f of cat.fields.values()) {
        if (f.path.includes('#') || f.kind === 'map' || f.kind === 'union') continue;
        const v = a.field(f.path);
        const where = `${a.source} #${a.index} ${f.path}`;
        expect(v, where).not.toBeUndefined();
        if (v === null) expect(f.nullable || f.path.includes('.'), where).toBe(true);
        else expect(kindOf(v), where).toBe(f.kind);
        checked++;
      }
      // A bare name of the inner record resolves to the same value the view gives it.
      const inner = a.survey === 'ztf' ? 'candidate' : 'diaSource';
      for (const f of cat.fields.values()) {
        if (!f.path.startsWith(`${inner}.`) || f.path.split('.').length !== 2) continue;
        const bare = f.path.slice(inner.length + 1);
        const r = cat.resolve(bare)!;
        expect(a.field(bare), `${a.source} ${bare}`).toEqual(a.field(r.path));
      }
    }
    expect(checked).toBeGreaterThan(2_000);
  });
});
