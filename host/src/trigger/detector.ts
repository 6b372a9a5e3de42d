import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import type { FrameSlot } from '../core/frame.js';
import { limits } from '../core/limits.js';
import { routers, type FrameRouter, type RouterContext } from './routers.js';

/**
 * The `detector` router: streaming detection over a sequence of overlapping frames (a keyword
 * spotter's windows, one every hop). Each class's probability is smoothed over the last
 * `smoothFrames` frames (a moving average, as the posterior smoothing of streaming keyword
 * spotters); a frame fires when a target class's smoothed probability reaches its threshold
 * and no detection fired within `debounceMs` before it, in stream time (the frame's sensor
 * time, else its due time: a replay at max pace debounces as the live stream would; MLPerf
 * Tiny's streaming wake-word benchmark uses 1 s). Replaces the policy's own trigger decision
 * (its threshold, hold-off and rate limit count as before); a late frame never fires and a
 * would-be detection on it is logged as missed.
 */
export const detectorSchema = z
  .object({
    kind: z.literal('detector'),
    /** Frames the posterior is averaged over (1: no smoothing). */
    smoothFrames: z.number().int().min(1).max(limits.detectorSmoothFramesMax).default(3),
    /** Smoothed probability a target class must reach; per class overrides in `thresholds`. */
    threshold: z.number().min(0).max(1).default(0.8),
    thresholds: z.record(z.string(), z.number().min(0).max(1)).default({}),
    /** No second detection within this long after one (end included), in stream time (any class). */
    debounceMs: z.number().min(0).max(3_600_000).default(1000),
  })
  .strict();
export type DetectorConfig = z.infer<typeof detectorSchema>;

/** Indices into the detector's state. */
const LAST_FIRE_NS = 0;

/** Per-class thresholds (Infinity: never fires) from the config and the trigger targets. */
function classThresholds(cfg: DetectorConfig, labels: readonly string[], targets: readonly string[]): Float64Array {
  const threshold = new Float64Array(labels.length).fill(Number.POSITIVE_INFINITY);
  for (const t of targets) threshold[labels.indexOf(t)] = cfg.threshold;
  for (const [label, v] of Object.entries(cfg.thresholds)) {
    const k = labels.indexOf(label);
    if (k < 0) throw new ConfigError(`config: route.thresholds.${label}`, `not a label of the model; labels are ${labels.join(', ')}`);
    if (!targets.includes(label)) throw new ConfigError(`config: route.thresholds.${label}`, `is not a trigger target (${targets.join(', ')}): only targets fire`);
    threshold[k] = v;
  }
  return threshold;
}

/** A detector's settings and smoothing ring: replaced whole by a reload, between frames. */
interface DetectorState {
  readonly threshold: Float64Array;
  readonly debounceNs: number;
  /** Frames averaged and the last `n` probability vectors (a ring). */
  readonly n: number;
  readonly ring: Float64Array;
}

function detectorState(cfg: DetectorConfig, labels: readonly string[], targets: readonly string[], keep: DetectorState | null): DetectorState {
  const threshold = classThresholds(cfg, labels, targets);
  const n = cfg.smoothFrames;
  // The same smoothing length keeps the ring: a reload of thresholds does not forget the posteriors.
  const ring = keep !== null && keep.n === n ? keep.ring : new Float64Array(n * labels.length);
  return { threshold, debounceNs: cfg.debounceMs * 1e6, n, ring };
}

/** Builds a detector over the pipeline's labels; its targets are the trigger's. A reload
 * (SIGHUP) takes new thresholds, debounce and smoothing length (a new length starts the
 * average afresh). */
export function createDetector(cfg: DetectorConfig, ctx: RouterContext, targets: readonly string[]): FrameRouter {
  const classes = ctx.labels.length;
  let st = detectorState(cfg, ctx.labels, targets, null);
  const lastFire = Float64Array.of(Number.NEGATIVE_INFINITY);
  let filled = 0;
  let at = 0;
  const counts = { detections: 0, debounced: 0, missed: 0, perClass: Object.fromEntries(targets.map((t) => [t, 0])) as Record<string, number> };
  return {
    route(slot: FrameSlot) {
      const { threshold, n, ring } = st;
      const base = at * classes;
      for (let k = 0; k < classes; k++) ring[base + k] = slot.probs[k];
      at = at + 1 === n ? 0 : at + 1;
      if (filled < n) filled++;
      // The oldest frame in the window: the ring's start until it fills, then the next write.
      const first = filled < n ? 0 : at;
      // The best target whose smoothed probability reaches its threshold. The mean is summed
      // afresh each frame, oldest first (n * classes additions, at most a few hundred): a running
      // sum drifts in its last bits over hours of subtractions, and a mean that sits exactly on a
      // threshold would then fire or not depending on the stream's history.
      let best = -1;
      let bestP = 0;
      for (let k = 0; k < classes; k++) {
        if (threshold[k] === Number.POSITIVE_INFINITY) continue;
        let acc = 0;
        for (let j = 0, i = first; j < filled; j++, i = i + 1 === n ? 0 : i + 1) acc += ring[i * classes + k];
        const p = acc / filled;
        if (p >= threshold[k] && p > bestP) {
          best = k;
          bestP = p;
        }
      }
      slot.triggered = false;
      slot.missed = false;
      if (best < 0) return;
      const t = slot.sensorNs === slot.sensorNs ? slot.sensorNs : slot.dueNs;
      // Inclusive, as MLPerf Tiny's runner counts alarms (streaming_ww_utils.py: t < u <= t + 1 s
      // is the same alarm): a word held for seconds fires on the first hop past each second.
      if (t - lastFire[LAST_FIRE_NS] <= st.debounceNs) {
        counts.debounced++;
        return;
      }
      lastFire[LAST_FIRE_NS] = t;
      slot.predicted = best;
      slot.score = bestP;
      if (slot.late) {
        slot.missed = true;
        counts.missed++;
        return;
      }
      slot.triggered = true;
      counts.detections++;
      counts.perClass[ctx.labels[best]]++;
    },
    counters() {
      return { detections: counts.detections, debounced: counts.debounced, missed: counts.missed, perClass: { ...counts.perClass } };
    },
    flush() {},
    async close() {},
    prepareReload(config, newTargets) {
      const next = detectorState(detectorSchema.parse(config), ctx.labels, newTargets, st);
      return {
        apply() {
          if (next.ring !== st.ring) filled = at = 0;
          for (const t of newTargets) counts.perClass[t] ??= 0;
          st = next;
        },
      };
    },
  };
}

routers.register({
  kind: 'detector',
  summary: 'streaming detection: posteriors smoothed over frames, per-class thresholds, a debounce in stream time (keyword spotting)',
  schema: detectorSchema as unknown as z.ZodType<DetectorConfig>,
  create: (cfg, ctx) => createDetector(cfg as DetectorConfig, ctx, ctx.targets),
});
