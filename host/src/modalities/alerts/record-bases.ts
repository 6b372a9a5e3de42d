import { assert } from '../../core/assert.js';
import type { WriterSchema } from './avro/schema.js';

/**
 * How a record's writer schema reaches the decoder. A source points a slot at a record's bytes
 * inside a *base*: the buffer one container file (codec null) or one decompressed block holds
 * its records in, all written with the file's one schema. The source registers each base once
 * at load with that schema and the records' start offsets; the decoder looks the base up from
 * `slot.raw`. Nothing is written per frame (a per-slot side table would be, and a slot reused
 * by a source that forgot to write it would decode with a stale schema: here a slot always
 * points at the bytes it decodes, and those know their schema). Keyed weakly: a base that no
 * source holds any more goes with its file.
 */
export interface RecordBase {
  schema: WriterSchema;
  /** The file (or stream) the records came from, for error messages and `AlertView.source`. */
  source: string;
  /** Byte offset of each record in the base, ascending, and its index in the file. */
  starts: Int32Array;
  indexes: Int32Array;
}

const bases = new WeakMap<Uint8Array, RecordBase>();

/** Registers `base` (a Buffer holding records of one schema). Load time, not per frame. */
export function registerRecordBase(base: Uint8Array, info: RecordBase): void {
  assert(info.starts.length === info.indexes.length, 'one file index per record start');
  bases.set(base, info);
}

/** The registration of `raw` (a slot's `raw`), or undefined when no alerts source registered it. */
export function recordBase(raw: Uint8Array): RecordBase | undefined {
  return bases.get(raw);
}

/** The file index of the record starting at `offset` in `b`, or -1 when none starts there (binary search). */
export function recordIndexAt(b: RecordBase, offset: number): number {
  let lo = 0;
  let hi = b.starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const s = b.starts[mid];
    if (s === offset) return b.indexes[mid];
    if (s < offset) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
