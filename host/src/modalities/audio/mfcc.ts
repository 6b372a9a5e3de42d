import FFT from 'fft.js';
import { z } from 'zod';
import { assert } from '../../core/assert.js';
import { ConfigError } from '../../core/errors.js';
import { FrameRing, copyFrameHeader, type FrameSlot } from '../../core/frame.js';
import { limits } from '../../core/limits.js';
import { createWindowPreprocessor } from '../../preprocess/window.js';
import { preprocessors, type FrameOutlet, type StreamPreprocessor } from '../../preprocess/stream-preprocessor.js';

/**
 * The keyword front end: MFCC (and the log-mel energies under them) exactly as the MLPerf Tiny
 * keyword-spotting benchmark computes them for its DS-CNN (mlcommons/tiny,
 * `benchmark/training/keyword_spotting/get_dataset.py`, feature_type `mfcc`), which calls
 * TensorFlow's `tf.signal` ops. One definition, two implementations: this file (the daemon)
 * and `models/train/audio_features.py` (training and the parity tests).
 *
 * Per frame of `windowSamples` samples (480 = 30 ms at 16 kHz), one every `hopSamples` (320 =
 * 20 ms), as `tf.signal.stft(x, 480, 320, fft_length=None, window_fn=hann_window)`:
 * 1. samples times `scale` (1/32768: int16 PCM onto [-1, 1), as `tf.audio.decode_wav`);
 * 2. times the periodic Hann window, w[n] = 0.5 - 0.5 cos(2 pi n / N) (`tf.signal.hann_window`);
 * 3. zero-padded to `fftSize` (512: stft's default, the next power of two), real FFT, magnitude
 *    |X[k]| of the 257 bins (`tf.abs(stfts)`: magnitude, not power);
 * 4. mel energies: |X| times `tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 20, 4000)`:
 *    HTK mel (1127 ln(1 + f / 700)), bin k at k * rate / fftSize Hz, the DC bin left out,
 *    triangles linear in mel between `melBands + 2` edges equally spaced from `lowerHz` to `upperHz`;
 * 5. log-mel: ln(mel + `logOffset`), logOffset 1e-6 (kind `logmel` stops here: `melBands` values);
 * 6. MFCC: `tf.signal.mfccs_from_log_mel_spectrograms`, i.e. the unnormalised DCT-II times
 *    1 / sqrt(2 N): c[k] = sqrt(2 / N) sum_n L[n] cos(pi k (2n + 1) / (2N)), N = melBands, the
 *    first `coefficients` (10) kept.
 * Deviation, on purpose: MLPerf's training divides each 1 s clip by its largest sample
 * (`wav / tf.reduce_max(wav)`), which a stream cannot know in advance; here the scale is fixed
 * and training (audio_features.py) uses the same fixed scale. A gain changes mostly c[0].
 * Computed in float64 (TensorFlow: float32) and stored as float32.
 */
const frameSchema = z.object({ shape: z.null(), dtype: z.enum(['int16', 'float32']), sampleRateHz: z.number().positive().max(1e7) }).strict();

const logMelFields = {
  frame: frameSchema,
  scale: z.number().positive(),
  window: z.literal('hann'),
  windowSamples: z.number().int().min(2),
  hopSamples: z.number().int().min(1),
  fftSize: z.number().int().min(2),
  melBands: z.number().int().min(1).max(1024),
  lowerHz: z.number().min(0),
  upperHz: z.number().positive(),
  logOffset: z.number().positive(),
  /** Feature vectors in one model frame (49: one second). */
  frames: z.number().int().min(1),
  /** Hops between model frames: the inference cadence (1 = every 20 ms). */
  stride: z.number().int().min(1),
  /** The model's input shape: [frames, width], or with a dimension of 1 before or after ([1, 49, 10], [49, 10, 1]). */
  input: z.object({ shape: z.array(z.number().int().min(1)).min(1) }).strict(),
};

/** The `logmel` spec of a model card's `preprocessing`. */
export const logMelSpecSchema = z.object({ kind: z.literal('logmel'), ...logMelFields }).strict();
/** The `mfcc` spec of a model card's `preprocessing`. */
export const mfccSpecSchema = z.object({ kind: z.literal('mfcc'), ...logMelFields, coefficients: z.number().int().min(1) }).strict();
export type LogMelSpec = z.infer<typeof logMelSpecSchema>;
export type MfccSpec = z.infer<typeof mfccSpecSchema>;
export type FrontEndSpec = LogMelSpec | MfccSpec;

/** MLPerf Tiny's keyword front end on 16 kHz int16 PCM: 49 x 10 MFCC a second, a model frame every hop. */
export const MFCC_DEFAULT_SPEC: MfccSpec = {
  kind: 'mfcc',
  frame: { shape: null, dtype: 'int16', sampleRateHz: 16_000 },
  scale: 1 / 32768,
  window: 'hann',
  windowSamples: 480,
  hopSamples: 320,
  fftSize: 512,
  melBands: 40,
  lowerHz: 20,
  upperHz: 4000,
  logOffset: 1e-6,
  coefficients: 10,
  frames: 49,
  stride: 1,
  input: { shape: [49, 10] },
};

/** The same front end stopped before the DCT: 49 x 40 log-mel energies. */
export const LOGMEL_DEFAULT_SPEC: LogMelSpec = (({ coefficients: _, ...rest }) => ({ ...rest, kind: 'logmel' as const, input: { shape: [49, 40] } }))(MFCC_DEFAULT_SPEC);

/** Values per feature vector: MFCC coefficients, or mel bands for log-mel. */
export function featureWidth(spec: FrontEndSpec): number {
  return spec.kind === 'mfcc' ? spec.coefficients : spec.melBands;
}

/** Checks a parsed spec's consistency; a ConfigError names the field. */
export function checkFrontEndSpec(spec: FrontEndSpec, where = 'preprocessing'): void {
  const { fftSize, windowSamples, hopSamples, lowerHz, upperHz } = spec;
  if ((fftSize & (fftSize - 1)) !== 0 || fftSize < windowSamples) throw new ConfigError(`${where}.fftSize`, `${fftSize} must be a power of two of at least windowSamples ${windowSamples}`);
  if (hopSamples > windowSamples) throw new ConfigError(`${where}.hopSamples`, `hop ${hopSamples} is longer than the window ${windowSamples}`);
  if (!(lowerHz < upperHz) || upperHz > spec.frame.sampleRateHz / 2) throw new ConfigError(`${where}.upperHz`, `the mel range ${lowerHz}..${upperHz} Hz must be increasing and end at or below Nyquist (${spec.frame.sampleRateHz / 2} Hz)`);
  if (spec.kind === 'mfcc' && spec.coefficients > spec.melBands) throw new ConfigError(`${where}.coefficients`, `${spec.coefficients} coefficients from ${spec.melBands} mel bands`);
  const width = featureWidth(spec);
  const core = `${spec.frames},${width}`;
  if (![core, `1,${core}`, `${core},1`, `1,${core},1`].includes(spec.input.shape.join(','))) {
    throw new ConfigError(`${where}.input.shape`, `[${spec.input.shape.join(', ')}] is not [frames, ${spec.kind === 'mfcc' ? 'coefficients' : 'melBands'}] = [${spec.frames}, ${width}] (or with a 1 before or after)`);
  }
  if (spec.frames * width > limits.modelInputElementsMax) throw new ConfigError(`${where}.frames`, `${spec.frames * width} values exceed modelInputElementsMax ${limits.modelInputElementsMax}`);
}

const hzToMel = (hz: number) => 1127 * Math.log(1 + hz / 700);

/**
 * The mel filterbank as `tf.signal.linear_to_mel_weight_matrix` builds it, one row per band
 * over the fftSize / 2 + 1 bins ([band * bins + bin]); bin 0 (DC) is left out as HTK does.
 */
export function melWeights(spec: FrontEndSpec): Float64Array {
  const bins = spec.fftSize / 2 + 1;
  const n = spec.melBands;
  const w = new Float64Array(n * bins);
  const lo = hzToMel(spec.lowerHz);
  const step = (hzToMel(spec.upperHz) - lo) / (n + 1);
  for (let b = 0; b < n; b++) {
    const left = lo + b * step;
    const centre = left + step;
    const right = centre + step;
    for (let k = 1; k < bins; k++) {
      const m = hzToMel((k * spec.frame.sampleRateHz) / 2 / (bins - 1));
      w[b * bins + k] = Math.max(0, Math.min((m - left) / (centre - left), (right - m) / (right - centre)));
    }
  }
  return w;
}

/** One frame of the front end: `run` turns a window of samples into a feature vector. */
export interface FrontEnd {
  readonly spec: FrontEndSpec;
  /** Values written per frame (coefficients, or mel bands). */
  readonly width: number;
  /**
   * Writes the features of `samples[0 .. windowSamples)` (in the stream's units: int16
   * values, or floats, times `spec.scale`) into `out[at .. at + width)`. Never allocates; the
   * caller owns both arrays. A window shorter than `windowSamples` is a programmer error.
   */
  run(samples: ArrayLike<number>, out: Float32Array, at?: number): void;
}

/**
 * The front ends built so far, by spec. Streams of one process whose specs are equal share
 * one: its tables (~100 KB: the filterbank, FFT twiddles, window, DCT) and its scratch, since
 * `run` is synchronous and never re-entered, so two streams on one thread cannot interleave
 * in it (a worker thread has its own module and map). With a copy per stream the tables of a
 * few hundred streams push each other out of the cache: measured on 150 streams round-robin,
 * 18-21 us a hop with a copy each against 7-11 us shared (one stream alone: 7.5 us).
 */
const sharedFrontEnds = new Map<string, FrontEnd>();

/**
 * The MFCC or log-mel front end of a spec (checked: a ConfigError names the field), shared
 * with every earlier caller of an equal spec (`sharedFrontEnds`). All tables (window,
 * filterbank as per-band bin spans, DCT) are built once per spec.
 */
export function createMfcc(spec: FrontEndSpec, where = 'preprocessing'): FrontEnd {
  checkFrontEndSpec(spec, where);
  const key = JSON.stringify(spec);
  const known = sharedFrontEnds.get(key);
  if (known !== undefined) return known;
  const front = buildMfcc(spec);
  if (sharedFrontEnds.size < limits.frontEndsSharedMax) sharedFrontEnds.set(key, front);
  return front;
}

/** Why fft.js: a well-kept radix-4 real FFT; a 512-point transform per hop is the largest cost. */
function buildMfcc(spec: FrontEndSpec): FrontEnd {
  const { windowSamples: n, fftSize, melBands } = spec;
  const bins = fftSize / 2 + 1;
  const window = Float64Array.from({ length: n }, (_, i) => (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n)) * spec.scale);
  const fft = new FFT(fftSize);
  const frame = new Float64Array(fftSize); // zeros past the window stay zero
  const spectrum = new Float64Array(2 * fftSize);
  const magnitude = new Float64Array(bins);
  const logMel = new Float64Array(melBands);
  // Each band's weights over its span of non-zero bins only: 40 short dot products, not 40 x 257.
  const full = melWeights(spec);
  const first = new Int32Array(melBands);
  const last = new Int32Array(melBands);
  for (let b = 0; b < melBands; b++) {
    let lo = bins;
    let hi = 0;
    for (let k = 0; k < bins; k++) if (full[b * bins + k]! > 0) (lo = Math.min(lo, k)), (hi = k + 1);
    first[b] = lo;
    last[b] = Math.max(lo, hi);
  }
  const width = featureWidth(spec);
  const dct = spec.kind === 'mfcc' ? dctMatrix(width, melBands) : null;
  return {
    spec,
    width,
    run(samples, out, at = 0) {
      assert(samples.length >= n && out.length >= at + width, 'front end window and output within bounds');
      for (let i = 0; i < n; i++) frame[i] = samples[i]! * window[i]!;
      fft.realTransform(spectrum, frame);
      for (let k = 0; k < bins; k++) {
        const re = spectrum[2 * k]!;
        const im = spectrum[2 * k + 1]!;
        magnitude[k] = Math.sqrt(re * re + im * im); // not Math.hypot: several times slower in V8
      }
      for (let b = 0; b < melBands; b++) {
        let e = 0;
        for (let k = first[b]!, base = b * bins; k < last[b]!; k++) e += magnitude[k]! * full[base + k]!;
        logMel[b] = Math.log(e + spec.logOffset);
      }
      if (dct === null) {
        for (let b = 0; b < melBands; b++) out[at + b] = logMel[b]!;
        return;
      }
      for (let c = 0; c < width; c++) {
        let s = 0;
        for (let b = 0, base = c * melBands; b < melBands; b++) s += dct[base + b]! * logMel[b]!;
        out[at + c] = s;
      }
    },
  };
}

/** tf.signal.mfccs_from_log_mel_spectrograms' DCT-II rows: sqrt(2 / N) cos(pi k (2n + 1) / (2N)). */
function dctMatrix(coefficients: number, n: number): Float64Array {
  const m = new Float64Array(coefficients * n);
  for (let k = 0; k < coefficients; k++) for (let i = 0; i < n; i++) m[k * n + i] = Math.sqrt(2 / n) * Math.cos((Math.PI * k * (2 * i + 1)) / (2 * n));
  return m;
}

/**
 * The `mfcc` / `logmel` stream preprocessor: takes int16 (or float32) PCM chunks of any length
 * (`{shape: null}`), computes one feature vector per hop (on the `window` preprocessor's
 * ring), keeps the last `frames` of them, and every `stride` hops once `frames` are there
 * emits a model frame [frames, width], oldest first. The emitted frame's seq counts model
 * frames; its due and sensor times are those of the last sample of its newest window. Never
 * allocates per chunk or hop.
 */
export function createMfccPreprocessor(spec: FrontEndSpec, where = 'preprocessing'): StreamPreprocessor {
  const front = createMfcc(spec, where);
  const { frames, stride } = spec;
  const width = front.width;
  const windows = createWindowPreprocessor({ kind: 'window', frame: { dtype: spec.frame.dtype, sampleRateHz: spec.frame.sampleRateHz }, window: spec.windowSamples, hop: spec.hopSamples, scale: 1 }, where);
  // The window preprocessor writes each window into this one scratch slot, not a ring slot.
  const scratch = new FrameRing(spec.windowSamples, 1, 1).slots[0]!;
  const features = new Float32Array(frames * width); // ring of feature vectors, row = hop % frames
  let hops = 0;
  let emitted = 0;
  // The current chunk's outlet and emit, set by run(): the callbacks below are made once.
  let outlet: FrameOutlet | null = null;
  let emitOut: ((s: FrameSlot) => void) | null = null;
  const scratchOutlet: FrameOutlet = {
    derive(from) {
      copyFrameHeader(from, scratch);
      return scratch;
    },
  };
  const onWindow = (w: FrameSlot) => {
    front.run(w.input, features, (hops % frames) * width);
    hops++;
    if (hops < frames || (hops - frames) % stride !== 0) return;
    const out = outlet!.derive(w);
    const x = out.input;
    for (let r = 0, row = hops % frames; r < frames; r++, row = row + 1 === frames ? 0 : row + 1) {
      for (let c = 0; c < width; c++) x[r * width + c] = features[row * width + c]!;
    }
    out.seq = emitted++;
    emitOut!(out);
  };
  return {
    frame: { shape: null, dtype: spec.frame.dtype },
    inputElements: [frames * width],
    framesPerInputMax: windows.framesPerInputMax,
    run(slot, o, emit) {
      outlet = o;
      emitOut = emit;
      windows.run(slot, scratchOutlet, onWindow);
      outlet = null;
      emitOut = null;
      return false;
    },
    reset() {
      windows.reset();
      features.fill(0);
      hops = 0;
      emitted = 0;
    },
  };
}

const create = (spec: unknown, ctx: { where: string }) => createMfccPreprocessor(spec as FrontEndSpec, ctx.where);
preprocessors.register({ kind: 'mfcc', summary: 'MFCC of a PCM stream (MLPerf Tiny keywords: 49 x 10 a second), one model frame every `stride` hops', schema: mfccSpecSchema, create });
preprocessors.register({ kind: 'logmel', summary: 'log-mel energies of a PCM stream (40 bands), one model frame every `stride` hops', schema: logMelSpecSchema, create });
