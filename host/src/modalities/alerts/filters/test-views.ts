import avro from 'avsc';
import type { AlertView } from '../types.js';
import { DEFAULT_RECORDS } from './catalogue.js';

/**
 * Test support (nothing in the daemon imports it): AlertViews made in a test from a schema and
 * a value with avsc, for the filter and topic tests that do not read real packets.
 */

/** avsc's long as bigint, as the alert decoder delivers longs (ZTF and Rubin ids pass 2^53). */
export const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (v: unknown) => BigInt(v as string),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

/** An avsc type for `schema` with longs as bigint. */
export function bigintType(schema: unknown): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { registry: { long: bigintLong } as never, wrapUnions: false });
}

/** The value at a dotted path of a decoded record, by the rule AlertView.field documents. */
function lookup(value: Record<string, unknown>, path: string): unknown {
  const parts = path.split('.');
  let cur: unknown = value;
  if (!(parts[0] in value)) {
    const rec = DEFAULT_RECORDS.find((r) => r in value);
    if (rec === undefined) return undefined;
    cur = value[rec];
  }
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object' || !(p in (cur as object))) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** An AlertView of `value` encoded with `schema` (bytes are the real encoding; `field` reads the decoded record). */
export function testAlert(schema: Record<string, unknown>, value: Record<string, unknown>, opts: { id?: bigint; objectId?: string; jd?: number; index?: number } = {}): AlertView {
  const type = bigintType(schema);
  const bytes = new Uint8Array(type.toBuffer(value));
  const decoded = type.fromBuffer(Buffer.from(bytes)) as Record<string, unknown>;
  return {
    survey: 'other',
    schema: { id: null, name: String(schema.name), version: null, json: schema },
    id: opts.id ?? 1n,
    objectId: opts.objectId ?? 'obj1',
    jd: opts.jd ?? 2460000.5,
    cutouts: { science: null, template: null, difference: null },
    points: { count: 0, jd: new Float64Array(0), band: new Uint8Array(0), flux: new Float32Array(0), fluxErr: new Float32Array(0), upperLimit: new Uint8Array(0) },
    bytes,
    source: 'test',
    index: opts.index ?? 0,
    field: (path) => lookup(decoded, path),
    value: decoded,
  };
}
