import { z } from 'zod';
import { assert } from '../core/assert.js';
import type { Clock } from '../core/clock.js';
import { limits } from '../core/limits.js';
import { ingest, type FrameSink, type TimerScheduler } from './source.js';

/**
 * What an ingress queue does when it is full:
 * - `block`: refuse the frame; the source must stop reading until `onWritable` (files and
 *   durable streams: nothing is lost, the producer waits);
 * - `drop-newest`: refuse the frame and count it (a live sensor: keep what is queued);
 * - `drop-oldest`: evict the oldest queued frames to make room and count them (a live sensor
 *   whose newest frames matter most).
 */
export const ingressPolicySchema = z.enum(['block', 'drop-newest', 'drop-oldest']);
export type IngressPolicy = z.infer<typeof ingressPolicySchema>;

/** The `queue` block of an asynchronous source's config. */
export const ingressConfigSchema = z
  .object({
    policy: ingressPolicySchema,
    /** Frames held at most (default limits.ingressFramesMax). */
    framesMax: z.number().int().min(1).max(limits.ingressFramesMax).default(limits.ingressFramesMax),
    /** Bytes of frame data held at most (default limits.ingressArenaBytesMax). */
    bytesMax: z.number().int().min(1024).max(limits.ingressArenaBytesMax).default(limits.ingressArenaBytesMax),
  })
  .strict();
export type IngressConfig = z.infer<typeof ingressConfigSchema>;

/** Counters of one ingress queue, by policy outcome. */
export interface IngressCounts {
  policy: IngressPolicy;
  /** Frames taken into the queue. */
  accepted: number;
  /** Frames handed to the hot path. */
  delivered: number;
  /** `block`: offers refused because the queue was full (the source then pauses). */
  blocked: number;
  /** `drop-newest`: frames refused; `drop-oldest`: queued frames evicted. */
  droppedNewest: number;
  droppedOldest: number;
  /** Frames larger than the whole arena: refused under every policy. */
  oversize: number;
  depth: number;
  depthMax: number;
}

/**
 * The bounded hand-over from an asynchronous source (socket, serial line, file stream) to the
 * synchronous hot path. I/O callbacks `offer` frames: the bytes are copied into a
 * preallocated arena (a byte ring; a frame never wraps, the tail is skipped instead) and the
 * header into preallocated columns, so the callback's buffer can be reused at once. A drain,
 * scheduled with `setImmediate`, ingests the queued frames in order, at most
 * `replayBatchFramesMax` per turn of the event loop. The due time of a frame is the moment it
 * was offered (or the sensor time the source maps), so the time it waited here counts in its
 * latency as queueing.
 */
export class IngressQueue {
  readonly counts: IngressCounts;
  private readonly arena: Uint8Array;
  private readonly framesMax: number;
  private readonly start: Int32Array;
  private readonly length: Int32Array;
  private readonly seq: Float64Array;
  private readonly sensorNs: Float64Array;
  private readonly dueNs: Float64Array;
  private readonly label: Int16Array;
  private head = 0; // oldest queued entry
  private n = 0; // queued entries
  private writeAt = 0; // next free arena byte
  private readonly now = new Float64Array(1);
  private sink: FrameSink | null = null;
  private scheduled: unknown = null;
  private writable: (() => void) | null = null;

  constructor(
    cfg: IngressConfig,
    private readonly clock: Clock,
    private readonly timers: TimerScheduler,
  ) {
    assert(cfg.framesMax <= limits.ingressFramesMax && cfg.bytesMax <= limits.ingressArenaBytesMax, 'ingress bounds within limits');
    this.arena = new Uint8Array(cfg.bytesMax);
    this.framesMax = cfg.framesMax;
    this.start = new Int32Array(cfg.framesMax);
    this.length = new Int32Array(cfg.framesMax);
    this.seq = new Float64Array(cfg.framesMax);
    this.sensorNs = new Float64Array(cfg.framesMax);
    this.dueNs = new Float64Array(cfg.framesMax);
    this.label = new Int16Array(cfg.framesMax);
    this.counts = { policy: cfg.policy, accepted: 0, delivered: 0, blocked: 0, droppedNewest: 0, droppedOldest: 0, oversize: 0, depth: 0, depthMax: 0 };
  }

  /** Starts handing queued frames to `sink`. */
  attach(sink: FrameSink): void {
    assert(this.sink === null, 'an ingress queue feeds one pipeline');
    this.sink = sink;
    this.schedule();
  }

  /** Called once when a `block` queue that refused a frame has room again. */
  onWritable(fn: () => void): void {
    this.writable = fn;
  }

  /**
   * Offers one frame (copied). Returns false when it was refused: under `block` the caller
   * stops reading until `onWritable`; under `drop-newest` it is counted and gone.
   * `dueNs` NaN: due now (the arrival instant).
   */
  offer(bytes: Uint8Array, seq: number, sensorNs: number, label: number, dueNs = Number.NaN): boolean {
    const len = bytes.length;
    if (len > this.arena.length) {
      this.counts.oversize++;
      return false;
    }
    let at = this.placement(len);
    while (at < 0 || this.n === this.framesMax) {
      if (this.counts.policy === 'block') {
        this.counts.blocked++;
        return false;
      }
      if (this.counts.policy === 'drop-newest') {
        this.counts.droppedNewest++;
        return false;
      }
      this.evictOldest();
      at = this.placement(len);
    }
    if (dueNs !== dueNs) {
      this.clock.stamp(this.now, 0);
      dueNs = this.now[0];
    }
    const i = (this.head + this.n) % this.framesMax;
    this.arena.set(bytes, at);
    this.start[i] = at;
    this.length[i] = len;
    this.seq[i] = seq;
    this.sensorNs[i] = sensorNs;
    this.dueNs[i] = dueNs;
    this.label[i] = label;
    this.writeAt = at + len;
    this.n++;
    this.counts.accepted++;
    this.counts.depth = this.n;
    if (this.n > this.counts.depthMax) this.counts.depthMax = this.n;
    this.schedule();
    return true;
  }

  /** The arena's size: a frame longer than this is refused under every policy. */
  get arenaBytes(): number {
    return this.arena.length;
  }

  /** Frames queued now. */
  get depth(): number {
    return this.n;
  }

  /**
   * A clean stop (SIGTERM): hands every queued frame to the pipeline now, synchronously, so
   * what the queue accepted is decided and reaches the trigger log, then stops draining. The
   * source must have stopped offering first (a frame offered after this is never delivered).
   */
  flushAndStop(): void {
    if (this.scheduled !== null) this.timers.clearImmediate(this.scheduled);
    this.scheduled = null;
    const sink = this.sink;
    if (sink !== null) while (this.n > 0) this.deliver(sink, this.n);
    this.stop();
  }

  /** Stops draining at once; queued frames stay counted as not delivered (`flushAndStop` delivers them first). */
  stop(): void {
    if (this.scheduled !== null) this.timers.clearImmediate(this.scheduled);
    this.scheduled = null;
    this.sink = null;
  }

  /** Where `len` bytes can go without overwriting a queued frame, or -1 when nowhere. */
  private placement(len: number): number {
    if (this.n === 0) {
      this.writeAt = 0;
      return len <= this.arena.length ? 0 : -1;
    }
    const oldest = this.start[this.head];
    if (this.writeAt > oldest) {
      // Free: [writeAt, end) then [0, oldest).
      if (this.arena.length - this.writeAt >= len) return this.writeAt;
      return oldest >= len ? 0 : -1;
    }
    // Wrapped: free is [writeAt, oldest).
    return oldest - this.writeAt >= len ? this.writeAt : -1;
  }

  private evictOldest(): void {
    assert(this.n > 0, 'an empty queue has room for a frame that fits the arena');
    this.head = (this.head + 1) % this.framesMax;
    this.n--;
    this.counts.droppedOldest++;
  }

  private schedule(): void {
    if (this.scheduled !== null || this.sink === null || this.n === 0) return;
    this.scheduled = this.timers.setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    this.scheduled = null;
    const sink = this.sink;
    if (sink === null) return;
    this.deliver(sink, limits.replayBatchFramesMax);
    if (this.writable !== null && this.counts.policy === 'block') {
      const fn = this.writable;
      this.writable = null;
      fn();
    }
    this.schedule();
  };

  /** Ingests up to `framesMax` queued frames, oldest first. */
  private deliver(sink: FrameSink, framesMax: number): void {
    for (let k = 0; k < framesMax && this.n > 0; k++) {
      const i = this.head;
      // The slot points into the arena; the hot path is synchronous, so the bytes are
      // free again when ingest returns.
      const slot = sink.acquire();
      slot.seq = this.seq[i];
      slot.sensorNs = this.sensorNs[i];
      slot.dueNs = this.dueNs[i];
      slot.label = this.label[i];
      slot.raw = this.arena;
      slot.rawOffset = this.start[i];
      slot.rawLength = this.length[i];
      ingest(sink, this.clock, slot);
      this.head = (this.head + 1) % this.framesMax;
      this.n--;
      this.counts.delivered++;
    }
    this.counts.depth = this.n;
    if (this.n === 0) this.writeAt = 0;
  }
}

/** Resolves when `queue` has handed over everything it holds, or once `stopped()` (a stopped queue never drains). */
export function whenDrained(queue: IngressQueue, timers: TimerScheduler, stopped: () => boolean = () => false): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (queue.depth === 0 || stopped()) resolve();
      else timers.setTimeout(check, 1);
    };
    check();
  });
}
