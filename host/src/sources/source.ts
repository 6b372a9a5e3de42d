import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import type { FrameSpec, FrameSlot } from '../core/frame.js';

/** How fast a recorded or generated stream is delivered. */
export const pacingSchema = z
  .union([z.literal('max'), z.literal('realtime'), z.string().regex(/^x\d+(\.\d+)?$/, 'pacing is max, realtime, or xN (N times real time, e.g. x10)')])
  // `x0` (and `x0.0`) would never deliver a frame.
  .refine((p) => p === 'max' || p === 'realtime' || Number(p.slice(1)) > 0, 'pacing xN needs N > 0 (max, realtime, or e.g. x10)');
export type Pacing = z.infer<typeof pacingSchema>;

/** Speed factor of a pacing: Infinity for `max`. */
export function pacingSpeed(p: Pacing): number {
  if (p === 'max') return Number.POSITIVE_INFINITY;
  if (p === 'realtime') return 1;
  return Number(p.slice(1));
}

/** What a source hands frames to: a slot to fill, then the synchronous hot path. */
export interface FrameSink {
  acquire(): FrameSlot;
  /** Runs the whole pipeline on the slot; returns when the trigger is written. */
  push(slot: FrameSlot): void;
}

/** A stream of frames. Sources own their buffers; slots point into them (no copy). */
export interface Source {
  readonly spec: FrameSpec;
  /** Begins delivering frames to `sink`. Called once. */
  start(sink: FrameSink): void;
  /** Stops delivering; resolves once no further frame will be pushed. Idempotent. */
  stop(): Promise<void>;
  /** Resolves when the source has delivered everything it will (finite sources) or stopped. */
  readonly done: Promise<void>;
  /** Frames delivered so far. */
  readonly delivered: number;
  /** What the source says of itself for `/healthz` (listening, connected, link lost), read
   * off the hot path; absent: up until it ends. */
  health?(): { up: boolean; detail: string };
  /** Frames it will deliver when that is known (a finite replay or generated stream); for progress bars. */
  readonly expectedFrames?: number;
  /**
   * Durable sources (NATS): the daemon calls this, off the hot path, once the decisions of the
   * first `delivered` frames (in delivery order) are durably written (the decision log synced,
   * every sink flushed); the source acknowledges them. Until then a crash means redelivery.
   */
  commit?(delivered: number): Promise<void>;
  /** Durable sources: after `stop` and the last `commit`, hands back what was never delivered and disconnects. */
  close?(): Promise<void>;
  /** The source's own counters (NATS: consumer lag), for the snapshot's `source` and /metrics. */
  counters?(): Record<string, number>;
  /** Paced sources (replay, synthetic): their stream clock, which the control API halts
   * (pause: no frame is due meanwhile) and speeds up or slows down. Absent: a live source. */
  readonly pacing?: PacingControl;
}

/** A paced source's clock (`sources/pacer.ts`), driven between frames by the control API. */
export interface PacingControl {
  /** Pace multiplier in force: 1 real time, Infinity as fast as possible. */
  readonly pace: number;
  readonly paused: boolean;
  pause(): void;
  resume(): void;
  setSpeed(speed: number): void;
}

/** Timers, injected so tests can drive time (the composition root passes the real ones). */
export interface TimerScheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` after pending I/O: lets the event loop breathe between batches at max pacing. */
  setImmediate(fn: () => void): unknown;
  clearImmediate(handle: unknown): void;
}

export const realTimers: TimerScheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setImmediate: (fn) => setImmediate(fn),
  clearImmediate: (h) => clearImmediate(h as NodeJS.Immediate),
};

/**
 * Hands one frame to the pipeline. The source has taken `slot` from `sink.acquire()` and
 * written its header: `seq`, `sensorNs`, `label`, `dueNs` (when the frame was due: its
 * scheduled arrival, or its sensor time on the monotonic clock; NaN when the source has no
 * schedule, and then the ingest time is the due time), the id and payload when it has them,
 * and `raw/rawOffset/rawLength` pointing at its own bytes (no copy). This stamps the ingest
 * time and runs the hot path; every source ingests through here, so "ingest" means the same
 * instant for all of them. Never allocates. (Sources write the fields rather than pass them
 * as arguments: a double passed to a call V8 does not inline is boxed, 16 bytes a frame.)
 */
export function ingest(sink: FrameSink, clock: Clock, slot: FrameSlot): void {
  clock.stamp(slot.stampsNs, 0);
  if (slot.dueNs !== slot.dueNs) slot.dueNs = slot.stampsNs[0];
  sink.push(slot);
}
