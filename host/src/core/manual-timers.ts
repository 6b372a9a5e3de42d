import type { TimerScheduler } from '../sources/source.js';

/**
 * Timers a test drives by hand: at most one callback is pending (a later one replaces it),
 * `run()` fires it once. For components that keep a single timer or immediate in flight
 * (a poll loop, the snapshot publisher). Test support: nothing in the daemon uses it.
 */
export function manualTimers() {
  let pending: { fn: () => void; kind: 'timeout' | 'immediate'; ms: number } | null = null;
  const timers: TimerScheduler = {
    setTimeout: (fn, ms) => (pending = { fn, kind: 'timeout', ms }),
    clearTimeout: () => (pending = null),
    setImmediate: (fn) => (pending = { fn, kind: 'immediate', ms: 0 }),
    clearImmediate: () => (pending = null),
  };
  return {
    timers,
    pending: () => pending,
    run() {
      const p = pending!;
      pending = null;
      p.fn();
    },
  };
}
