import { assert } from '../core/assert.js';
import { limits } from '../core/limits.js';
import type { TriggerEvent } from '../metrics/snapshot.js';

/**
 * The hand-over between the hot path and everything that reports triggers. The emit stage
 * `push`es into preallocated columns (no allocation); one reader (`TriggerLog`) drains new
 * records off the hot path. If the reader falls a whole ring behind, the oldest unread
 * records are overwritten and `overflows` counts them (policy: drop-oldest).
 */
export class TriggerRing {
  readonly capacity: number;
  private readonly seq: Float64Array;
  private readonly cls: Int16Array;
  private readonly truth: Int16Array;
  private readonly score: Float32Array;
  private readonly ingestNs: Float64Array;
  private readonly e2eUs: Float32Array;
  /** Records ever pushed; the write index is `written % capacity`. */
  written = 0;
  private read = 0;
  overflows = 0;

  constructor(capacity: number = limits.triggerRingSlotsMax) {
    assert(capacity > 0 && capacity <= limits.triggerRingSlotsMax, 'trigger ring capacity within limits');
    this.capacity = capacity;
    this.seq = new Float64Array(capacity);
    this.cls = new Int16Array(capacity);
    this.truth = new Int16Array(capacity);
    this.score = new Float32Array(capacity);
    this.ingestNs = new Float64Array(capacity);
    this.e2eUs = new Float32Array(capacity);
  }

  /** Records one trigger. Hot path: never allocates. */
  push(seq: number, cls: number, truth: number, score: number, ingestNs: number, e2eUs: number): void {
    const i = this.written % this.capacity;
    this.seq[i] = seq;
    this.cls[i] = cls;
    this.truth[i] = truth;
    this.score[i] = score;
    this.ingestNs[i] = ingestNs;
    this.e2eUs[i] = e2eUs;
    this.written++;
  }

  /** Returns the records pushed since the last drain, oldest first (allocates: off path). */
  drain(labels: readonly string[]): TriggerEvent[] {
    this.skipOverwritten();
    const out: TriggerEvent[] = [];
    for (; this.read < this.written; this.read++) {
      const i = this.read % this.capacity;
      out.push({
        seq: this.seq[i],
        cls: this.cls[i],
        label: labels[this.cls[i]] ?? String(this.cls[i]),
        truth: this.truth[i],
        score: this.score[i],
        ingestNs: this.ingestNs[i],
        e2eUs: this.e2eUs[i],
      });
    }
    return out;
  }

  /** Marks the records pushed since the last drain as read without building them; returns how many. */
  discard(): number {
    this.skipOverwritten();
    const n = this.written - this.read;
    this.read = this.written;
    return n;
  }

  /** Records overwritten before they were read count as overflows; reading resumes at the oldest kept. */
  private skipOverwritten(): void {
    if (this.written - this.read > this.capacity) {
      this.overflows += this.written - this.read - this.capacity;
      this.read = this.written - this.capacity;
    }
  }
}
