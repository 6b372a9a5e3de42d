import avro from 'avsc';

/**
 * The avsc types alert schemas are compiled with (through avsc's `typeHook`): longs as bigint,
 * bytes as views, arrays with a bounded count, and nullable primitive unions (`["float",
 * "null"]`, nine in ten fields of a ZTF packet) read without avsc's generic union dispatch.
 * Each overrides only `_read`; writing (topic writers, avsc's BlockEncoder) is avsc's own.
 */

/** avsc's internal read cursor (not in its type declarations). */
interface Tap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  readFloat(): number;
  readDouble(): number;
  readString(): string | undefined;
  readBoolean(): boolean;
  _invalidate(): void;
}

const LongType = avro.types.LongType;

/** Longs as bigint: ZTF 4.02 and Rubin ids exceed 2^53, and a number would lose digits. */
const bigLongBase = LongType.__with({
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
 * A zigzag varint long as bigint. avsc's `__with` long unpacks every value into a fresh
 * 8-byte Buffer first; this reads up to 49 bits in double arithmetic (exact) and only the
 * rare longer ids through BigInt shifts.
 */
function readBigLong(tap: Tap): bigint {
  const buf = tap.buf;
  let pos = tap.pos;
  let b = buf[pos++];
  let n = b & 0x7f;
  let scale = 128;
  while (b & 0x80 && scale < 2 ** 49) {
    b = buf[pos++];
    n += (b & 0x7f) * scale;
    scale *= 128;
  }
  if (b & 0x80) {
    let big = BigInt(n);
    let shift = 49n;
    do {
      b = buf[pos++];
      big |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80 && shift < 70n);
    tap.pos = pos;
    return (big >> 1n) ^ -(big & 1n);
  }
  tap.pos = pos;
  return BigInt(n % 2 === 0 ? n / 2 : -(n + 1) / 2);
}

// The __with type with our reader: an object that inherits every other method (writing,
// validation, JSON) from it. avsc exports no class to extend for abstract longs.
const bigLong = Object.create(bigLongBase, { _read: { value: readBigLong } }) as avro.Type;

/** Bytes as views into the buffer being decoded: avsc copies every bytes value (its Tap
 * `readFixed`), and a ZTF packet carries ~60 kB of cutouts. The view shares the packet's
 * memory, so it lives as long as the packet buffer does. */
function readViewBytes(tap: Tap): Buffer | undefined {
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

class ViewBytesType extends avro.types.BytesType {
  _read(tap: Tap): Buffer | undefined {
    return readViewBytes(tap);
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

/** A union branch index that is neither branch: corrupt data (avsc's own message). */
function badBranch(index: number): never {
  throw new Error(`invalid union index: ${index}`);
}

// One class per primitive and null position, each with its own `_read` (so every call site
// stays monomorphic: avsc's generic union read dispatches through one megamorphic call).
// avsc freezes union instances in their constructor, hence classes rather than fields.
const NULLABLE = {
  'float/1': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 0 ? t.readFloat() : i === 1 ? null : badBranch(i); } },
  'float/0': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 1 ? t.readFloat() : i === 0 ? null : badBranch(i); } },
  'double/1': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 0 ? t.readDouble() : i === 1 ? null : badBranch(i); } },
  'double/0': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 1 ? t.readDouble() : i === 0 ? null : badBranch(i); } },
  'int/1': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 0 ? t.readLong() : i === 1 ? null : badBranch(i); } },
  'int/0': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 1 ? t.readLong() : i === 0 ? null : badBranch(i); } },
  'long/1': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 0 ? readBigLong(t) : i === 1 ? null : badBranch(i); } },
  'long/0': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 1 ? readBigLong(t) : i === 0 ? null : badBranch(i); } },
  'string/1': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 0 ? t.readString() : i === 1 ? null : badBranch(i); } },
  'string/0': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 1 ? t.readString() : i === 0 ? null : badBranch(i); } },
  'boolean/1': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 0 ? t.readBoolean() : i === 1 ? null : badBranch(i); } },
  'boolean/0': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 1 ? t.readBoolean() : i === 0 ? null : badBranch(i); } },
  'bytes/1': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 0 ? readViewBytes(t) : i === 1 ? null : badBranch(i); } },
  'bytes/0': class extends avro.types.UnwrappedUnionType { _read(t: Tap) { const i = t.readLong(); return i === 1 ? readViewBytes(t) : i === 0 ? null : badBranch(i); } },
} as const;

type SchemaNode = string | SchemaNode[] | { [key: string]: unknown };

/** The primitive a union branch is (`"float"` or `{"type": "float"}` without a logical type), else null. */
function primitiveOf(node: SchemaNode): string | null {
  if (typeof node === 'string') return node;
  if (Array.isArray(node) || 'logicalType' in node || typeof node.type !== 'string') return null;
  return node.type;
}

/** Our class for a two-branch union of null and a primitive, or undefined (avsc's own). */
function nullableUnion(branches: SchemaNode[], opts: avro.ForSchemaOptions): avro.Type | undefined {
  if (branches.length !== 2) return undefined;
  const at = branches.findIndex((b) => primitiveOf(b) === 'null');
  if (at < 0) return undefined;
  const key = `${primitiveOf(branches[1 - at])}/${at}` as keyof typeof NULLABLE;
  const Ctor = NULLABLE[key];
  return Ctor === undefined ? undefined : new Ctor(branches as never, opts);
}

const viewBytes = new ViewBytesType();

/** avsc's `typeHook`: our type for `schema` where we have one, undefined for avsc's own. */
export function typeHook(schema: avro.Schema, opts: avro.ForSchemaOptions): avro.Type | undefined {
  const node = schema as SchemaNode;
  if (Array.isArray(node)) return nullableUnion(node, opts);
  const kind = typeof node === 'string' ? node : node.type;
  if (kind === 'long') return bigLong;
  if (kind === 'bytes' && primitiveOf(node) === 'bytes') return viewBytes;
  if (kind === 'array' && typeof node === 'object') return new BoundedArrayType(node as never, opts as never);
  return undefined;
}
