import { z } from 'zod';
import { pacingSchema, pacingSpeed } from '../../../sources/source.js';

/**
 * How an alert replay is paced:
 * - `max`: as fast as the pipeline takes them;
 * - `realtime` / `xN`: the observation times' differences (jd), N times faster;
 * - `{kind: rate, alertsPerS}`: evenly spaced, whatever their times;
 * - `{kind: burst, alerts, periodS}`: `alerts` at once every `periodS` seconds (a Rubin visit
 *   releases its alerts together every ~30 s). All alerts of a burst are due at its start, so
 *   their latency counts from there: the last of a burst shows how long the burst took.
 */
export const alertPacingSchema = z.union([
  pacingSchema,
  z.object({ kind: z.literal('rate'), alertsPerS: z.number().positive().max(1e8) }).strict(),
  z.object({ kind: z.literal('burst'), alerts: z.number().int().min(1), periodS: z.number().positive().default(30) }).strict(),
]);
export type AlertPacing = z.infer<typeof alertPacingSchema>;

/** A pacing as the Pacer takes it: a speed factor and the due offset of the k-th alert. */
export interface AlertSchedule {
  /** Infinity at `max`. */
  speed: number;
  /** Offset of the k-th delivered alert from the first, in stream ns (before the speed factor). */
  dueOffsetNs(k: number): number;
}

/**
 * The schedule of `pacing` over alerts whose Julian dates are `jd` (observation order), looped
 * when k passes their count: a pass starts one mean interval after the last alert of the one before.
 */
export function alertSchedule(pacing: AlertPacing, jd: Float64Array): AlertSchedule {
  if (typeof pacing === 'object' && pacing.kind === 'rate') {
    const stepNs = 1e9 / pacing.alertsPerS;
    return { speed: 1, dueOffsetNs: (k) => k * stepNs };
  }
  if (typeof pacing === 'object') {
    const { alerts, periodS } = pacing;
    return { speed: 1, dueOffsetNs: (k) => Math.floor(k / alerts) * periodS * 1e9 };
  }
  const n = jd.length;
  const spanNs = n > 1 ? (jd[n - 1] - jd[0]) * 86_400e9 : 0;
  // A pass of one alert (or of one instant) lasts a second: a loop of it is not a busy loop.
  const periodNs = spanNs > 0 ? spanNs + spanNs / (n - 1) : 1e9;
  return {
    speed: pacingSpeed(pacing),
    dueOffsetNs(k) {
      if (n === 0) return 0;
      const pass = Math.floor(k / n);
      return pass * periodNs + (jd[k - pass * n] - jd[0]) * 86_400e9;
    },
  };
}
