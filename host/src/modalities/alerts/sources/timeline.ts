import { assert } from '../../../core/assert.js';
import type { AlertDecodeError } from '../../../core/errors.js';

/**
 * One alert file as a source loads it: each record's bytes (views, no copy) with its
 * observation time, and the faults met on the way (records that could not be read).
 */
export interface LoadedAlertFile {
  path: string;
  /**
   * Record i's bytes as `base[i]` (a view the loader registered with its writer schema,
   * `record-bases.ts`) and the span `offset[i]`, `length[i]` in it.
   */
  base: readonly Uint8Array[];
  offset: Int32Array;
  length: Int32Array;
  /** Observation time of record i, Julian date (ZTF `candidate.jd`, Rubin `midpointMjdTai` + 2400000.5). */
  jd: Float64Array;
  /** Index of record i in the file (records whose time was unreadable are missing). */
  index: Int32Array;
  errors: AlertDecodeError[];
}

/**
 * Alerts of several files in observation order: position p is the p-th alert by time. Ties
 * (ZTF alerts of one exposure share their jd) keep the files' path order, then the records'
 * order in the file, so a replay is reproducible.
 */
export interface AlertTimeline {
  count: number;
  base: readonly Uint8Array[];
  offset: Int32Array;
  length: Int32Array;
  jd: Float64Array;
  /** Index into `files` and the record's index in that file. */
  file: Int32Array;
  index: Int32Array;
  files: readonly string[];
}

/** Julian date of the Unix epoch. */
const JD_UNIX_EPOCH = 2440587.5;

/** Nanoseconds since the Unix epoch of a Julian date (float64: ~256 ns steps in 2026, finer than a jd holds). */
export function jdToUnixNs(jd: number): number {
  return (jd - JD_UNIX_EPOCH) * 86_400e9;
}

/**
 * Merges `files` into observation order: by jd, ties by file path, then record order. Each
 * file's records are its own order (sorted here, so a file need not be in time order).
 * Allocates: runs at load, off the hot path.
 */
export function buildTimeline(files: readonly LoadedAlertFile[]): AlertTimeline {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  let n = 0;
  for (const f of sorted) n += f.jd.length;
  const jdAll = new Float64Array(n);
  const fileAll = new Int32Array(n);
  const slotAll = new Int32Array(n);
  let p = 0;
  sorted.forEach((f, fi) => {
    assert(f.base.length === f.jd.length && f.offset.length === f.jd.length && f.length.length === f.jd.length && f.index.length === f.jd.length, 'a loaded alert file has one entry per record in each column');
    for (let i = 0; i < f.jd.length; i++, p++) {
      assert(Number.isFinite(f.jd[i]), 'the loader keeps only records with an observation time');
      jdAll[p] = f.jd[i];
      fileAll[p] = fi;
      slotAll[p] = i;
    }
  });
  // Array.prototype.sort is stable (ES2019): equal times keep path, then record order.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => jdAll[a] - jdAll[b]);
  const t: AlertTimeline = {
    count: n,
    base: order.map((q) => sorted[fileAll[q]].base[slotAll[q]]),
    offset: Int32Array.from(order, (q) => sorted[fileAll[q]].offset[slotAll[q]]),
    length: Int32Array.from(order, (q) => sorted[fileAll[q]].length[slotAll[q]]),
    jd: Float64Array.from(order, (q) => jdAll[q]),
    file: Int32Array.from(order, (q) => fileAll[q]),
    index: Int32Array.from(order, (q) => sorted[fileAll[q]].index[slotAll[q]]),
    files: sorted.map((f) => f.path),
  };
  return t;
}
