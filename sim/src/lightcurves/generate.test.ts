import { describe, expect, it } from 'vitest';
import { createRng } from '../../../host/src/core/rng.js';
import { agnModel, blackbodyColour, drawTransient, type TransientModel } from './classes.js';
import { createAlertGenerator, DETECTION_SIGMA, redshiftOf } from './generate.js';
import { visits, ZTF } from './survey.js';

const G = 1;
const R = 2;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Rest-frame magnitude (up to a constant) of a transient in band `b` at `t` days after first light. */
function mag(m: TransientModel, b: number, t: number): number {
  return -2.5 * Math.log10(m.shape(t)) + blackbodyColour(b, m.kelvin(t));
}

/** Time of the brightest point of band `b`, searched on a 0.05-day grid. */
function peakDay(m: TransientModel, b: number): number {
  let best = 0.05;
  for (let t = 0.05; t < 200; t += 0.05) if (mag(m, b, t) < mag(m, b, best)) best = t;
  return best;
}

function draws(cls: 'SN Ia' | 'TDE', n: number, seed: number): TransientModel[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => drawTransient(cls, rng));
}

describe('synthetic transient classes against published figures', () => {
  const ia = draws('SN Ia', 200, 3);

  it('SN Ia rise to g maximum ~18.5-19 d (Firth et al. 2015: 18.98 d; Miller et al. 2020: 18.5 d)', () => {
    const rises = ia.map((m) => peakDay(m, G)); // first light is t = 0
    expect(mean(rises)).toBeGreaterThan(17.5);
    expect(mean(rises)).toBeLessThan(19.5);
  });

  it('SN Ia Delta m15(g) lies between the B (~1.1, Phillips 1993) and V (~0.65) figures', () => {
    const dm15 = ia.map((m) => {
      const p = peakDay(m, G);
      return mag(m, G, p + 15) - mag(m, G, p);
    });
    expect(mean(dm15)).toBeGreaterThan(0.65);
    expect(mean(dm15)).toBeLessThan(1.1);
  });

  it('SN Ia g - r is ~0 at peak and ~0.9-1.0 a month later (ZTF, Miller et al. 2020)', () => {
    const atPeak = ia.map((m) => mag(m, G, m.riseDays) - mag(m, R, m.riseDays));
    const month = ia.map((m) => mag(m, G, m.riseDays + 30) - mag(m, R, m.riseDays + 30));
    expect(Math.abs(mean(atPeak))).toBeLessThan(0.15);
    expect(mean(month)).toBeGreaterThan(0.75);
    expect(mean(month)).toBeLessThan(1.15);
  });

  it('TDEs are blue (g - r ~ -0.3 to -0.5) and keep their colour for two months (van Velzen et al. 2021)', () => {
    for (const m of draws('TDE', 50, 4)) {
      const p = m.riseDays;
      const c0 = mag(m, G, p) - mag(m, R, p);
      expect(c0).toBeLessThan(-0.2);
      expect(c0).toBeGreaterThan(-0.55);
      expect(Math.abs(mag(m, G, p + 60) - mag(m, R, p + 60) - c0)).toBeLessThan(0.02);
    }
  });
});

describe('AGN damped random walk', () => {
  it('has the structure function SF(dt) = SF_inf sqrt(1 - exp(-dt / tau)) of MacLeod et al. (2010)', () => {
    const tau = 200;
    const sfInf = 0.2;
    const lags = [5, 50, 200, 800];
    const sq = lags.map(() => 0);
    const counts = lags.map(() => 0);
    const rng = createRng(5);
    const dmag = new Float64Array(6);
    for (let walk = 0; walk < 200; walk++) {
      const m = agnModel(rng, 19, tau, sfInf);
      const series = new Float64Array(2000);
      for (let t = 0; t < series.length; t++) {
        m.step(t, dmag);
        series[t] = dmag[R]!; // r: the walk itself (amplitude 1)
      }
      lags.forEach((lag, k) => {
        for (let t = 0; t + lag < series.length; t += 7) {
          sq[k] += (series[t + lag]! - series[t]!) ** 2;
          counts[k]++;
        }
      });
    }
    lags.forEach((lag, k) => {
      const want = sfInf * Math.sqrt(1 - Math.exp(-lag / tau));
      expect(Math.sqrt(sq[k]! / counts[k]!) / want, `lag ${lag} d`).toBeGreaterThan(0.9);
      expect(Math.sqrt(sq[k]! / counts[k]!) / want, `lag ${lag} d`).toBeLessThan(1.1);
    });
  });
});

describe('survey sampling and alerts', () => {
  it('ZTF visits each of g and r every 2-3 nights within a season, less the weather (Bellm et al. 2019)', () => {
    const vs = visits(ZTF, ZTF.epochJd, ZTF.epochJd + 200, 0, createRng(6)).filter((v) => v.band === G);
    const gaps = vs.slice(1).map((v, i) => v.jd - vs[i]!.jd).sort((a, b) => a - b);
    const median = gaps[gaps.length >> 1]!;
    expect(median).toBeGreaterThanOrEqual(2);
    expect(median).toBeLessThanOrEqual(4);
    expect(vs.length).toBeGreaterThan(45); // 200 nights / 2.5 = 80 planned, 25% lost
    expect(vs.length).toBeLessThan(75);
  });

  it('redshift from distance modulus matches flat LCDM (H0 70, Omega_m 0.3: mu 38.31 at z 0.1, 40.95 at z 0.3)', () => {
    expect(redshiftOf(38.31)).toBeCloseTo(0.1, 2);
    expect(Math.abs(redshiftOf(40.95) / 0.3 - 1)).toBeLessThan(0.04);
  });

  it('puts every alert at a 5-sigma detection, with sorted points, the survey bands and history', () => {
    const next = createAlertGenerator(9);
    const surveys = new Set<string>();
    for (let i = 0; i < 350; i++) {
      const a = next();
      surveys.add(a.survey);
      const p = a.points;
      const last = p.count - 1;
      expect(p.jd[last]).toBe(a.jd);
      expect(p.upperLimit[last]).toBe(0);
      expect(Math.abs(p.flux[last]!) / p.fluxErr[last]!).toBeGreaterThanOrEqual(DETECTION_SIGMA * 0.999);
      for (let k = 1; k < p.count; k++) expect(p.jd[k]!).toBeGreaterThanOrEqual(p.jd[k - 1]!);
      expect(a.jd - p.jd[0]!).toBeLessThanOrEqual(a.survey === 'ztf' ? 30 : 365);
      if (a.survey === 'ztf') for (let k = 0; k < p.count; k++) expect([G, R]).toContain(p.band[k]);
    }
    expect([...surveys].sort()).toEqual(['rubin', 'ztf']);
  });

  it('gives ZTF packets upper limits and Rubin packets forced photometry from 30 days before the first detection (LSST DPDD)', () => {
    const next = createAlertGenerator(10);
    let ztfLimits = 0;
    let rubinForced = 0;
    for (let i = 0; i < 300; i++) {
      const a = next();
      const p = a.points;
      const limits = Array.from(p.upperLimit).filter((u) => u === 1).length;
      if (a.survey === 'ztf') ztfLimits += limits;
      if (a.survey !== 'rubin') continue;
      expect(limits).toBe(0);
      let first = 0;
      while (Math.abs(p.flux[first]!) < DETECTION_SIGMA * p.fluxErr[first]! * 0.999) first++;
      // Points before the first detection are the precovery's forced photometry only, unless
      // the 365-day history cut the packet after its first detection.
      if (p.jd[0]! > a.jd - 365 + 1) expect(p.jd[first]! - p.jd[0]!).toBeLessThanOrEqual(30);
      for (let k = 0; k < p.count; k++) rubinForced += Math.abs(p.flux[k]!) < DETECTION_SIGMA * p.fluxErr[k]! ? 1 : 0;
    }
    expect(ztfLimits).toBeGreaterThan(500);
    expect(rubinForced).toBeGreaterThan(500);
  });

  it('is reproducible from its seed', () => {
    const a = createAlertGenerator(21);
    const b = createAlertGenerator(21);
    for (let i = 0; i < 20; i++) expect(a()).toEqual(b());
  });
});
