import type { Rng } from '../../../host/src/core/rng.js';

/**
 * The physics of each synthetic transient class: a rest-frame r-band light-curve shape, a
 * photospheric temperature history (band colours come from a blackbody at that temperature),
 * and the peak absolute magnitude, each drawn from distributions read off the literature
 * (cited per class). Good enough for a classifier to learn time scales and colours; not a
 * spectral model (no UV line blanketing, no SN Ia secondary i-band maximum).
 */
export const TRANSIENT_CLASSES = ['SN Ia', 'SN II', 'SN Ibc', 'SLSN', 'TDE', 'AGN', 'Periodic'] as const;
export type TransientClass = (typeof TRANSIENT_CLASSES)[number];

/** Effective wavelengths of u g r i z y in microns (LSST filters; ZTF g/r/i lie within 2-4%). */
export const BAND_WAVELENGTH_UM = [0.3671, 0.4827, 0.6223, 0.7546, 0.8691, 0.9712] as const;
const R_BAND = 2;
/** hc/k in micron kelvin (Wien's x = hc / (lambda k T)). */
const HC_OVER_K_UM_K = 14387.77;

/** Magnitude of band `b` minus the r magnitude of a blackbody at `kelvin` (AB, f_nu). */
export function blackbodyColour(b: number, kelvin: number): number {
  const fnu = (um: number) => 1 / (um * um * um * Math.expm1(HC_OVER_K_UM_K / (um * kelvin)));
  return -2.5 * Math.log10(fnu(BAND_WAVELENGTH_UM[b]!) / fnu(BAND_WAVELENGTH_UM[R_BAND]!));
}

/** A drawn explosive transient: shape in rest-frame days since explosion (or since peak for TDEs). */
export interface TransientModel {
  kind: 'transient';
  cls: TransientClass;
  peakAbsMag: number;
  /** Rest-frame days from first light to the r-band peak. */
  riseDays: number;
  /** r-band flux relative to peak at rest-frame `t` days after first light (0 before). */
  shape(t: number): number;
  /** Photospheric temperature (K) at rest-frame `t`. */
  kelvin(t: number): number;
}

/** A drawn variable: magnitude offset of band b around its mean at observer time `t` days. */
export interface VariableModel {
  kind: 'variable';
  cls: TransientClass;
  /** Mean r magnitude (apparent); other bands by `meanColour`. */
  meanMagR: number;
  meanColour: readonly number[];
  /** Fills `dmag[b]` (mag, positive = fainter) at observer-frame `t`; times come in increasing order. */
  step(t: number, dmag: Float64Array): void;
}

export type ObjectModel = TransientModel | VariableModel;

const gauss = (rng: Rng, mean: number, sd: number, lo = -Infinity, hi = Infinity) => Math.min(hi, Math.max(lo, mean + sd * rng.normal()));

/** Cooling from `hot` to `cool` kelvin with e-folding `tauDays` after the peak at `peakDays`. */
function cooling(hot: number, cool: number, peakDays: number, tauDays: number) {
  return (t: number) => (t <= peakDays ? hot : cool + (hot - cool) * Math.exp(-(t - peakDays) / tauDays));
}

/** Linear cooling from `hot` to `cool` kelvin over `days` after the peak, then constant. */
function linearCooling(hot: number, cool: number, peakDays: number, days: number) {
  return (t: number) => (t <= peakDays ? hot : hot - (hot - cool) * Math.min(1, (t - peakDays) / days));
}

/** Fireball rise L ~ t^2 (Riess et al. 1999) to the peak, then `decline(days after peak)`. */
function riseThen(riseDays: number, decline: (dt: number) => number) {
  return (t: number) => (t <= 0 ? 0 : t <= riseDays ? (t / riseDays) ** 2 : decline(t - riseDays));
}

/**
 * SN Ia: rise 18.5 +- 1.5 d (Miller et al. 2020, ZTF g: 18.5 d; Firth et al. 2015: 18.98 d),
 * r-band decline Delta m15(r) 0.65 +- 0.12 mag (Phillips-relation fast/slow spread), peak
 * M = -19.2 +- 0.3, ~10,000 K at peak cooling linearly to 4,100 K at +30 d (g - r ~ 0 at
 * peak, ~0.9 at +30 d as in ZTF's sample; the later return to the blue is left out).
 */
function snIa(rng: Rng): TransientModel {
  const rise = gauss(rng, 18.5, 1.5, 14, 24);
  const tauDays = (15 * 2.5) / (Math.LN10 * gauss(rng, 0.65, 0.12, 0.35, 1.0));
  const hot = gauss(rng, 10_000, 800, 8_000, 12_500);
  return { kind: 'transient', cls: 'SN Ia', peakAbsMag: gauss(rng, -19.2, 0.3), riseDays: rise, shape: riseThen(rise, (dt) => Math.exp(-dt / tauDays)), kelvin: linearCooling(hot, 4_100, rise, 30) };
}

/**
 * SN II (IIP): rise 7.5 +- 2.5 d (Gonzalez-Gaitan et al. 2015), a plateau of 90 +- 20 d
 * declining 1.0 +- 0.5 mag/100 d (Anderson et al. 2014), a 2 mag drop over ~20 d onto the
 * 56Co tail (0.98 mag/100 d); M = -16.8 +- 1.0 (Richardson et al. 2014); 15,000 K cooling
 * to the ~6,000 K of hydrogen recombination (Faran et al. 2018).
 */
function snII(rng: Rng): TransientModel {
  const rise = gauss(rng, 7.5, 2.5, 2, 15);
  const plateau = gauss(rng, 90, 20, 40, 140);
  const slope = gauss(rng, 0.01, 0.005, 0, 0.03); // mag/day
  const decline = (dt: number) => {
    const plateauMag = slope * Math.min(dt, plateau);
    const drop = dt <= plateau ? 0 : 2 * Math.min(1, (dt - plateau) / 20);
    const tail = dt <= plateau + 20 ? 0 : 0.0098 * (dt - plateau - 20);
    return 10 ** (-0.4 * (plateauMag + drop + tail));
  };
  return { kind: 'transient', cls: 'SN II', peakAbsMag: gauss(rng, -16.8, 1.0), riseDays: rise, shape: riseThen(rise, decline), kelvin: cooling(gauss(rng, 15_000, 2_000, 11_000, 20_000), 6_000, rise, 12) };
}

/**
 * SN Ib/c: rise 13 +- 3 d and Delta m15(R) 0.8 +- 0.2 mag (Drout et al. 2011; Taddia et al.
 * 2015), M = -17.6 +- 0.7, red (7,500 K at peak, host extinction), cooling to 4,500 K.
 */
function snIbc(rng: Rng): TransientModel {
  const rise = gauss(rng, 13, 3, 7, 22);
  const tauDays = (15 * 2.5) / (Math.LN10 * gauss(rng, 0.8, 0.2, 0.4, 1.4));
  return { kind: 'transient', cls: 'SN Ibc', peakAbsMag: gauss(rng, -17.6, 0.7), riseDays: rise, shape: riseThen(rise, (dt) => Math.exp(-dt / tauDays)), kelvin: cooling(gauss(rng, 7_500, 800, 6_000, 9_500), 4_500, rise, 20) };
}

/**
 * SLSN-I: slow rise 35 +- 12 d and exponential decline with e-folding 50 +- 15 d (Nicholl
 * et al. 2015; De Cia et al. 2018, ~0.02 mag/d), M = -21.3 +- 0.6, hot (15,000 K) and slowly
 * cooling to 7,000 K.
 */
function slsn(rng: Rng): TransientModel {
  const rise = gauss(rng, 35, 12, 15, 80);
  const tauDays = gauss(rng, 50, 15, 20, 100);
  return { kind: 'transient', cls: 'SLSN', peakAbsMag: gauss(rng, -21.3, 0.6), riseDays: rise, shape: riseThen(rise, (dt) => Math.exp(-dt / tauDays)), kelvin: cooling(gauss(rng, 15_000, 2_000, 11_000, 20_000), 7_000, rise, 60) };
}

/**
 * TDE: Gaussian rise (sigma 18 +- 6 d) and a t^(-5/3) fallback decline (Rees 1988; the
 * shape and time scales of van Velzen et al. 2021's ZTF sample), M = -19.7 +- 0.6, hot and
 * constant temperature, 25,000 +- 5,000 K (g - r ~ -0.4, no reddening: their hallmark).
 */
function tde(rng: Rng): TransientModel {
  const sigma = gauss(rng, 18, 6, 5, 40);
  const t0 = gauss(rng, 40, 15, 10, 90);
  const start = 3 * sigma; // first light: 3 sigma before the peak (1% of it)
  const kelvin = gauss(rng, 25_000, 5_000, 15_000, 40_000);
  const shape = (t: number) => {
    if (t <= 0) return 0;
    const dt = t - start;
    return dt <= 0 ? Math.exp(-(dt * dt) / (2 * sigma * sigma)) : ((dt + t0) / t0) ** (-5 / 3);
  };
  return { kind: 'transient', cls: 'TDE', peakAbsMag: gauss(rng, -19.7, 0.6), riseDays: start, shape, kelvin: () => kelvin };
}

/** SF(inf) of the DRW in mag, and tau in days; bands scale the amplitude (bluer = more variable). */
const AGN_BAND_AMPLITUDE = [1.6, 1.3, 1.0, 0.85, 0.75, 0.7] as const;

/**
 * AGN: a damped random walk in magnitude (Kelly et al. 2009; MacLeod et al. 2010: tau ~ 200 d
 * with log10 scatter 0.3, SF(inf) ~ 0.2 mag), the same walk in every band scaled bluer-when-
 * brighter. The walk is the exact Ornstein-Uhlenbeck update between sample times.
 */
export function agnModel(rng: Rng, meanMagR: number, tauDays: number, sfInfMag: number): VariableModel {
  let x = (sfInfMag / Math.SQRT2) * rng.normal(); // stationary start: variance SF^2 / 2
  let last = Number.NaN;
  return {
    kind: 'variable', cls: 'AGN', meanMagR, meanColour: [0.5, 0.2, 0, -0.1, -0.2, -0.3],
    step(t, dmag) {
      if (!Number.isNaN(last)) {
        const a = Math.exp(-(t - last) / tauDays);
        x = a * x + (sfInfMag / Math.SQRT2) * Math.sqrt(1 - a * a) * rng.normal();
      }
      last = t;
      for (let b = 0; b < dmag.length; b++) dmag[b] = x * AGN_BAND_AMPLITUDE[b]!;
    },
  };
}

/** RR Lyrae amplitude by band relative to g (A_r / A_g ~ 0.75, Sesar et al. 2010). */
const RRL_BAND_AMPLITUDE = [1.25, 1.0, 0.75, 0.6, 0.55, 0.5] as const;

/**
 * Periodic: RR Lyrae. 70% RRab, a sawtooth (rise over 15% of the phase, linear decline)
 * with P = 0.57 +- 0.07 d and A_g = 0.9 +- 0.2 mag; 30% RRc, a sinusoid with P = 0.32 +-
 * 0.04 d and A_g = 0.45 +- 0.1 mag (Sesar et al. 2010, SDSS Stripe 82).
 */
export function periodicModel(rng: Rng, meanMagR: number): VariableModel {
  const ab = rng.uniform() < 0.7;
  const period = ab ? gauss(rng, 0.57, 0.07, 0.4, 0.8) : gauss(rng, 0.32, 0.04, 0.2, 0.45);
  const amp = ab ? gauss(rng, 0.9, 0.2, 0.4, 1.4) : gauss(rng, 0.45, 0.1, 0.2, 0.7);
  const phase0 = rng.uniform();
  // Brightness in [-0.5, 0.5]: the RRab climbs in 15% of the cycle and fades over the rest.
  const wave = (p: number) => (ab ? (p < 0.15 ? -0.5 + p / 0.15 : 0.5 - (p - 0.15) / 0.85) : 0.5 * Math.cos(2 * Math.PI * p));
  return {
    kind: 'variable', cls: 'Periodic', meanMagR, meanColour: [1.2, 0.25, 0, -0.1, -0.15, -0.2],
    step(t, dmag) {
      const p = (t / period + phase0) % 1;
      for (let b = 0; b < dmag.length; b++) dmag[b] = -amp * RRL_BAND_AMPLITUDE[b]! * wave(p);
    },
  };
}

/** Draws the rest-frame model of an explosive transient class. */
export function drawTransient(cls: TransientClass, rng: Rng): TransientModel {
  switch (cls) {
    case 'SN Ia': return snIa(rng);
    case 'SN II': return snII(rng);
    case 'SN Ibc': return snIbc(rng);
    case 'SLSN': return slsn(rng);
    case 'TDE': return tde(rng);
    default: throw new RangeError(`${cls} is not an explosive transient`);
  }
}
