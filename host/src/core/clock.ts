/**
 * Time is injected: only the composition root picks a real clock. Timestamps are
 * nanoseconds as float64 numbers (no BigInt on the hot path); `performance.now()` has
 * sub-microsecond resolution on Linux, so nanoseconds here carry about 100 ns of precision.
 */
export interface Clock {
  /** Monotonic time in nanoseconds since an arbitrary origin. */
  nowNs(): number;
}

/** The process's monotonic clock. */
export const monotonicClock: Clock = {
  nowNs: () => performance.now() * 1e6,
};

/** A clock a test moves by hand. */
export function manualClock(startNs = 0): Clock & { advanceNs(dNs: number): void; setNs(tNs: number): void } {
  let t = startNs;
  return {
    nowNs: () => t,
    advanceNs(dNs: number) {
      t += dNs;
    },
    setNs(tNs: number) {
      t = tNs;
    },
  };
}
