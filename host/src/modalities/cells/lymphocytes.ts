import { assert } from '../../core/assert.js';
import { ConfigError } from '../../core/errors.js';
import { createRng, type Rng } from '../../core/rng.js';

/**
 * Synthetic bright-field crops of single lymphocytes in three classes, standing in for the
 * FPGA cell sorter's data (48x48 grey crops of B, CD4+ T and CD8+ T cells).
 *
 * Each frame is rendered in three steps, all in preallocated scratch:
 *  1. the specimen as a transmission offset `m` (0 = clear medium, negative = absorbs):
 *     cytoplasm, a darker textured nucleus, cytoplasmic granules, and the phase-edge ring,
 *     outer halo and lens term that bright field shows at a cell's rim;
 *  2. defocus: a box blur, twice (close to a Gaussian), of a radius set by the cell's focus;
 *  3. exposure: uneven illumination times `(1 + m)`, plus read noise and shot noise whose
 *     variance grows with the grey level, rounded and clamped to 0..255.
 *
 * The classes differ in latent cell parameters (`LYMPHOCYTE_CLASS_PARAMS`) whose
 * distributions overlap on purpose: no image classifier can separate them perfectly. The
 * nuisance parameters (`lymphocyteNuisance`) are drawn the same way for every class.
 */

export const LYMPHOCYTE_LABELS = ['B', 'T4', 'T8'] as const;

/** Bounds and table sizes, unit last. */
export const lymphocyteLimits = {
  sizePxMin: 16,
  sizePxMax: 256,
  sizePxDefault: 48,
  /** The crop side the physical parameters below are stated for; other sizes scale them. */
  referenceSizePx: 48,
  /** Entries in the standard-normal table that per-pixel noise draws from (power of two). */
  normalTableEntries: 65_536,
  /** Smallest side of the toroidal texture fields (power of two); larger crops get 2x size. */
  textureSidePxMin: 128,
  /** Resolution of the radial lookup tables. */
  lutStepsPerPx: 8,
  /** Defocus is quantised to this many levels over -1..1 (odd: 0 is one), so that the edge
   * tables for every level are built once at creation instead of once per frame. */
  defocusLevels: 65,
} as const;

/** Latent parameters of one class, at the 48-px reference crop. Means and spreads. */
export interface LymphocyteClassParams {
  /** Cell diameter, pixels (about 0.35 um per pixel at the reference crop). */
  readonly diameterPxMean: number;
  readonly diameterPxSd: number;
  /** Nucleus diameter over cell diameter. */
  readonly ncRatioMean: number;
  readonly ncRatioSd: number;
  /** Chromatin grain: 0 = fine and even, 1 = coarse clumps. */
  readonly chromatinGrainMean: number;
  readonly chromatinGrainSd: number;
  /** Chromatin contrast, as transmission loss per unit of texture. */
  readonly chromatinContrastMean: number;
  readonly chromatinContrastSd: number;
  /** Cytoplasmic granules (CD8+ cytotoxic granules), transmission loss per unit density. */
  readonly granularityMean: number;
  readonly granularitySd: number;
}

/**
 * Class designs, indexed like `LYMPHOCYTE_LABELS`. The three classes overlap in every
 * parameter; what separates them is the combination. B: largest, highest N/C, coarse
 * chromatin. T4: mid size, the most cytoplasm, few granules. T8: smallest, granular.
 */
export const LYMPHOCYTE_CLASS_PARAMS: readonly LymphocyteClassParams[] = [
  {
    diameterPxMean: 25.5, diameterPxSd: 1.6, ncRatioMean: 0.82, ncRatioSd: 0.03,
    chromatinGrainMean: 0.8, chromatinGrainSd: 0.15, chromatinContrastMean: 0.11,
    chromatinContrastSd: 0.02, granularityMean: 0.008, granularitySd: 0.01,
  },
  {
    diameterPxMean: 23, diameterPxSd: 1.6, ncRatioMean: 0.72, ncRatioSd: 0.03,
    chromatinGrainMean: 0.45, chromatinGrainSd: 0.15, chromatinContrastMean: 0.08,
    chromatinContrastSd: 0.02, granularityMean: 0.01, granularitySd: 0.008,
  },
  {
    diameterPxMean: 21, diameterPxSd: 1.6, ncRatioMean: 0.78, ncRatioSd: 0.03,
    chromatinGrainMean: 0.3, chromatinGrainSd: 0.15, chromatinContrastMean: 0.07,
    chromatinContrastSd: 0.02, granularityMean: 0.055, granularitySd: 0.012,
  },
];

/**
 * Nuisance shared by all classes. Lengths are pixels at the reference crop; grey levels are
 * 0..255 units of the output; amplitudes without a unit are fractions of transmission.
 */
export const lymphocyteNuisance = {
  /** Background (clear medium) level, uniform between these. */
  illuminationGreyMin: 170,
  illuminationGreyMax: 200,
  /** Largest illumination change across the crop, as a fraction of the level. */
  illuminationGradientMax: 0.08,
  /** Cell centre offset from the crop centre, each axis, uniform in +-this. */
  positionJitterPx: 3,
  /** Axis ratio is 1 + |N(0, sd)|, capped. */
  aspectSd: 0.06,
  aspectMax: 1.2,
  /** Signed defocus d ~ N(0, sd) clipped to +-1; + is above focus. */
  defocusSd: 0.4,
  /** Box-blur radius at |d| = 1 (rounded per frame; two passes). */
  blurPxPerDefocus: 1.5,
  cytoplasmAbsorbMean: 0.06,
  cytoplasmAbsorbSd: 0.015,
  nucleusAbsorbMean: 0.2,
  nucleusAbsorbSd: 0.03,
  /** Dark ring at the membrane: amplitude base + slope * d (goes bright below focus). */
  ringBase: 0.1,
  ringPerDefocus: 0.12,
  ringWidthPx: 0.8,
  ringWidthPerDefocusPx: 0.6,
  /** Bright halo just outside the membrane. */
  haloBase: 0.05,
  haloPerDefocus: 0.05,
  haloOffsetPx: 2,
  haloWidthPx: 1.5,
  /** Cell-as-lens brightening of the centre, per unit of signed defocus. */
  lensPerDefocus: 0.06,
  membraneWidthPx: 0.5,
  nucleusEdgeWidthPx: 0.6,
  /** Nucleus centre may sit off the cell centre by up to this fraction of the free radius. */
  nucleusEccentricityMax: 0.8,
  /** Additive read noise, standard deviation uniform between these. */
  readNoiseSdGreyMin: 1.5,
  readNoiseSdGreyMax: 3.5,
  /** Shot noise: variance = gain * grey level (Poisson-like), gain uniform between these. */
  shotGainMin: 0.02,
  shotGainMax: 0.06,
  /** Texture correlation lengths (Gaussian sigma) of the stock fields. */
  fineTextureSigmaPx: 0.8,
  coarseTextureSigmaPx: 2,
  granuleSigmaPx: 0.6,
  /** Bounds on the specimen's transmission (1 = clear medium). */
  transmissionMin: 0.35,
  transmissionMax: 1.25,
  /** Granules are the peaks of a noise field above this many standard deviations. */
  granuleThresholdSd: 1.5,
} as const;

export interface LymphocyteGeneratorOptions {
  /** Any safe integer; the whole stream (frames and labels) is a function of it. */
  seed: number;
  /** Crop side in pixels, an integer in 16..256; default 48. */
  size?: number;
  /** Relative class frequencies, indexed like `LYMPHOCYTE_LABELS`; default equal. */
  classWeights?: readonly number[];
}

/** A stream of labelled crops. Not shared between threads; one caller at a time. */
export interface LymphocyteGenerator {
  /** Class names, indexed by the value `next` returns. */
  readonly labels: readonly string[];
  /** Crop side in pixels. */
  readonly size: number;
  /** size*size: uint8, one channel, row-major HWC with C = 1. */
  readonly frameBytes: number;
  /** Renders the next cell into out[offset .. offset+frameBytes) as uint8 grey levels; returns
   * its class index. Allocation-free per call (all scratch buffers preallocated at creation). */
  next(out: Uint8Array, offset?: number): number;
}

/** Slots of this frame's uniform draws. */
const U_ = {
  class: 0, rotation: 1, nucleusOffset: 2, nucleusAngle: 3, jitterX: 4, jitterY: 5,
  illumination: 6, gradient: 7, gradientAngle: 8, readNoise: 9, shotGain: 10,
  textureX: 11, textureY: 12, granuleX: 13, granuleY: 14,
} as const;
/** Slots of this frame's standard-normal draws. */
const N_ = {
  diameter: 0, ncRatio: 1, grain: 2, chromatin: 3, granularity: 4, aspect: 5,
  cytoplasmAbsorb: 6, nucleusAbsorb: 7, defocus: 8,
} as const;
/** Uniforms and normals drawn per frame (even, so Box-Muller leaves no spare between frames). */
const drawsPerFrame = 16;

// Edge lookup spans: inside the membrane up to this depth the ring/step tables apply, beyond
// it the interior is flat; outside, the halo table reaches haloOffset + 3 widths at |d| = 1.
const edgeInRefPx = 5;
const edgeOutRefPxMax =
  lymphocyteNuisance.haloOffsetPx + 3 * lymphocyteNuisance.haloWidthPx * 2 + 1;
const nucleusEdgeRefPx = 4;

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function validateOptions(opts: LymphocyteGeneratorOptions): { size: number; cum: Float64Array } {
  const where = 'sim.lymphocytes';
  if (opts === null || typeof opts !== 'object') {
    throw new ConfigError(where, 'options must be an object with at least { seed }');
  }
  const { seed, size = lymphocyteLimits.sizePxDefault, classWeights } = opts;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new ConfigError(`${where}.seed`, `seed must be a finite integer within +-(2^53-1), got ${String(seed)}`);
  }
  const { sizePxMin, sizePxMax } = lymphocyteLimits;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < sizePxMin || size > sizePxMax) {
    throw new ConfigError(`${where}.size`, `size must be an integer in ${sizePxMin}..${sizePxMax} pixels, got ${String(size)}`);
  }
  const n = LYMPHOCYTE_LABELS.length;
  const weights = classWeights ?? [1, 1, 1];
  if (!Array.isArray(weights) && !ArrayBuffer.isView(weights)) {
    throw new ConfigError(`${where}.classWeights`, `classWeights must be an array of ${n} numbers`);
  }
  if (weights.length !== n) {
    throw new ConfigError(`${where}.classWeights`, `classWeights must have length ${n} (${LYMPHOCYTE_LABELS.join(', ')}), got ${weights.length}`);
  }
  let sum = 0;
  for (let k = 0; k < n; k++) {
    const w = weights[k];
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new ConfigError(`${where}.classWeights[${k}]`, `class weight must be a finite number >= 0, got ${String(w)}`);
    }
    sum += w;
  }
  if (!(sum > 0) || !Number.isFinite(sum)) {
    throw new ConfigError(`${where}.classWeights`, `classWeights must have a positive finite sum, got ${sum}`);
  }
  const cum = new Float64Array(n);
  let acc = 0;
  for (let k = 0; k < n; k++) {
    acc += weights[k] / sum;
    cum[k] = acc;
  }
  cum[n - 1] = 1; // rounding must not leave a sliver of [0, 1) unassigned
  return { size, cum };
}

/** A toroidal field of unit-variance Gaussian noise, low-passed with a Gaussian of `sigmaPx`. */
function makeTextureField(rng: Rng, side: number, sigmaPx: number): Float32Array {
  const n = side * side;
  const white = new Float32Array(n);
  for (let i = 0; i < n; i++) white[i] = rng.normal();
  const half = Math.ceil(3 * sigmaPx);
  const kernel = new Float32Array(2 * half + 1);
  for (let k = -half; k <= half; k++) kernel[k + half] = Math.exp((-k * k) / (2 * sigmaPx * sigmaPx));
  const mask = side - 1;
  const rows = new Float32Array(n);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let acc = 0;
      for (let k = -half; k <= half; k++) acc += kernel[k + half] * white[y * side + ((x + k) & mask)];
      rows[y * side + x] = acc;
    }
  }
  const field = white; // reuse: the white noise is no longer needed
  let mean = 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let acc = 0;
      for (let k = -half; k <= half; k++) acc += kernel[k + half] * rows[((y + k) & mask) * side + x];
      field[y * side + x] = acc;
      mean += acc;
    }
  }
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (field[i] - mean) ** 2;
  const scale = 1 / Math.sqrt(variance / n);
  for (let i = 0; i < n; i++) field[i] = (field[i] - mean) * scale;
  return field;
}

/** Sparse granules: the peaks of a fine field above a threshold, rescaled to unit RMS. */
function makeGranuleField(rng: Rng, side: number, sigmaPx: number): Float32Array {
  const field = makeTextureField(rng, side, sigmaPx);
  let sq = 0;
  for (let i = 0; i < field.length; i++) {
    const g = field[i] - lymphocyteNuisance.granuleThresholdSd;
    field[i] = g > 0 ? g : 0;
    sq += field[i] * field[i];
  }
  const scale = 1 / Math.sqrt(sq / field.length);
  for (let i = 0; i < field.length; i++) field[i] *= scale;
  return field;
}

/** One horizontal box-blur pass of radius r with clamped edges, src -> dst. */
function boxBlurRows(src: Float32Array, dst: Float32Array, size: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  const last = size - 1;
  for (let y = 0; y < size; y++) {
    const row = y * size;
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += src[row + clamp(k, 0, last)];
    for (let x = 0; x < size; x++) {
      dst[row + x] = acc * inv;
      const add = x + r + 1;
      const sub = x - r;
      acc += src[row + (add > last ? last : add)] - src[row + (sub < 0 ? 0 : sub)];
    }
  }
}

/** One vertical box-blur pass of radius r with clamped edges, src -> dst. */
function boxBlurCols(src: Float32Array, dst: Float32Array, size: number, r: number): void {
  const inv = 1 / (2 * r + 1);
  const last = size - 1;
  for (let x = 0; x < size; x++) {
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += src[clamp(k, 0, last) * size + x];
    for (let y = 0; y < size; y++) {
      dst[y * size + x] = acc * inv;
      const add = y + r + 1;
      const sub = y - r;
      acc += src[(add > last ? last : add) * size + x] - src[(sub < 0 ? 0 : sub) * size + x];
    }
  }
}

class LymphocyteGeneratorImpl implements LymphocyteGenerator {
  readonly labels: readonly string[] = LYMPHOCYTE_LABELS;
  readonly size: number;
  readonly frameBytes: number;

  private readonly rng: Rng;
  private readonly cum: Float64Array;
  private readonly scalePx: number;
  // Scratch, preallocated: the specimen and the blur's intermediate.
  private readonly scene: Float32Array;
  private readonly tmp: Float32Array;
  // Lookup tables over signed distance to the membrane / nuclear envelope, one row per
  // defocus level: rows of `edgeStride` (membrane step, rim) and `nucStride` (nuclear step).
  private readonly cellStepLut: Float32Array;
  private readonly rimLut: Float32Array;
  private readonly nucStepLut: Float32Array;
  private readonly edgeOutPxByLevel: Float64Array;
  private readonly edgeStride: number;
  private readonly nucStride: number;
  private readonly noiseSdLut = new Float32Array(256);
  /** This frame's random draws, filled in one call each (see `Rng`: no boxed floats). */
  private readonly uniforms = new Float64Array(drawsPerFrame);
  private readonly normals = new Float64Array(drawsPerFrame);
  private readonly noiseBits: Uint32Array;
  private readonly normalTable: Float32Array;
  private readonly fine: Float32Array;
  private readonly coarse: Float32Array;
  private readonly granules: Float32Array;
  private readonly texSide: number;
  private readonly edgeInPx: number;
  private readonly nucEdgePx: number;

  // The current cell, drawn by drawCell() and read by the render steps.
  private cls = 0;
  private cx = 0;
  private cy = 0;
  private radiusPx = 0;
  private invA = 0;
  private invB = 0;
  private cosT = 1;
  private sinT = 0;
  private nucRadiusPx = 0;
  private nucInvA = 0;
  private nucInvB = 0;
  private nucU = 0;
  private nucV = 0;
  private defocusLevel = 0;
  private lensAmp = 0;
  private cytAbsorb = 0;
  private nucAbsorb = 0;
  private chromFine = 0;
  private chromCoarse = 0;
  private granAmp = 0;
  private blurPx = 0;
  private illum = 0;
  private gradX = 0;
  private gradY = 0;
  private texOx = 0;
  private texOy = 0;
  private granOx = 0;
  private granOy = 0;

  constructor(seed: number, size: number, cum: Float64Array) {
    this.size = size;
    this.frameBytes = size * size;
    this.cum = cum;
    this.rng = createRng(seed);
    this.scalePx = size / lymphocyteLimits.referenceSizePx;
    this.scene = new Float32Array(size * size);
    this.tmp = new Float32Array(size * size);
    this.noiseBits = new Uint32Array(Math.ceil((size * size) / 2));
    const steps = lymphocyteLimits.lutStepsPerPx;
    this.edgeInPx = edgeInRefPx * this.scalePx;
    this.nucEdgePx = nucleusEdgeRefPx * this.scalePx;
    const levels = lymphocyteLimits.defocusLevels;
    this.edgeStride = Math.ceil((this.edgeInPx + edgeOutRefPxMax * this.scalePx) * steps) + 2;
    this.nucStride = Math.ceil(2 * this.nucEdgePx * steps) + 2;
    this.cellStepLut = new Float32Array(levels * this.edgeStride);
    this.rimLut = new Float32Array(levels * this.edgeStride);
    this.nucStepLut = new Float32Array(levels * this.nucStride);
    this.edgeOutPxByLevel = new Float64Array(levels);
    for (let level = 0; level < levels; level++) this.buildLuts(level);
    this.normalTable = new Float32Array(lymphocyteLimits.normalTableEntries);
    for (let i = 0; i < this.normalTable.length; i++) this.normalTable[i] = this.rng.normal();
    this.texSide = nextPow2(Math.max(lymphocyteLimits.textureSidePxMin, 2 * size));
    const nu = lymphocyteNuisance;
    this.fine = makeTextureField(this.rng, this.texSide, nu.fineTextureSigmaPx * this.scalePx);
    this.coarse = makeTextureField(this.rng, this.texSide, nu.coarseTextureSigmaPx * this.scalePx);
    this.granules = makeGranuleField(this.rng, this.texSide, nu.granuleSigmaPx * this.scalePx);
  }

  next(out: Uint8Array, offset = 0): number {
    assert(
      out instanceof Uint8Array && Number.isInteger(offset) && offset >= 0 && offset + this.frameBytes <= out.length,
      'lymphocytes.next: out must be a Uint8Array holding frameBytes from offset',
    );
    this.drawCell();
    this.renderScene();
    const r = this.blurPx;
    if (r > 0) {
      for (let pass = 0; pass < 2; pass++) {
        boxBlurRows(this.scene, this.tmp, this.size, r);
        boxBlurCols(this.tmp, this.scene, this.size, r);
      }
    }
    this.expose(out, offset);
    return this.cls;
  }

  /** Draws the class, its latent parameters and this frame's nuisance. */
  private drawCell(): void {
    // A fixed number of draws per frame, whatever the class, keeps the stream's layout simple.
    this.rng.fillUniform(this.uniforms, drawsPerFrame);
    this.rng.fillNormal(this.normals, drawsPerFrame);
    const U = this.uniforms;
    const N = this.normals;
    const nu = lymphocyteNuisance;
    const s = this.scalePx;
    let k = 0;
    while (k < this.cum.length - 1 && U[U_.class] >= this.cum[k]) k++;
    this.cls = k;
    const p = LYMPHOCYTE_CLASS_PARAMS[k];
    const diameterPx = clamp(p.diameterPxMean + p.diameterPxSd * N[N_.diameter], 12, 36) * s;
    const nc = clamp(p.ncRatioMean + p.ncRatioSd * N[N_.ncRatio], 0.5, 0.93);
    const grain = clamp(p.chromatinGrainMean + p.chromatinGrainSd * N[N_.grain], 0, 1);
    const chrom = Math.max(0, p.chromatinContrastMean + p.chromatinContrastSd * N[N_.chromatin]);
    this.granAmp = Math.max(0, p.granularityMean + p.granularitySd * N[N_.granularity]);
    // Mix fine and coarse fields at unit variance whatever the grain.
    const norm = Math.sqrt((1 - grain) ** 2 + grain ** 2);
    this.chromFine = (chrom * (1 - grain)) / norm;
    this.chromCoarse = (chrom * grain) / norm;

    const R = diameterPx / 2;
    const aspect = Math.min(nu.aspectMax, 1 + Math.abs(nu.aspectSd * N[N_.aspect]));
    const sq = Math.sqrt(aspect);
    const theta = Math.PI * U[U_.rotation];
    this.radiusPx = R;
    this.cosT = Math.cos(theta);
    this.sinT = Math.sin(theta);
    this.invA = 1 / (R * sq);
    this.invB = sq / R;
    const Rn = nc * R;
    this.nucRadiusPx = Rn;
    this.nucInvA = 1 / (Rn * sq);
    this.nucInvB = sq / Rn;
    const off = nu.nucleusEccentricityMax * U[U_.nucleusOffset] * (R - Rn);
    const phi = 2 * Math.PI * U[U_.nucleusAngle];
    this.nucU = off * Math.cos(phi);
    this.nucV = off * Math.sin(phi);
    const centre = (this.size - 1) / 2;
    this.cx = centre + nu.positionJitterPx * s * (2 * U[U_.jitterX] - 1);
    this.cy = centre + nu.positionJitterPx * s * (2 * U[U_.jitterY] - 1);
    this.cytAbsorb = Math.max(0, nu.cytoplasmAbsorbMean + nu.cytoplasmAbsorbSd * N[N_.cytoplasmAbsorb]);
    this.nucAbsorb = Math.max(0, nu.nucleusAbsorbMean + nu.nucleusAbsorbSd * N[N_.nucleusAbsorb]);
    this.drawNuisance();
  }

  /** Focus, illumination, noise and texture placement: the same law for every class. */
  private drawNuisance(): void {
    const U = this.uniforms;
    const nu = lymphocyteNuisance;
    const half = (lymphocyteLimits.defocusLevels - 1) / 2;
    const level = Math.round((clamp(nu.defocusSd * this.normals[N_.defocus], -1, 1) + 1) * half);
    const d = level / half - 1;
    this.defocusLevel = level;
    this.blurPx = Math.round(Math.abs(d) * nu.blurPxPerDefocus * this.scalePx);
    this.lensAmp = nu.lensPerDefocus * d;
    this.illum = nu.illuminationGreyMin + (nu.illuminationGreyMax - nu.illuminationGreyMin) * U[U_.illumination];
    const g = nu.illuminationGradientMax * U[U_.gradient];
    const psi = 2 * Math.PI * U[U_.gradientAngle];
    this.gradX = (this.illum * g * Math.cos(psi)) / this.size;
    this.gradY = (this.illum * g * Math.sin(psi)) / this.size;
    const read = nu.readNoiseSdGreyMin + (nu.readNoiseSdGreyMax - nu.readNoiseSdGreyMin) * U[U_.readNoise];
    const gain = nu.shotGainMin + (nu.shotGainMax - nu.shotGainMin) * U[U_.shotGain];
    for (let v = 0; v < 256; v++) this.noiseSdLut[v] = Math.sqrt(read * read + gain * v);
    const side = this.texSide;
    this.texOx = Math.floor(U[U_.textureX] * side);
    this.texOy = Math.floor(U[U_.textureY] * side);
    this.granOx = Math.floor(U[U_.granuleX] * side);
    this.granOy = Math.floor(U[U_.granuleY] * side);
    this.rng.fillUint32(this.noiseBits, this.noiseBits.length);
  }

  /** Tabulates membrane step, rim (ring + halo) and nuclear step for one defocus level. */
  private buildLuts(level: number): void {
    const nu = lymphocyteNuisance;
    const s = this.scalePx;
    const d = (2 * level) / (lymphocyteLimits.defocusLevels - 1) - 1;
    const ad = Math.abs(d);
    const steps = lymphocyteLimits.lutStepsPerPx;
    const wEdge = nu.membraneWidthPx * s * (1 + ad);
    const ringAmp = nu.ringBase + nu.ringPerDefocus * d;
    const wRing = (nu.ringWidthPx + nu.ringWidthPerDefocusPx * ad) * s;
    const haloAmp = nu.haloBase + nu.haloPerDefocus * ad;
    const haloOff = nu.haloOffsetPx * s;
    const wHalo = nu.haloWidthPx * s * (1 + ad);
    const edgeOutPx = haloOff + 3 * wHalo;
    this.edgeOutPxByLevel[level] = edgeOutPx;
    const n = Math.ceil((this.edgeInPx + edgeOutPx) * steps) + 1;
    assert(n <= this.edgeStride, 'edge lut sized for the largest halo');
    const base = level * this.edgeStride;
    for (let i = 0; i < n; i++) {
      const sd = i / steps - this.edgeInPx;
      this.cellStepLut[base + i] = 1 / (1 + Math.exp(sd / wEdge));
      const h = sd - haloOff;
      this.rimLut[base + i] =
        -ringAmp * Math.exp((-sd * sd) / (2 * wRing * wRing)) + haloAmp * Math.exp((-h * h) / (2 * wHalo * wHalo));
    }
    const wNuc = nu.nucleusEdgeWidthPx * s * (1 + ad);
    const nucBase = level * this.nucStride;
    for (let i = 0; i < this.nucStride; i++) {
      const sd = i / steps - this.nucEdgePx;
      this.nucStepLut[nucBase + i] = 1 / (1 + Math.exp(sd / wNuc));
    }
  }

  /** Writes the transmission offset of the specimen into `scene` (0 outside the cell). */
  private renderScene(): void {
    const size = this.size;
    const scene = this.scene;
    scene.fill(0);
    const steps = lymphocyteLimits.lutStepsPerPx;
    const { cx, cy, cosT, sinT, invA, invB, nucInvA, nucInvB, nucU, nucV, lensAmp } = this;
    const R = this.radiusPx;
    const Rn = this.nucRadiusPx;
    const edgeIn = this.edgeInPx;
    const edgeOut = this.edgeOutPxByLevel[this.defocusLevel];
    const edgeBase = this.defocusLevel * this.edgeStride;
    const nucBase = this.defocusLevel * this.nucStride;
    const nucEdge = this.nucEdgePx;
    const nucLast = nucBase + this.nucStride - 1;
    const cytAbsorb = this.cytAbsorb;
    const nucAbsorb = this.nucAbsorb;
    const { chromFine, chromCoarse, granAmp, fine, coarse, granules, cellStepLut, rimLut, nucStepLut } = this;
    const mask = this.texSide - 1;
    const side = this.texSide;
    const transmissionOffsetMin = lymphocyteNuisance.transmissionMin - 1;
    const transmissionOffsetMax = lymphocyteNuisance.transmissionMax - 1;
    // Only the cell's bounding box (with its halo) can differ from 0.
    const semiMajorPx = 1 / Math.min(invA, invB);
    const reach = semiMajorPx * (1 + edgeOut / R) + 1;
    const x0 = Math.max(0, Math.floor(cx - reach));
    const x1 = Math.min(size - 1, Math.ceil(cx + reach));
    const y0 = Math.max(0, Math.floor(cy - reach));
    const y1 = Math.min(size - 1, Math.ceil(cy + reach));
    for (let y = y0; y <= y1; y++) {
      const dy = y - cy;
      const texRow = ((y + this.texOy) & mask) * side;
      const granRow = ((y + this.granOy) & mask) * side;
      for (let x = x0; x <= x1; x++) {
        const dx = x - cx;
        const ur = dx * cosT + dy * sinT;
        const vr = dy * cosT - dx * sinT;
        const ua = ur * invA;
        const vb = vr * invB;
        const rho2 = ua * ua + vb * vb;
        const sd = (Math.sqrt(rho2) - 1) * R;
        if (sd >= edgeOut) continue;
        let cell = 1;
        let m = 0;
        if (sd > -edgeIn) {
          const li = edgeBase + (((sd + edgeIn) * steps) | 0);
          cell = cellStepLut[li];
          m = rimLut[li];
        }
        if (rho2 < 1) m += lensAmp * (1 - rho2);
        const nu = (ur - nucU) * nucInvA;
        const nv = (vr - nucV) * nucInvB;
        const sdn = (Math.sqrt(nu * nu + nv * nv) - 1) * Rn;
        let nuc = 0;
        if (sdn < nucEdge) {
          nuc = sdn <= -nucEdge ? 1 : nucStepLut[Math.min(nucLast, nucBase + (((sdn + nucEdge) * steps) | 0))];
          const tx = (x + this.texOx) & mask;
          const tex = chromFine * fine[texRow + tx] + chromCoarse * coarse[texRow + tx];
          const nucLoss = nucAbsorb + tex; // clear chromatin gaps absorb less, never negatively
          m -= nuc * (nucLoss > 0 ? nucLoss : 0);
        }
        const gran = granAmp * granules[granRow + ((x + this.granOx) & mask)];
        // Granules lie above and below the nucleus too; seen through it they lose half their contrast.
        m -= cell * (cytAbsorb + (1 - 0.5 * nuc) * gran);
        // A thin unstained cell never blocks most of the light, nor focuses much more than 1/4 extra.
        scene[y * size + x] = m < transmissionOffsetMin ? transmissionOffsetMin : m > transmissionOffsetMax ? transmissionOffsetMax : m;
      }
    }
  }

  /** Illumination times transmission, plus read and shot noise; rounds and clamps to uint8. */
  private expose(out: Uint8Array, offset: number): void {
    const size = this.size;
    const scene = this.scene;
    const table = this.normalTable;
    const sdLut = this.noiseSdLut;
    const noiseBits = this.noiseBits;
    const centre = (size - 1) / 2;
    let bits = 0;
    let i = 0;
    for (let y = 0; y < size; y++) {
      const rowLevel = this.illum + this.gradY * (y - centre);
      for (let x = 0; x < size; x++, i++) {
        let n: number;
        if ((i & 1) === 0) {
          bits = noiseBits[i >>> 1];
          n = table[bits & 0xffff];
        } else {
          n = table[bits >>> 16];
        }
        const level = (rowLevel + this.gradX * (x - centre)) * (1 + scene[i]);
        const li = level < 0 ? 0 : level > 255 ? 255 : level | 0;
        const v = (level + n * sdLut[li] + 0.5) | 0;
        out[offset + i] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
}

/**
 * Creates a seeded generator of synthetic lymphocyte crops.
 *
 * Contract: the same options give a byte-identical stream of frames and labels; different
 * seeds give different streams. Bad options throw `ConfigError` naming the field and the
 * allowed range (seed: a safe integer; size: an integer 16..256; classWeights: 3 finite
 * numbers >= 0 with a positive sum, default equal). Creation allocates all scratch (about
 * 3 texture fields of max(128, 2*size)^2 floats plus a 256 KiB noise table); `next` then
 * allocates nothing. `next` writes only `out[offset .. offset+frameBytes)`; the caller owns
 * `out`. A target too short for a frame at `offset` is a caller bug: it fails an assertion
 * (`AssertionFailure`) before anything is written.
 */
export function createLymphocyteGenerator(opts: LymphocyteGeneratorOptions): LymphocyteGenerator {
  const { size, cum } = validateOptions(opts);
  return new LymphocyteGeneratorImpl(opts.seed, size, cum);
}
