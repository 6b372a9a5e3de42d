/**
 * The source of autonomous mode: an FPGA that classifies its own sensor stream, fires the
 * hardware trigger itself, and appends an event record for every frame whose arg-max class
 * clears its threshold (docs/fpga-protocol.md "Autonomous"). The daemon sees one frame per
 * event, so policy, trigger log and metrics run as for any source.
 */
import { assert } from '../core/assert.js';
import type { Clock } from '../core/clock.js';
import { FifoOverflowError } from '../core/errors.js';
import type { FrameSpec } from '../core/frame.js';
import { limits } from '../core/limits.js';
import type { FpgaEventPort } from '../backends/fpga.js';
import { FPGA_EVENT_FIELDS } from '../native/addon.js';
import { ingest, type FrameSink, type Source, type TimerScheduler } from './source.js';

/** Field offsets inside one drained record (addon.ts `drainEvents`: 6 float64 per record). */
export const EVENT = { seq: 0, cls: 1, scoreRaw: 2, score: 3, startCycle: 4, doneCycle: 5 } as const;
/** Bytes of one drained record in the buffer a slot's `raw` points into. */
export const EVENT_BYTES = FPGA_EVENT_FIELDS * Float64Array.BYTES_PER_ELEMENT;
/** What an event "frame" looks like: one record of float64 fields (the event decoder reads it). */
export const FPGA_EVENT_SPEC: FrameSpec = { stream: 'fpga-events', shape: [FPGA_EVENT_FIELDS * 2], dtype: 'float32' };

export interface FpgaEventSourceOptions {
  /** Interval between drains when the last one did not fill the buffer, microseconds. */
  pollUs: number;
  /** THRESH[k] to write before MODE = 1, raw result bits (`thresholdsRaw`). */
  thresholdsRaw: Int32Array;
  /** Records per drain (default limits.fpgaEventsPerPollMax). */
  eventsPerPollMax?: number;
  /** Called with each FIFO overflow the device reports (events it dropped since the last drain). */
  onOverflow(err: FifoOverflowError, lost: number): void;
}

/**
 * THRESH words for autonomous mode: `thresholdLogit` for each target class, as the smallest raw
 * value r with r / 2^F >= thresholdLogit (so "logit >= threshold" holds exactly on the device),
 * clamped to the W-bit range; the most positive raw value (never fires) for the others.
 */
export function thresholdsRaw(port: Pick<FpgaEventPort, 'classes' | 'outWidth' | 'outFrac'>, isTarget: readonly boolean[], thresholdLogit: number): Int32Array {
  assert(isTarget.length === port.classes, 'one target flag per class');
  const max = 2 ** (port.outWidth - 1) - 1;
  const min = -(2 ** (port.outWidth - 1));
  const t = Math.min(max, Math.max(min, Math.ceil(thresholdLogit * 2 ** port.outFrac)));
  return Int32Array.from(isTarget, (target) => (target ? t : max));
}

/**
 * Drains the device's event FIFO on a timer (the source edge: off the hot path) and ingests
 * one frame slot per record, its `raw` pointing at the record in a buffer this source owns
 * (valid until the next drain; the pipeline consumes it synchronously). `seq` is the device's
 * frame sequence number, `sensorNs` the done cycle on the device clock, `label` -1.
 *
 * `start` writes the thresholds, then MODE = 1 (the device begins taking frames); `stop`
 * writes MODE = 0 after a last drain. Overflows (FIFO_OVERFLOWS moving) are reported through
 * `onOverflow` with the number of events lost; the source keeps running. Driver errors
 * (use after close) are programmer errors here: the daemon stops the source before it closes
 * the backend.
 */
export function createFpgaEventSource(port: FpgaEventPort, opts: FpgaEventSourceOptions, clock: Clock, timers: TimerScheduler): Source {
  const perPoll = opts.eventsPerPollMax ?? limits.fpgaEventsPerPollMax;
  assert(perPoll >= 1 && perPoll <= limits.fpgaEventsPerPollMax, 'events per poll within limits');
  assert(opts.thresholdsRaw.length === port.classes, 'one threshold per class');
  const records = new Float64Array(perPoll * FPGA_EVENT_FIELDS);
  const bytes = new Uint8Array(records.buffer);
  // Cycles -> ns on the device clock.
  const nsPerCycle = port.clockKhz > 0 ? 1e6 / port.clockKhz : Number.NaN;
  const pollMs = opts.pollUs / 1000;
  let sink: FrameSink | null = null;
  let timer: unknown = null;
  let immediate = false;
  let stopped = false;
  let delivered = 0;
  let overflowsSeen = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const drain = (): number => {
    const n = port.drainEvents(records);
    for (let i = 0; i < n; i++) {
      const o = i * FPGA_EVENT_FIELDS;
      const slot = sink!.acquire();
      slot.seq = records[o + EVENT.seq];
      slot.sensorNs = records[o + EVENT.doneCycle] * nsPerCycle;
      slot.label = -1;
      slot.raw = bytes;
      slot.rawOffset = o * 8;
      slot.rawLength = EVENT_BYTES;
      ingest(sink!, clock, slot);
    }
    delivered += n;
    const overflows = port.stats().fifoOverflows;
    if (overflows > overflowsSeen) {
      const lost = overflows - overflowsSeen;
      overflowsSeen = overflows;
      opts.onOverflow(new FifoOverflowError(port.path, lost, `the device dropped ${lost} event(s) on a full FIFO (${overflows} since open): drain more often (fpga.pollUs ${opts.pollUs}) or raise the thresholds`), lost);
    }
    return n;
  };
  const poll = () => {
    timer = null;
    if (stopped) return;
    const n = drain();
    immediate = n === perPoll;
    timer = immediate ? timers.setImmediate(poll) : timers.setTimeout(poll, pollMs);
  };

  return {
    spec: FPGA_EVENT_SPEC,
    get delivered() {
      return delivered;
    },
    done,
    start(s) {
      assert(sink === null, 'fpga event source started twice');
      sink = s;
      // The device may have run since open (or a previous daemon left it autonomous).
      overflowsSeen = port.stats().fifoOverflows;
      for (let k = 0; k < opts.thresholdsRaw.length; k++) port.setThreshold(k, opts.thresholdsRaw[k]);
      port.setMode(1);
      poll();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer !== null) {
        if (immediate) timers.clearImmediate(timer);
        else timers.clearTimeout(timer);
        timer = null;
      }
      if (sink !== null) {
        port.setMode(0);
        drain();
      }
      resolveDone();
    },
  };
}
