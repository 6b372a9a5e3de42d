import avro from 'avsc';
import { limits } from '../../../core/limits.js';
import { typeHook } from './read-types.js';
import type { AlertSchemaInfo, Survey } from '../types.js';

/**
 * Writer schemas compiled once with avsc, the Avro library the JS ecosystem uses (records
 * decode through generated code, several times faster than a hand-written reader):
 * longs as bigint, bytes as views into the packet, and the union defaults real ZTF packets
 * carry that avsc refuses, dropped.
 */

/** A compiled writer schema: the avsc type every record of it is decoded with. */
export interface WriterSchema {
  /** Decodes and encodes records; longs are bigint, bytes are views. */
  readonly type: avro.Type;
  /** Which survey's layout the top-level record follows. */
  readonly survey: Survey;
  /** Id (null until a registry matches it), name, version and the sanitised JSON. */
  readonly info: AlertSchemaInfo;
  /** SHA-256 of the schema's Parsing Canonical Form, hex: equal for schemas that encode alike. */
  readonly fingerprint: string;
}

/**
 * A copy of `schema` without the union defaults that do not match the union's first branch
 * (`["float", "null"]` with default null: ZTF 3.x and some Fink packets). avsc refuses them;
 * for a writer schema a default is never read, and reordering the branches instead would
 * change the encoding. Only defaults that are null where the first branch is not, or not null
 * where it is, are dropped.
 */
export function sanitizeWriterSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(sanitizeWriterSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) out[key] = key === 'default' ? value : sanitizeWriterSchema(value);
  if ('type' in out && Array.isArray(out.type) && 'default' in out && 'name' in out) {
    const first = out.type[0];
    const firstIsNull = first === 'null' || (typeof first === 'object' && first !== null && (first as { type?: unknown }).type === 'null');
    if (firstIsNull !== (out.default === null)) delete out.default;
  }
  return out;
}

/** Which survey a top-level record's fields say it is: `candidate` (ZTF) or `diaSource` (Rubin). */
function surveyOf(json: unknown): Survey {
  const fields = (json as { fields?: { name: string }[] }).fields ?? [];
  const names = new Set(fields.map((f) => f.name));
  if (names.has('candidate') && names.has('objectId')) return 'ztf';
  if (names.has('diaSource')) return 'rubin';
  return 'other';
}

/** The schema's version: ZTF's `version` attribute, Rubin's from its name (`lsst.v9_0.alert`). */
function versionOf(json: unknown, name: string): string | null {
  const stated = (json as { version?: unknown }).version;
  if (typeof stated === 'string') return stated;
  const rubin = /^lsst\.v(\d+)_(\d+)\./.exec(name);
  return rubin === null ? null : `${rubin[1]}.${rubin[2]}`;
}

/**
 * Compiles a writer schema (JSON value) with the alert options. Throws avsc's Error when the
 * schema is not valid Avro even after sanitising; callers wrap it in an AlertDecodeError.
 */
export function compileWriterSchema(schema: unknown, id: number | null = null): WriterSchema {
  const json = sanitizeWriterSchema(schema);
  const type = avro.Type.forSchema(json as avro.Schema, { typeHook, wrapUnions: false });
  const name = type.name ?? String((json as { name?: unknown }).name ?? 'anonymous');
  return {
    type,
    survey: surveyOf(json),
    info: { id, name, version: versionOf(json, name), json },
    fingerprint: type.fingerprint('sha256').toString('hex'),
  };
}

// Compiled schemas by the exact bytes of their JSON: every file of a night carries the same
// header, so it is compiled once. Matched by length and memcmp, not through a string: turning
// 20 kB of header into a string and hashing it cost a tenth of a ZTF packet's decode.
// Bounded by `limits.alertSchemasMax` (oldest dropped first).
const cache: { bytes: Buffer; schema: WriterSchema }[] = [];

/** The compiled schema for a container header's `avro.schema` bytes (UTF-8 JSON), from the
 * cache when seen before; throws SyntaxError or avsc's Error when it does not compile. */
export function writerSchemaFromBytes(bytes: Uint8Array): WriterSchema {
  for (const e of cache) if (e.bytes.length === bytes.length && e.bytes.equals(bytes)) return e.schema;
  const schema = compileWriterSchema(JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')));
  if (cache.length >= limits.alertSchemasMax) cache.shift();
  cache.push({ bytes: Buffer.from(bytes), schema });
  return schema;
}
