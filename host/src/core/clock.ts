/**
 * Time is injected: only the composition root picks a real clock. Timestamps are
 * nanoseconds as float64 numbers (no BigInt on the hot path), relative to the clock's own
 * origin, so float64 holds them exactly.
 */
export interface Clock {
  /** Monotonic time in nanoseconds since the clock's origin (may allocate its result). */
  nowNs(): number;
  /** Writes the time into `stamps[index]`: the hot path's way to read the clock, which
   * the native clock does without allocating. */
  stamp(stamps: Float64Array, index: number): void;
}

/**
 * The process's monotonic clock in JavaScript. On Node 20 `performance.now()` returns a
 * boxed double (16 bytes a call): the daemon prefers the addon's clock (host/src/native)
 * and falls back to this one when the addon is not built.
 */
export const monotonicClock: Clock = {
  nowNs: () => performance.now() * 1e6,
  stamp: (stamps, index) => {
    stamps[index] = performance.now() * 1e6;
  },
};

/** A clock a test moves by hand. */
export function manualClock(startNs = 0): Clock & { advanceNs(dNs: number): void; setNs(tNs: number): void } {
  let t = startNs;
  return {
    nowNs: () => t,
    stamp: (stamps, index) => {
      stamps[index] = t;
    },
    advanceNs(dNs: number) {
      t += dNs;
    },
    setNs(tNs: number) {
      t = tNs;
    },
  };
}
