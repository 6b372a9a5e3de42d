import avro from 'avsc';
import { limits } from '../../../core/limits.js';
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

/** avsc's internal read cursor (not in its type declarations). */
interface Tap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  _invalidate(): void;
}

const LongType = avro.types.LongType;

/** Longs as bigint: ZTF 4.02 and Rubin ids exceed 2^53, and a number would lose digits. */
const bigLong = LongType.__with({
  fromBuffer: (buf: Buffer): bigint => buf.readBigInt64LE(),
  toBuffer: (n: bigint): Buffer => {
    const buf = Buffer.allocUnsafe(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (json: unknown): bigint => BigInt(json as string | number),
  toJSON: (n: bigint): number | string => (Number.isSafeInteger(Number(n)) ? Number(n) : n.toString()),
  isValid: (n: unknown): boolean => typeof n === 'bigint',
  compare: (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0),
});

/**
 * Bytes as views into the buffer being decoded: avsc copies every bytes value (its Tap
 * `readFixed`), and a ZTF packet carries ~60 kB of cutouts. The view shares the packet's
 * memory, so it lives as long as the packet buffer does.
 */
class ViewBytesType extends avro.types.BytesType {
  _read(tap: Tap): Buffer | undefined {
    const len = tap.readLong();
    if (len < 0) {
      tap._invalidate();
      return undefined;
    }
    const start = tap.pos;
    tap.pos += len;
    if (tap.pos > tap.buf.length) return undefined;
    return tap.buf.subarray(start, tap.pos);
  }
}

/** Arrays whose item count is checked against the bytes left: avsc preallocates `new
 * Array(count)` and loops `count` times, so a corrupt count would hang or exhaust memory.
 * Every item of an alert schema encodes in at least one byte. */
class BoundedArrayType extends avro.types.ArrayType {
  _read(tap: Tap): unknown[] {
    const items = (this as unknown as { itemsType: { _read(t: Tap): unknown } }).itemsType;
    const out: unknown[] = [];
    for (let n = tap.readLong(); n !== 0; n = tap.readLong()) {
      if (n < 0) {
        n = -n;
        tap.readLong(); // the batch's byte size, unused
      }
      if (n > tap.buf.length - tap.pos) {
        tap._invalidate();
        return out;
      }
      for (let i = 0; i < n; i++) out.push(items._read(tap));
    }
    return out;
  }
}

const viewBytes = new ViewBytesType();

type SchemaNode = string | SchemaNode[] | { [key: string]: unknown };

/** The type avsc builds for `schema`, ours for longs, bytes and arrays. */
function typeHook(schema: avro.Schema, opts: avro.ForSchemaOptions): avro.Type | undefined {
  const node = schema as SchemaNode;
  const kind = typeof node === 'string' ? node : Array.isArray(node) ? null : node.type;
  if (kind === 'long') return bigLong;
  if (kind === 'bytes' && (typeof node === 'string' || !('logicalType' in node))) return viewBytes;
  if (kind === 'array' && typeof node === 'object' && !Array.isArray(node)) return new BoundedArrayType(node as never, opts as never);
  return undefined;
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

// Compiled schemas by their exact JSON text: every file of a night carries the same header,
// so the text is compiled once. Bounded by `limits.alertSchemasMax` (oldest dropped first).
const byText = new Map<string, WriterSchema>();

/** The compiled schema for a container header's `avro.schema` text, from the cache when seen before. */
export function writerSchemaFromText(text: string): WriterSchema {
  const hit = byText.get(text);
  if (hit !== undefined) return hit;
  const compiled = compileWriterSchema(JSON.parse(text));
  if (byText.size >= limits.alertSchemasMax) byText.delete(byText.keys().next().value as string);
  byText.set(text, compiled);
  return compiled;
}
