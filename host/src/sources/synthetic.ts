import { assert } from '../core/assert.js';
import type { Clock } from '../core/clock.js';
import type { FrameSpec } from '../core/frame.js';
import { createLymphocyteGenerator, LYMPHOCYTE_LABELS } from '../../../sim/src/lymphocytes.js';
import { createRng } from '../../../sim/src/rng.js';
import { pacedSource } from './pacer.js';
import { ingest, pacingSpeed, type Pacing, type Source, type TimerScheduler } from './source.js';

export interface SyntheticOptions {
  seed: number;
  /** Mean cell arrival rate (Poisson), per second of stream time. */
  rateHz: number;
  pacing: Pacing;
  /** Stop after this many frames; Infinity for a live stream. */
  frames: number;
}

/**
 * The synthetic lymphocyte generator as a live source: cells arrive as a Poisson process at
 * `rateHz`, each rendered into the source's one frame buffer just before it is pushed (the
 * hot path is synchronous, so the buffer is free again when `push` returns). The seed is
 * printed by the caller so any run can be reproduced.
 */
export function createSyntheticSource(opts: SyntheticOptions, clock: Clock, timers: TimerScheduler): Source {
  assert(opts.rateHz > 0, 'arrival rate is positive');
  const gen = createLymphocyteGenerator({ seed: opts.seed });
  const arrivals = createRng(opts.seed ^ 0x5bd1e995);
  const buffer = new Uint8Array(gen.frameBytes);
  const spec: FrameSpec = { stream: 'cells-lymphocyte-synthetic', shape: [gen.size, gen.size, 1], dtype: 'uint8', labels: LYMPHOCYTE_LABELS };
  let nextDueNs = 0;
  let dueK = -1;
  return pacedSource(
    spec,
    (sink) => ({
      dueOffsetNs(k) {
        // Arrival times are drawn in order, once per frame.
        while (dueK < k) {
          nextDueNs += (-Math.log(1 - arrivals.uniform()) / opts.rateHz) * 1e9;
          dueK++;
        }
        return nextDueNs;
      },
      deliver(k) {
        if (k >= opts.frames) return false;
        // Rendered before ingest: the sensor made the frame; our latency starts on arrival.
        const label = gen.next(buffer, 0);
        ingest(sink(), clock, k, Number.NaN, label, buffer, 0, buffer.length);
        return true;
      },
    }),
    pacingSpeed(opts.pacing),
    clock,
    timers,
  );
}
