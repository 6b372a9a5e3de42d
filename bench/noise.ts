import * as hdr from 'hdr-histogram-js';

/** What the machine steals from a spinning thread: gaps between consecutive clock reads. */
export interface NoiseFloor {
  seconds: number;
  /** Gaps of at least `gapThresholdUs` per second. */
  gapsPerS: number;
  gapThresholdUs: number;
  gapUsP50: number;
  gapUsP99: number;
  gapUsMax: number;
  /** p99 of every loop iteration (what an undisturbed tight loop costs). */
  loopUsP99: number;
}

/**
 * Spins for `seconds` reading the clock and records every gap. On these virtual machines the
 * host steals tens of microseconds about a thousand times a second; a pipeline p99 below
 * the gap p50 means the stolen time, not our code, sets the tail.
 */
export function measureNoise(seconds = 2, gapThresholdUs = 10): NoiseFloor {
  const all = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e9, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  const gaps = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e9, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  const end = performance.now() + seconds * 1000;
  let prev = performance.now();
  const thresholdNs = gapThresholdUs * 1000;
  while (prev < end) {
    const t = performance.now();
    const ns = Math.round((t - prev) * 1e6);
    all.recordValue(ns);
    if (ns >= thresholdNs) gaps.recordValue(ns);
    prev = t;
  }
  const us = (v: number) => Math.round(v) / 1000;
  return {
    seconds,
    gapsPerS: gaps.totalCount / seconds,
    gapThresholdUs,
    gapUsP50: us(gaps.getValueAtPercentile(50)),
    gapUsP99: us(gaps.getValueAtPercentile(99)),
    gapUsMax: us(gaps.maxValue),
    loopUsP99: us(all.getValueAtPercentile(99)),
  };
}
