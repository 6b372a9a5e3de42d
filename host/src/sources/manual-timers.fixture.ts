import type { manualClock } from '../core/clock.js';
import type { TimerScheduler } from './source.js';

/** Timers that fire when the test moves the manual clock past their due time. */
export function manualTimers(clock: ReturnType<typeof manualClock>) {
  let pending: { fn: () => void; atNs: number } | null = null;
  const timers: TimerScheduler = {
    setTimeout: (fn, ms) => ((pending = { fn, atNs: clock.nowNs() + ms * 1e6 }), 1),
    clearTimeout: () => (pending = null),
    setImmediate: (fn) => ((pending = { fn, atNs: clock.nowNs() }), 1),
    clearImmediate: () => (pending = null),
  };
  return {
    timers,
    /** Runs the pending callback at its due time (advancing the clock); false when none. */
    step(): boolean {
      const p = pending;
      if (p === null) return false;
      pending = null;
      if (p.atNs > clock.nowNs()) clock.setNs(p.atNs);
      p.fn();
      return true;
    },
  };
}
