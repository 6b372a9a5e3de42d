import { createRng, type Rng } from '../../../host/src/core/rng.js';
import type { LightCurvePoints, Survey } from '../../../host/src/modalities/alerts/types.js';
import { agnModel, blackbodyColour, drawTransient, periodicModel, TRANSIENT_CLASSES, type ObjectModel, type TransientClass, type TransientModel } from './classes.js';
import { magToMicroJansky } from '../../../host/src/modalities/alerts/points.js';
import { RUBIN, visits, ZTF, type SurveySpec, type Visit } from './survey.js';

/** One synthetic alert: the light curve its packet carries, the truth and the survey. */
export interface SyntheticAlert {
  cls: TransientClass;
  /** Index into TRANSIENT_CLASSES. */
  label: number;
  survey: Survey;
  /** The alert's own detection time (its point is in `points`). */
  jd: number;
  points: LightCurvePoints;
  /** Redshift of a transient (time dilation 1 + z), 0 for the variables. */
  redshift: number;
}

/** Detection threshold in sigma, the surveys' own (ZTF, Rubin difference imaging). */
export const DETECTION_SIGMA = 5;
/** Calibration and subtraction floor of the flux error, as a share of the source's total flux. */
const NOISE_FLOOR = 0.01;
/** Draws of a fresh object before giving up on one with no detection (never reached in practice). */
const ATTEMPTS_MAX = 1_000;

/**
 * Redshift of a distance modulus: d_L = (c/H0) z (1 + (1 - q0) z / 2), H0 = 70, q0 = -0.55,
 * to ~3% below z = 1 (no K-correction: the magnitudes are read as rest-frame r).
 */
export function redshiftOf(distanceModulus: number): number {
  const dMpc = 10 ** ((distanceModulus - 25) / 5);
  const hubbleMpc = 299_792.458 / 70;
  const k = (1 + 0.55) / 2;
  return (-1 + Math.sqrt(1 + (4 * k * dMpc) / hubbleMpc)) / (2 * k);
}

/** Apparent peak magnitude from Euclidean counts N(<m) ~ 10^(0.6 m), within `range`. */
function euclideanMag(range: readonly [number, number], rng: Rng): number {
  const [bright, faint] = range;
  const floor = 10 ** (0.6 * (bright - faint));
  return faint + Math.log10(floor + rng.uniform() * (1 - floor)) / 0.6;
}

/** True difference flux (microjansky) of a transient at observer time `t`. */
function transientFlux(m: TransientModel, peakFluxR: number, firstLightJd: number, z: number, v: Visit): number {
  const rest = (v.jd - firstLightJd) / (1 + z);
  const shape = m.shape(rest);
  return shape === 0 ? 0 : peakFluxR * shape * 10 ** (-0.4 * blackbodyColour(v.band, m.kelvin(rest)));
}

interface Drawn {
  model: ObjectModel;
  startJd: number;
  endJd: number;
  z: number;
  /** Difference flux and the source's total flux at a visit. */
  flux(v: Visit, dmag: Float64Array): { diff: number; total: number };
}

function drawObject(cls: TransientClass, s: SurveySpec, rng: Rng): Drawn {
  const start = s.epochJd + rng.uniform() * 4 * 365.25;
  if (cls === 'AGN' || cls === 'Periodic') {
    const mean = s.variableMagRange[0] + rng.uniform() * (s.variableMagRange[1] - s.variableMagRange[0]);
    const model = cls === 'AGN' ? agnModel(rng, mean, 10 ** (2.3 + 0.3 * rng.normal()), Math.max(0.05, 0.2 + 0.06 * rng.normal())) : periodicModel(rng, mean);
    return {
      model, startJd: start, endJd: start + 500, z: 0,
      flux(v, dmag) {
        model.step(v.jd, dmag);
        const meanFlux = magToMicroJansky(mean + model.meanColour[v.band]!);
        const total = meanFlux * 10 ** (-0.4 * dmag[v.band]!);
        return { diff: total - meanFlux, total }; // the template is the mean
      },
    };
  }
  const model = drawTransient(cls, rng);
  const peakMag = euclideanMag(s.peakMagRange, rng);
  const z = redshiftOf(peakMag - model.peakAbsMag);
  const firstLight = start + 150;
  const peakFluxR = magToMicroJansky(peakMag);
  return {
    model, startJd: start, endJd: firstLight + 300 * (1 + z), z,
    flux(v) {
      const diff = transientFlux(model, peakFluxR, firstLight, z, v);
      return { diff, total: diff };
    },
  };
}

/** One measurement of each visit: difference flux, its error, the 5-sigma limit, detected or not. */
interface Measured {
  flux: Float64Array;
  sigma: Float64Array;
  limit: Float64Array;
  detected: Uint8Array;
  first: number;
}

function measure(d: Drawn, vs: readonly Visit[], rng: Rng): Measured {
  const n = vs.length;
  const m: Measured = { flux: new Float64Array(n), sigma: new Float64Array(n), limit: new Float64Array(n), detected: new Uint8Array(n), first: -1 };
  const dmag = new Float64Array(6);
  vs.forEach((v, i) => {
    const { diff, total } = d.flux(v, dmag);
    m.limit[i] = magToMicroJansky(v.limitMag);
    m.sigma[i] = Math.hypot(m.limit[i]! / DETECTION_SIGMA, NOISE_FLOOR * total);
    m.flux[i] = diff + m.sigma[i]! * rng.normal();
    m.detected[i] = Math.abs(m.flux[i]!) >= DETECTION_SIGMA * m.sigma[i]! ? 1 : 0;
    if (m.detected[i] === 1 && m.first < 0) m.first = i;
  });
  return m;
}

/**
 * Observes a drawn object: a visit is a detection (|flux| >= 5 sigma); otherwise an upper
 * limit (ZTF), or forced photometry from `forcedPrecoveryDays` before the first detection on
 * and nothing before that (Rubin).
 */
function observe(d: Drawn, vs: readonly Visit[], s: SurveySpec, rng: Rng): LightCurvePoints {
  const m = measure(d, vs, rng);
  const forcedFromJd = s.forcedPrecoveryDays === null || m.first < 0 ? Infinity : vs[m.first]!.jd - s.forcedPrecoveryDays;
  const keep = vs.map((v, i) => m.detected[i] === 1 || s.forcedPrecoveryDays === null || v.jd >= forcedFromJd);
  const n = keep.filter((k) => k).length;
  const p: LightCurvePoints = { count: n, jd: new Float64Array(n), band: new Uint8Array(n), flux: new Float32Array(n), fluxErr: new Float32Array(n), upperLimit: new Uint8Array(n) };
  let k = 0;
  vs.forEach((v, i) => {
    if (!keep[i]) return;
    const limitOnly = m.detected[i] === 0 && s.forcedPrecoveryDays === null;
    p.jd[k] = v.jd;
    p.band[k] = v.band;
    p.flux[k] = limitOnly ? m.limit[i]! : m.flux[i]!;
    p.fluxErr[k] = limitOnly ? m.limit[i]! / DETECTION_SIGMA : m.sigma[i]!;
    p.upperLimit[k++] = limitOnly ? 1 : 0;
  });
  return p;
}

/** The points of `all` from `fromJd` to `toJd` inclusive (sorted input, sorted output). */
function slicePoints(all: LightCurvePoints, fromJd: number, toJd: number): LightCurvePoints {
  let a = 0;
  while (a < all.count && all.jd[a]! < fromJd) a++;
  let b = a;
  while (b < all.count && all.jd[b]! <= toJd) b++;
  return { count: b - a, jd: all.jd.slice(a, b), band: all.band.slice(a, b), flux: all.flux.slice(a, b), fluxErr: all.fluxErr.slice(a, b), upperLimit: all.upperLimit.slice(a, b) };
}

/**
 * One synthetic alert of class `cls` seen by survey `s`: the object's light curve over its
 * observable life, an alert at one of its detections drawn uniformly (a survey alerts on
 * every detection), and the history the packet carries (`s.historyDays`). Redraws an object
 * that is never detected.
 */
export function syntheticAlert(cls: TransientClass, s: SurveySpec, rng: Rng): SyntheticAlert {
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    const d = drawObject(cls, s, rng);
    const all = observe(d, visits(s, d.startJd, d.endJd, rng.uniform(), rng), s, rng);
    // Alerts fire on 5-sigma detections only (not on forced photometry).
    const isDetection = (i: number) => all.upperLimit[i] === 0 && Math.abs(all.flux[i]!) >= DETECTION_SIGMA * all.fluxErr[i]!;
    let detections = 0;
    for (let i = 0; i < all.count; i++) detections += isDetection(i) ? 1 : 0;
    if (detections === 0) continue;
    let pick = Math.floor(rng.uniform() * detections);
    let at = 0;
    for (; at < all.count; at++) if (isDetection(at) && pick-- === 0) break;
    const jd = all.jd[at]!;
    return { cls, label: TRANSIENT_CLASSES.indexOf(cls), survey: s.name, jd, points: slicePoints(all, jd - s.historyDays, jd), redshift: d.z };
  }
  throw new RangeError(`no detected ${cls} in ${ATTEMPTS_MAX} draws for ${s.name}: the survey's limits and the class's brightness range do not overlap`);
}

/**
 * A seeded stream of synthetic alerts: classes in turn (balanced), each object's survey ZTF
 * or Rubin with probability `rubinShare`. Same seed, same stream.
 */
export function createAlertGenerator(seed: number, rubinShare = 0.5): () => SyntheticAlert {
  const rng = createRng(seed);
  let k = 0;
  return () => syntheticAlert(TRANSIENT_CLASSES[k++ % TRANSIENT_CLASSES.length]!, rng.uniform() < rubinShare ? RUBIN : ZTF, rng);
}
