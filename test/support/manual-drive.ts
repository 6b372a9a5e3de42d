import type { manualClock } from '../../host/src/core/clock.js';
import type { manualTimers } from '../../host/src/core/manual-timers.js';

/**
 * Runs what `t` holds pending until nothing is: a timeout first moves `clock` to its time, an
 * immediate moves it by `turnNs` (a turn of the event loop takes time, so a pacer turning the
 * loop within its spin window of a due time gets there). Returns the callbacks run.
 */
export function runTimers(t: ReturnType<typeof manualTimers>, clock: ReturnType<typeof manualClock>, turnNs = 10_000, callsMax = 1_000_000): number {
  let n = 0;
  for (; n < callsMax && t.pending() !== null; n++) {
    const p = t.pending()!;
    clock.advanceNs(p.kind === 'timeout' ? p.ms * 1e6 : turnNs);
    t.run();
  }
  return n;
}
