import type { Rng } from '../../../host/src/core/rng.js';

/**
 * How a survey samples the sky: when a field is observed, in which bands, how deep, and
 * how much history an alert carries. Numbers are the surveys' published design figures.
 */
export interface SurveySpec {
  name: 'ztf' | 'rubin';
  /** Band codes (index into BANDS) and the share of visits each gets. */
  bands: readonly number[];
  bandWeights: readonly number[];
  /** Bands observed on one visited night (ZTF: g and r; Rubin: a pair of different bands ~33 min apart). */
  bandsPerNight: number;
  /** Nights between visits, drawn uniformly from this range (inclusive). */
  revisitNights: readonly [number, number];
  /** Share of planned nights lost to weather. */
  weatherLoss: number;
  /** Days a year the field is above the horizon at night. */
  seasonDays: number;
  /** Mean and scatter of the 5-sigma limiting magnitude per band code (NaN: band unused). */
  limitMag: readonly number[];
  limitMagSd: number;
  /** Days of history an alert packet carries before its own detection. */
  historyDays: number;
  /**
   * null: a visit without a detection is an upper limit (ZTF's prv_candidates). A number:
   * no upper limits; forced photometry (a flux at the object's position) at every visit from
   * that many days before the first detection on (Rubin's prvDiaForcedSources, with its
   * 30-day precovery, LSST DPDD), sent and read as detections (host points.ts).
   */
  forcedPrecoveryDays: number | null;
  /** Apparent peak magnitudes of the simulated transients: [brightest, faintest]. */
  peakMagRange: readonly [number, number];
  /** Mean r magnitudes of the variables (AGN, RR Lyrae): [brightest, faintest]. */
  variableMagRange: readonly [number, number];
  /** First JD of the survey era (objects start within 4 years of it). */
  epochJd: number;
}

/**
 * ZTF's public survey: g and r every 2-3 nights (Bellm et al. 2019), ~25% of nights lost at
 * Palomar, 5-sigma limits g 20.8 / r 20.6 (Masci et al. 2019, median), 30 days of history
 * (prv_candidates) in each alert packet.
 */
export const ZTF: SurveySpec = {
  name: 'ztf', bands: [1, 2], bandWeights: [0.5, 0.5], bandsPerNight: 2, revisitNights: [2, 3],
  weatherLoss: 0.25, seasonDays: 240, limitMag: [NaN, 20.8, 20.6, NaN, NaN, NaN], limitMagSd: 0.4,
  historyDays: 30, forcedPrecoveryDays: null, peakMagRange: [15, 20.3], variableMagRange: [14.5, 20], epochJd: 2_458_200.5,
};

/**
 * Rubin's wide-fast-deep survey: ugrizy with the baseline visit shares (u 7%, g 9%, r 22%,
 * i 22%, z 20%, y 20%), a pair of visits in two bands every ~3 nights, single-visit 5-sigma
 * depths u 23.8 g 24.5 r 24.0 i 23.4 z 22.7 y 22.0 (Ivezic et al. 2019), 12 months of
 * diaSource history in each alert, forced photometry instead of upper limits.
 */
export const RUBIN: SurveySpec = {
  name: 'rubin', bands: [0, 1, 2, 3, 4, 5], bandWeights: [0.07, 0.09, 0.22, 0.22, 0.2, 0.2], bandsPerNight: 2,
  revisitNights: [2, 4], weatherLoss: 0.2, seasonDays: 200, limitMag: [23.8, 24.5, 24.0, 23.4, 22.7, 22.0], limitMagSd: 0.3,
  historyDays: 365, forcedPrecoveryDays: 30, peakMagRange: [17, 23.7], variableMagRange: [17, 23], epochJd: 2_460_800.5,
};

/** One observation: time, band code and 5-sigma limiting magnitude. */
export interface Visit {
  jd: number;
  band: number;
  limitMag: number;
}

/** `count` distinct band codes of `s`, drawn by weight without replacement. */
function drawBands(s: SurveySpec, count: number, rng: Rng): number[] {
  if (count >= s.bands.length) return [...s.bands];
  const chosen: number[] = [];
  while (chosen.length < count) {
    let u = rng.uniform() * s.bandWeights.reduce((a, w, i) => a + (chosen.includes(s.bands[i]!) ? 0 : w), 0);
    for (let i = 0; i < s.bands.length; i++) {
      if (chosen.includes(s.bands[i]!)) continue;
      u -= s.bandWeights[i]!;
      if (u < 0 || i === s.bands.length - 1) {
        chosen.push(s.bands[i]!);
        break;
      }
    }
  }
  return chosen;
}

/**
 * The visits of one field between `startJd` and `endJd`: nights every `revisitNights`, only
 * within the yearly season (its phase `seasonPhase` in [0, 1)), minus weather; on each night
 * `bandsPerNight` bands ~33 minutes apart, each with its own limiting magnitude.
 */
export function visits(s: SurveySpec, startJd: number, endJd: number, seasonPhase: number, rng: Rng): Visit[] {
  const out: Visit[] = [];
  const [lo, hi] = s.revisitNights;
  for (let night = Math.floor(startJd) + 0.5; night < endJd; night += lo + Math.floor(rng.uniform() * (hi - lo + 1))) {
    const inYear = (((night - s.epochJd) / 365.25 + seasonPhase) % 1 + 1) % 1;
    if (inYear * 365.25 > s.seasonDays || rng.uniform() < s.weatherLoss) continue;
    const t = night + 0.1 + 0.25 * rng.uniform(); // within the night (UT)
    drawBands(s, s.bandsPerNight, rng).forEach((band, k) => {
      out.push({ jd: t + k * 0.023, band, limitMag: s.limitMag[band]! + s.limitMagSd * rng.normal() });
    });
  }
  return out;
}
