import { assert } from '../core/assert.js';
import { isOperatingError } from '../core/errors.js';
import type { FrameSlot } from '../core/frame.js';
import { limits } from '../core/limits.js';
import type { FrameDetail } from '../codecs/frame-detail.js';
import type { TriggerEvent } from '../metrics/snapshot.js';
import type { TriggerDetail, TriggerView } from '../server/api-types.js';
import { copyBytesFn } from '../native/addon.js';

/**
 * The frames of the last `capacity` triggers (and missed triggers), kept for the detail view
 * (`GET /api/triggers/:run/:seq`) after their frame slots are reused. The emit stage `push`es
 * each firing slot: the part its modality keeps (`FrameDetail.keeps`: raw bytes or the
 * model's input) is copied into one preallocated column, sized at start-up from the largest
 * frame, so the hot path allocates nothing. The trigger records come off the hot path (`record`,
 * a subscriber of the trigger log); `find` pairs a record with its kept frame and builds the
 * modality's view on request. Policy at the bound: drop-oldest (the newest `capacity` are kept).
 */
export class TriggerDetailRing {
  readonly capacity: number;
  private readonly detail: FrameDetail | null;
  private readonly sizeMax: number;
  private readonly bytes: Uint8Array | null;
  private readonly floats: Float32Array | null;
  private readonly seq: Float64Array;
  /** Bytes or elements kept per slot; -1: the frame was larger than `sizeMax` and not kept. */
  private readonly length: Int32Array;
  private readonly contexts: unknown[];
  private readonly events: Array<TriggerEvent | null>;
  private eventsWritten = 0;
  private readonly copyBytes = copyBytesFn();
  /** Frames pushed since start. */
  written = 0;
  /** Frames too large to keep (`sizeMax`); their view says so. */
  tooLarge = 0;

  /** `detail` null: a modality that keeps nothing (the views are `none`). */
  constructor(detail: FrameDetail | null, capacity: number = limits.triggerDetailsMax) {
    assert(capacity > 0 && capacity <= limits.triggerDetailsMax, 'trigger detail capacity within limits');
    this.capacity = capacity;
    this.detail = detail;
    this.sizeMax = detail?.sizeMax ?? 0;
    assert(this.sizeMax >= 0 && this.sizeMax <= Math.max(limits.triggerDetailFrameBytesMax, limits.modelInputElementsMax), 'detail frame size within limits');
    this.bytes = detail?.keeps === 'raw' ? new Uint8Array(capacity * this.sizeMax) : null;
    this.floats = detail?.keeps === 'input' ? new Float32Array(capacity * this.sizeMax) : null;
    this.seq = new Float64Array(capacity).fill(-1);
    this.length = new Int32Array(capacity);
    this.contexts = new Array<unknown>(capacity).fill(null);
    this.events = new Array<TriggerEvent | null>(capacity).fill(null);
  }

  /**
   * Keeps what the modality shows of `slot` (a frame that fired or was missed). Hot path:
   * never allocates. Raw bytes are copied by the addon's memmove (`copyBytesFn`):
   * `TypedArray.set` needs a view of the span (`raw.subarray(..)`, an object per trigger) and a
   * byte loop costs 2-3 ns a byte (bench/trigger-details.ts).
   */
  push(slot: FrameSlot): void {
    const i = this.written % this.capacity;
    this.seq[i] = slot.seq;
    this.written++;
    const d = this.detail;
    if (d === null) return;
    this.contexts[i] = d.context === undefined ? null : d.context(slot);
    const at = i * this.sizeMax;
    if (this.floats !== null) {
      const x = slot.input;
      if (x.length > this.sizeMax) return this.skip(i);
      this.floats.set(x, at);
      this.length[i] = x.length;
      return;
    }
    const n = slot.rawLength;
    if (n > this.sizeMax) return this.skip(i);
    this.copyBytes(this.bytes!, at, slot.raw, slot.rawOffset, n);
    this.length[i] = n;
  }

  private skip(i: number): void {
    this.length[i] = -1;
    this.tooLarge++;
  }

  /** Keeps the newest `capacity` trigger records (a trigger log subscriber, off the hot path). */
  record(events: readonly TriggerEvent[]): void {
    for (const e of events) this.events[this.eventsWritten++ % this.capacity] = e;
  }

  /**
   * The record of `seq` in `run` and its frame's view, built now; null when the record or its
   * frame is no longer kept (or never was: a seq that did not fire). A view that cannot be
   * built (an alert whose stamp does not decode) is `none` with the error's message.
   */
  find(run: string, seq: number): TriggerDetail | null {
    const event = this.newest(this.events, this.eventsWritten, (e) => e !== null && e.run === run && e.seq === seq);
    if (event === null) return null;
    const i = this.slotOf(seq);
    if (i < 0) return null;
    return { event, view: this.view(i, event) };
  }

  private view(i: number, event: TriggerEvent): TriggerView {
    const d = this.detail;
    if (d === null) return { kind: 'none', reason: `stream ${event.stream}: its modality keeps no frame for the detail view` };
    const n = this.length[i];
    if (n < 0) return { kind: 'none', reason: `the frame was larger than the ${this.sizeMax} ${d.keeps === 'raw' ? 'bytes' : 'elements'} the detail ring keeps of one frame` };
    const at = i * this.sizeMax;
    const kept = this.floats !== null ? this.floats.subarray(at, at + n) : this.bytes!.subarray(at, at + n);
    try {
      return d.view(kept, this.contexts[i], event);
    } catch (err) {
      if (!isOperatingError(err)) throw err;
      return { kind: 'none', reason: err.message };
    }
  }

  /** The ring index holding `seq`'s frame, newest first; -1 once it was overwritten. */
  private slotOf(seq: number): number {
    const kept = Math.min(this.written, this.capacity);
    for (let k = 1; k <= kept; k++) {
      const i = (this.written - k) % this.capacity;
      if (this.seq[i] === seq) return i;
    }
    return -1;
  }

  /** The newest of the last `written` entries of ring `items` that `match`es, or null. */
  private newest<T>(items: ReadonlyArray<T | null>, written: number, match: (x: T | null) => boolean): T | null {
    const kept = Math.min(written, this.capacity);
    for (let k = 1; k <= kept; k++) {
      const x = items[(written - k) % this.capacity];
      if (match(x)) return x;
    }
    return null;
  }
}
