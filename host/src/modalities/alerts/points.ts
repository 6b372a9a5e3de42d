import { BANDS, type LightCurvePoints } from './types.js';

/**
 * Light-curve points from a decoded packet (ZTF or Rubin), in microjansky, sorted by jd.
 * Alerts allocate by design (avsc decodes into fresh objects); these arrays are made per alert.
 */

/** AB magnitude zero point in microjansky: flux_uJy = 10^(-0.4 (mag - 23.9)). */
const AB_ZERO_POINT_UJY_MAG = 23.9;
/** d(flux)/flux per magnitude: ln(10) / 2.5. */
export const FLUX_ERR_PER_MAG = Math.LN10 / 2.5;
/** Julian date of MJD 0. */
export const MJD_TO_JD_DAYS = 2_400_000.5;
/** ZTF filter id (1, 2, 3) to band index in BANDS (g, r, i). */
const ZTF_FID_BAND: Record<number, number> = { 1: BANDS.indexOf('g'), 2: BANDS.indexOf('r'), 3: BANDS.indexOf('i') };

/** One measurement before the arrays are built. */
interface Point {
  jd: number;
  band: number;
  flux: number;
  fluxErr: number;
  upperLimit: number;
}

/** Builds the struct-of-arrays form, sorted by jd (stable: equal jd keep packet order). */
export function toLightCurvePoints(points: Point[]): LightCurvePoints {
  points.sort((a, b) => a.jd - b.jd);
  const n = points.length;
  const out: LightCurvePoints = {
    count: n,
    jd: new Float64Array(n),
    band: new Uint8Array(n),
    flux: new Float32Array(n),
    fluxErr: new Float32Array(n),
    upperLimit: new Uint8Array(n),
  };
  for (let i = 0; i < n; i++) {
    const p = points[i];
    out.jd[i] = p.jd;
    out.band[i] = p.band;
    out.flux[i] = p.flux;
    out.fluxErr[i] = p.fluxErr;
    out.upperLimit[i] = p.upperLimit;
  }
  return out;
}

/** A ZTF candidate or prv_candidate (the fields points read). */
interface ZtfCandidate {
  jd?: number | null;
  fid?: number | null;
  magpsf?: number | null;
  sigmapsf?: number | null;
  diffmaglim?: number | null;
  isdiffpos?: string | null;
}

/** AB magnitude to microjansky. */
export function magToMicroJansky(mag: number): number {
  return 10 ** (-0.4 * (mag - AB_ZERO_POINT_UJY_MAG));
}

/** Microjansky to AB magnitude (the inverse of `magToMicroJansky`); NaN for flux <= 0. */
export function microJanskyToMag(flux: number): number {
  return flux > 0 ? AB_ZERO_POINT_UJY_MAG - 2.5 * Math.log10(flux) : Number.NaN;
}

/**
 * One ZTF point, or null when it has no jd, an unknown fid, or neither magpsf nor diffmaglim.
 * A detection (magpsf set): flux from magpsf, negative when isdiffpos is 'f' or '0' (the
 * source faded against the template), fluxErr = |flux| sigmapsf ln(10)/2.5. An upper limit
 * (magpsf null): flux from diffmaglim, fluxErr 0.
 */
function ztfPoint(c: ZtfCandidate): Point | null {
  const band = c.fid == null ? undefined : ZTF_FID_BAND[c.fid];
  if (c.jd == null || band === undefined) return null;
  if (c.magpsf != null) {
    const sign = c.isdiffpos === 'f' || c.isdiffpos === '0' ? -1 : 1;
    const flux = sign * magToMicroJansky(c.magpsf);
    return { jd: c.jd, band, flux, fluxErr: Math.abs(flux) * (c.sigmapsf ?? 0) * FLUX_ERR_PER_MAG, upperLimit: 0 };
  }
  if (c.diffmaglim == null) return null;
  return { jd: c.jd, band, flux: magToMicroJansky(c.diffmaglim), fluxErr: 0, upperLimit: 1 };
}

/**
 * A ZTF packet's light curve: the candidate and every prv_candidate (detections where magpsf
 * is set, upper limits where it is null). Entries that lack jd or a known fid are left out.
 */
export function ztfPoints(candidate: ZtfCandidate | null, prv: (ZtfCandidate | null)[] | null): LightCurvePoints {
  const points: Point[] = [];
  for (const c of [candidate, ...(prv ?? [])]) {
    const p = c === null ? null : ztfPoint(c);
    if (p !== null) points.push(p);
  }
  return toLightCurvePoints(points);
}

/** A Rubin diaSource or diaForcedSource (the fields points read). */
interface RubinSource {
  visit?: bigint | null;
  midpointMjdTai?: number | null;
  band?: string | null;
  psfFlux?: number | null;
  psfFluxErr?: number | null;
}

function rubinPoint(s: RubinSource): Point | null {
  const band = s.band == null ? -1 : BANDS.indexOf(s.band as (typeof BANDS)[number]);
  if (s.midpointMjdTai == null || band < 0 || s.psfFlux == null || Number.isNaN(s.psfFlux)) return null;
  return { jd: s.midpointMjdTai + MJD_TO_JD_DAYS, band, flux: s.psfFlux / 1000, fluxErr: (s.psfFluxErr ?? Number.NaN) / 1000, upperLimit: 0 };
}

/**
 * A Rubin packet's light curve: diaSource, prvDiaSources and prvDiaForcedSources, all as
 * detections (Rubin sends forced photometry as fluxes, not limits), psfFlux nJy / 1000 = uJy,
 * jd = midpointMjdTai + 2400000.5. A forced source of a visit that also has a detection is
 * left out (the detection measures the same image); so are entries without flux or a known band.
 */
export function rubinPoints(source: RubinSource | null, prv: (RubinSource | null)[] | null, forced: (RubinSource | null)[] | null): LightCurvePoints {
  const points: Point[] = [];
  const visits = new Set<bigint>();
  for (const s of [source, ...(prv ?? [])]) {
    const p = s === null ? null : rubinPoint(s);
    if (p === null || s === null) continue;
    points.push(p);
    if (s.visit != null) visits.add(s.visit);
  }
  for (const s of forced ?? []) {
    if (s === null || (s.visit != null && visits.has(s.visit))) continue;
    const p = rubinPoint(s);
    if (p !== null) points.push(p);
  }
  return toLightCurvePoints(points);
}
