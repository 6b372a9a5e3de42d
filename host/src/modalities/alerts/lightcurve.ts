import { z } from 'zod';
import { assert } from '../../core/assert.js';
import { ConfigError } from '../../core/errors.js';
import { limits } from '../../core/limits.js';
import { preprocessors, type StreamPreprocessor } from '../../preprocess/stream-preprocessor.js';
import { BANDS, slotAlert, type LightCurvePoints } from './types.js';

/**
 * The light curve of an alert on a fixed time grid: the model input of the transient
 * classifier. One definition, two implementations: this file (the daemon) and
 * `models/train/alerts_lightcurve.py` (training, and the parity tests between the two).
 *
 * Grid: `steps` bins of `stepDays` per band, the last bin ending at the alert's jd and the
 * first starting `steps * stepDays` days before it. A point of age `a = jd - point.jd` falls
 * in bin `steps - 1 - floor(a / stepDays)`; points after the alert (a < 0), older than the
 * window, of a band not in `bands`, or with a non-finite flux are left out. A linear grid
 * (not log-spaced) so that a Conv1D kernel spans the same number of days wherever it sits,
 * and so 100 one-day bins hold ZTF's 30-day history at its own cadence and a supernova's
 * rise (~18 d) and first decline; older history (Rubin's year) is cut.
 *
 * Channels per (band, bin), laid out `[band * 3 + channel][bin]` (model input [C, steps]):
 * 0. `flux`: mean difference flux of the detections in the bin / scale, in [-1, 1];
 * 1. `detected`: 1 when the bin holds a detection, else 0;
 * 2. `upperLimit`: the deepest (smallest) limiting flux of the non-detections in the bin /
 *    scale, capped at `upperLimitMax`; 0 when the bin holds none.
 * scale = the largest |flux| of the detections on the grid (all bands): scale-free, so the
 * distance of the source does not matter. With no detection on the grid every flux is 0 and
 * every upper limit sits at the cap.
 */
export const LIGHTCURVE_CHANNELS = ['flux', 'detected', 'upperLimit'] as const;

/** The `lightcurve` spec a model card's `preprocessing` carries (the registry validates with it). */
export const lightCurveSpecSchema = z
  .object({
    kind: z.literal('lightcurve'),
    /** Alerts arrive as packets of any length: the grid reads the decoded alert, not bytes. */
    frame: z.object({ shape: z.null(), dtype: z.literal('uint8') }).strict(),
    bands: z.array(z.enum(BANDS)).min(1).max(BANDS.length),
    steps: z.number().int().min(1),
    stepDays: z.number().positive().finite(),
    channels: z.tuple([z.literal('flux'), z.literal('detected'), z.literal('upperLimit')]),
    upperLimitMax: z.number().positive().finite(),
    input: z.object({ shape: z.tuple([z.number().int().min(1), z.number().int().min(1)]) }).strict(),
  })
  .strict();
export type LightCurveSpec = z.infer<typeof lightCurveSpecSchema>;

/** The spec the transient classifier was trained with (models/zoo/alerts-transient). */
export const LIGHTCURVE_DEFAULT_SPEC: LightCurveSpec = {
  kind: 'lightcurve',
  frame: { shape: null, dtype: 'uint8' },
  bands: [...BANDS],
  steps: 100,
  stepDays: 1,
  channels: [...LIGHTCURVE_CHANNELS],
  upperLimitMax: 4,
  input: { shape: [BANDS.length * LIGHTCURVE_CHANNELS.length, 100] },
};

/** Checks a parsed spec's consistency; a ConfigError names the field. */
export function checkLightCurveSpec(spec: LightCurveSpec, where = 'preprocessing'): void {
  const [c, t] = spec.input.shape;
  const want = spec.bands.length * LIGHTCURVE_CHANNELS.length;
  if (c !== want || t !== spec.steps) {
    throw new ConfigError(`${where}.input.shape`, `[${c}, ${t}] differs from [bands x channels, steps] = [${want}, ${spec.steps}]`);
  }
  if (new Set(spec.bands).size !== spec.bands.length) throw new ConfigError(`${where}.bands`, `${spec.bands.join('')} names a band twice`);
  if (c * t > limits.modelInputElementsMax) throw new ConfigError(`${where}.steps`, `${c * t} values exceed modelInputElementsMax ${limits.modelInputElementsMax}`);
}

/** Position of band code `code` (index into BANDS) in `spec.bands`, -1 when absent. */
function bandRow(spec: LightCurveSpec, code: number): number {
  const name = BANDS[code];
  for (let s = 0; s < spec.bands.length; s++) if (spec.bands[s] === name) return s;
  return -1;
}

/** Grid bin of a point `ageDays` before the alert, -1 when it is off the grid. */
function binOf(spec: LightCurveSpec, ageDays: number): number {
  if (!(ageDays >= 0)) return -1; // after the alert, or NaN
  const back = Math.floor(ageDays / spec.stepDays);
  return back < spec.steps ? spec.steps - 1 - back : -1;
}

/** Largest |flux| of the detections on the grid, 0 when there is none. */
function detectionScale(points: LightCurvePoints, jd: number, spec: LightCurveSpec): number {
  let scale = 0;
  for (let i = 0; i < points.count; i++) {
    if (points.upperLimit[i] !== 0 || !Number.isFinite(points.flux[i]!)) continue;
    if (bandRow(spec, points.band[i]!) < 0 || binOf(spec, jd - points.jd[i]!) < 0) continue;
    scale = Math.max(scale, Math.abs(points.flux[i]!));
  }
  return scale;
}

/**
 * Writes the grid features of `points` (an alert's light curve) at alert time `jd` into
 * `out` (length = bands x 3 x steps, see the file comment for the layout). Never allocates;
 * `out` is overwritten entirely and owned by the caller. Points need not be sorted. A spec
 * that is not checked (`checkLightCurveSpec`) or an `out` of the wrong length is a
 * programmer error (assert).
 */
export function lightCurveGrid(points: LightCurvePoints, jd: number, spec: LightCurveSpec, out: Float32Array): void {
  const t = spec.steps;
  assert(out.length === spec.bands.length * LIGHTCURVE_CHANNELS.length * t, 'lightCurveGrid output length matches the spec');
  out.fill(0);
  const scale = detectionScale(points, jd, spec);
  for (let i = 0; i < points.count; i++) {
    const row = bandRow(spec, points.band[i]!);
    const bin = row < 0 ? -1 : binOf(spec, jd - points.jd[i]!);
    const flux = points.flux[i]!;
    if (bin < 0 || !Number.isFinite(flux)) continue;
    const base = row * 3 * t + bin;
    if (points.upperLimit[i] === 0) {
      // Sum here, count in the `detected` channel; divided below.
      if (scale > 0) out[base] += flux / scale;
      out[base + t] += 1;
    } else if (flux > 0) {
      const v = scale > 0 ? Math.min(flux / scale, spec.upperLimitMax) : spec.upperLimitMax;
      const cur = out[base + 2 * t]!;
      out[base + 2 * t] = cur === 0 ? v : Math.min(cur, v);
    }
  }
  for (let row = 0; row < spec.bands.length; row++) {
    for (let k = 0; k < t; k++) {
      const at = row * 3 * t + k;
      const n = out[at + t]!;
      if (n > 0) {
        out[at] = out[at]! / n;
        out[at + t] = 1;
      }
    }
  }
}

/** The `lightcurve` stream preprocessor: the grid of the alert a slot carries. */
export function createLightCurvePreprocessor(spec: LightCurveSpec, where = 'preprocessing'): StreamPreprocessor {
  checkLightCurveSpec(spec, where);
  return {
    frame: spec.frame,
    inputElements: [spec.input.shape[0] * spec.input.shape[1]],
    framesPerInputMax: 1,
    run(slot) {
      const alert = slotAlert(slot);
      lightCurveGrid(alert.points, alert.jd, spec, slot.input);
      return true;
    },
    reset() {},
    write(slot, inputs, first) {
      const alert = slotAlert(slot);
      lightCurveGrid(alert.points, alert.jd, spec, inputs[first]!);
    },
  };
}

preprocessors.register({
  kind: 'lightcurve',
  summary: 'alert light curve (decoded alert points) on a fixed grid: flux, detected, upper limit per band and day',
  schema: lightCurveSpecSchema,
  create: (spec, ctx) => createLightCurvePreprocessor(spec as LightCurveSpec, ctx.where),
});
