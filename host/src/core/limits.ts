import { assert } from './assert.js';

/**
 * Every bound in the daemon, with its unit last. What happens at each bound is a named
 * policy and a counter in the metrics. `checkLimits` relates them at start-up.
 */
export const limits = {
  /** Preallocated frame slots in the ring between source and pipeline. */
  frameSlotsMax: 1024,
  /** Largest raw frame the decoder accepts (a 512x512x4 uint8 image). */
  frameBytesMax: 512 * 512 * 4,
  /** Largest model input tensor, in elements. */
  modelInputElementsMax: 512 * 512 * 3,
  /** Named input tensors one model may take (a cutout triplet plus a feature vector is two). */
  modelInputsMax: 8,
  /** Bytes of per-modality payload a trigger carries downstream (an alert's objectId, a
   * keyword's stream time); the decoder writes at most this much into the slot. */
  triggerPayloadBytesMax: 64,
  /** Largest number of classes a classifier may output. */
  classesMax: 1024,
  /** Trigger records held between the hot path and the log/websocket flushers; on overflow
   * the oldest unflushed record is overwritten and `triggerRingOverflows` counts it. */
  triggerRingSlotsMax: 65_536,
  /** How often the trigger log flushes to disk. */
  flushIntervalMs: 100,
  /** Late frames are summarised in the log at most this often. */
  lateLogIntervalMs: 1000,
  /** How often the daemon publishes a snapshot (what HTTP, /metrics and the websocket serve)
   * and pushes it to websocket clients. */
  snapshotIntervalMs: 500,
  /** Websocket clients served at once; further connections are closed with 1013 (try again later). */
  wsClientsMax: 64,
  /** Bytes buffered for one slow websocket client before its messages are dropped. */
  wsClientBufferedBytesMax: 4 * 1024 * 1024,
  /** Largest HTTP request body accepted by control endpoints. */
  httpBodyBytesMax: 64 * 1024,
  /** Time a client has to send a whole request; slower ones are cut off (slowloris). */
  httpRequestTimeoutMs: 10_000,
  /** Highest latency the HDR histograms record; larger values are clamped and counted. */
  histogramMaxUs: 10_000_000,
  /** Frames replayed per macrotask before yielding to the event loop at `max` pacing. */
  replayBatchFramesMax: 256,
  /** Largest capture file a replay loads into memory. */
  captureBytesMax: 2 * 1024 * 1024 * 1024,
  /** Error records kept for /api/errors. */
  errorLogEntriesMax: 256,
  /** Spins (a pause and a DONE_COUNT read, ~10-150 cycles each) the fpga driver waits for one
   * job before it fails the frame with a timeout (DeviceError, reason `timeout`). */
  pollSpinsMax: 1 << 20,
  /** FPGA event records drained per poll in autonomous mode (each becomes one frame slot);
   * a full drain polls again at once instead of waiting for the timer. */
  fpgaEventsPerPollMax: 256,
} as const;

export type Limits = typeof limits;

/** Checks the relations between limits; a failure is a programmer error. */
export function checkLimits(l: Limits = limits): void {
  assert(l.replayBatchFramesMax <= l.frameSlotsMax, 'a replay batch must fit in the frame ring');
  assert(l.flushIntervalMs <= l.snapshotIntervalMs * 10, 'flush interval too long for snapshots');
  assert(l.flushIntervalMs <= l.lateLogIntervalMs, 'late frames are logged from the flush loop, so it must run at least that often');
  assert(l.triggerRingSlotsMax >= l.frameSlotsMax, 'trigger ring must hold a full frame ring');
  assert(l.fpgaEventsPerPollMax <= l.frameSlotsMax, 'one drain of FPGA events must fit in the frame ring');
}
