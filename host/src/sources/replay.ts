import { assert } from '../core/assert.js';
import type { Clock } from '../core/clock.js';
import type { Capture } from '../capture/arrow-capture.js';
import { pacedSource } from './pacer.js';
import { ingest, pacingSpeed, type Pacing, type Source, type TimerScheduler } from './source.js';

export interface ReplayOptions {
  pacing: Pacing;
  /** Start again from the first frame after the last (sequence numbers keep increasing). */
  loop: boolean;
  /** Stop after this many frames (looping included); Infinity for no limit. */
  frames: number;
  /** Frame rate assumed for frames without sensor time, per second. */
  nominalRateHz: number;
}

/**
 * Replays a capture held in memory. Each slot points into the capture's frame buffer: no
 * copy, no allocation per frame. Sensor times (relative to the capture's start) set the pace;
 * on each loop the stream time continues from the end of the previous pass plus one mean
 * frame interval, and sequence numbers continue from the last.
 */
export function createReplaySource(capture: Capture, opts: ReplayOptions, clock: Clock, timers: TimerScheduler): Source {
  assert(opts.frames >= 0, 'replay frame limit is non-negative');
  const n = capture.count;
  const hasTimes = n > 0 && capture.sensorNs.every((t) => Number.isFinite(t));
  const nominalNs = 1e9 / opts.nominalRateHz;
  const spanNs = hasTimes && n > 1 ? capture.sensorNs[n - 1] - capture.sensorNs[0] : 0;
  const periodNs = hasTimes ? spanNs + (n > 1 ? spanNs / (n - 1) : nominalNs) : n * nominalNs;
  const seqSpan = n > 0 ? capture.seq[n - 1] - capture.seq[0] + 1 : 0;
  return pacedSource(
    capture.spec,
    (sink) => ({
      dueOffsetNs(k) {
        if (n === 0) return 0;
        const pass = Math.floor(k / n);
        const i = k - pass * n;
        const t = hasTimes ? capture.sensorNs[i] - capture.sensorNs[0] : i * nominalNs;
        return pass * periodNs + t;
      },
      deliver(k) {
        if (k >= opts.frames || n === 0 || (!opts.loop && k >= n)) return false;
        const pass = Math.floor(k / n);
        const i = k - pass * n;
        const at = capture.offsets[i];
        ingest(sink(), clock, capture.seq[i] + pass * seqSpan, capture.sensorNs[i] + pass * periodNs, capture.labels[i], capture.frames, at, capture.offsets[i + 1] - at);
        return true;
      },
    }),
    pacingSpeed(opts.pacing),
    clock,
    timers,
  );
}
