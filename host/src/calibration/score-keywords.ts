import type { Backend } from '../backends/backend.js';
import { copyFrameHeader, FrameRing, type FrameSlot } from '../core/frame.js';
import { CalibrationError } from '../core/errors.js';
import type { ModelCard } from '../model/card.js';
import '../modalities/audio/index.js';
import { readWav } from '../modalities/audio/wav.js';
import { createStreamPreprocessor } from '../preprocess/stream-preprocessor.js';
import { softmax } from '../trigger/policy.js';
import type { DetectorConfig } from '../trigger/detector.js';
import { cardSplit, speechCommandsClips, type KeywordClip } from './keyword-clips.js';
import type { LabelledScores } from './thresholds.js';

/**
 * Scores labelled keyword clips as the streaming detector sees them
 * (`trigger/detector.ts`): each clip is streamed through the card's front end (the same
 * `mfcc` stream preprocessor as a replay, in 10 ms chunks) with the digital silence a stream
 * of clips has around it, each model frame (one per hop) runs on the pipeline's backend, and
 * the class probabilities are averaged over the last `smoothFrames` hops exactly as the
 * detector averages them. A clip's score for class k is the **peak** of that smoothed
 * probability over the clip's hops: the detector fires k on the clip (debounce aside) iff
 * the peak reaches k's threshold. So a threshold chosen on these scores is a threshold on
 * the detector's own test, and the conformal guarantee speaks of clips ("a 'yes' clip fires
 * 'yes'"), not hops.
 *
 * The stream of one clip: silence long enough that the smoothing window holds only
 * silent model frames before the clip's first sample comes in, the clip centred in one
 * second (cut or padded as `models/train/keywords_detector.py` builds its speaker streams),
 * then one second of silence (the gap before the next clip in those streams).
 *
 * The drift reference (`hopTop`) is the per-hop top probability (unsmoothed, what the
 * calibration monitor records of every frame) over the model frames that hold any sample of
 * the clip: the distribution a live stream of speech with short gaps gives. Those hops'
 * probability vectors (`hopProbs`, clip after clip, hop after hop) are what a keyword cascade
 * cuts on (the margin or entropy of one hop's posterior): `--cascade-send` calibrates on them.
 */

const CHUNK = 160;

/** What a stream of clips needs to know about the card's front end. */
export interface FrontEnd {
  windowSamples: number;
  hopSamples: number;
  frames: number;
  rateHz: number;
}

function frontEnd(card: ModelCard): FrontEnd {
  const p = card.preprocessing as { kind?: string; windowSamples?: number; hopSamples?: number; frames?: number; frame?: { sampleRateHz?: number } };
  if ((p.kind !== 'mfcc' && p.kind !== 'logmel') || typeof p.windowSamples !== 'number' || typeof p.hopSamples !== 'number' || typeof p.frames !== 'number') {
    throw new CalibrationError(`${card.dir}/card.json preprocessing`, `is ${p.kind ?? 'none'}: keyword clips are scored through an audio front end (mfcc or logmel)`);
  }
  return { windowSamples: p.windowSamples, hopSamples: p.hopSamples, frames: p.frames, rateHz: p.frame?.sampleRateHz ?? 16_000 };
}

/** The clip centred in one second of `rate` samples (cut in the middle when longer). */
export function oneSecond(x: Int16Array, rate: number): Int16Array {
  const out = new Int16Array(rate);
  if (x.length >= rate) {
    const a = (x.length - rate) >> 1;
    out.set(x.subarray(a, a + rate));
  } else out.set(x, (rate - x.length) >> 1);
  return out;
}

/** Per clip, where the clip lies in its stream and how long the stream is (samples). */
export function clipStreamLayout(fe: FrontEnd, smoothFrames: number): { lead: number; total: number } {
  // Model frame j (0-based) ends with window j + frames - 1, i.e. at sample
  // (j + frames - 1) * hop + window. The first smoothFrames of them hold silence only.
  const lead = (smoothFrames + fe.frames - 2) * fe.hopSamples + fe.windowSamples;
  return { lead, total: lead + 2 * fe.rateHz };
}

/**
 * Scores the clips of one speaker split of a Speech Commands folder (`data.path`,
 * `data.split`) on `backend`: per clip the peak smoothed probability of every class. `detector`
 * is the pipeline's (its `smoothFrames`). A CalibrationError names a clip that is not mono
 * 16-bit at the front end's rate.
 */
export function scoreKeywordClips(backend: Backend, card: ModelCard, detector: DetectorConfig, data: { path: string; split: string }): LabelledScores {
  const split = cardSplit(card);
  const clips = speechCommandsClips(data.path, card.labels, { ...split, name: data.split });
  const s = scoreClips(backend, card, detector, clips);
  return { ...s, source: `${data.path} ${data.split} speakers (${clips.length} real clips, streamed, peak of the posterior smoothed over ${detector.smoothFrames} hops, ${backend.info().kind})` };
}

/** Runs streams through the card's front end and the model, hop by hop. */
export interface HopRunner {
  readonly frontEnd: FrontEnd;
  /**
   * Streams `samples` (from a fresh front end) in 10 ms chunks, stamped with their stream time
   * as the audio sources stamp them; per model frame (one a hop) the class probabilities on the
   * backend (`p`: scratch, overwritten by the next hop) and the frame's stream time (ns, the end
   * of its last window: the `sensorNs` the detector debounces on).
   */
  run(samples: Int16Array, onHop: (p: Float32Array, sensorNs: number) => void): void;
}

/** A hop runner over the card's front end (`mfcc`/`logmel`: a CalibrationError otherwise). */
export function hopRunner(backend: Backend, card: ModelCard): HopRunner {
  const fe = frontEnd(card);
  const c = card.labels.length;
  const pre = createStreamPreprocessor(card.preprocessing, `${card.dir}/card.json: preprocessing`);
  const ring = new FrameRing(pre.inputElements, c, 4 + Math.ceil(CHUNK / fe.hopSamples) + 1);
  const outlet = { derive: (from: FrameSlot) => { const d = ring.acquire(); copyFrameHeader(from, d); return d; } };
  const y = new Float32Array(c);
  const p = new Float32Array(c);
  const takesProbabilities = backend.info().outputKind === 'probabilities';
  return {
    frontEnd: fe,
    run(samples, onHop) {
      pre.reset();
      const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
      const onFrame = (slot: FrameSlot): void => {
        backend.predict(slot.input, y);
        if (takesProbabilities) p.set(y);
        else softmax(y, p);
        onHop(p, slot.sensorNs);
      };
      for (let off = 0; off < samples.length; off += CHUNK) {
        const slot = ring.acquire();
        const len = Math.min(CHUNK, samples.length - off);
        slot.raw = bytes;
        slot.rawOffset = off * 2;
        slot.rawLength = len * 2;
        slot.sensorNs = ((off + len) * 1e9) / fe.rateHz;
        slot.dueNs = slot.sensorNs;
        slot.seq = off / CHUNK;
        pre.run(slot, outlet, onFrame);
      }
    },
  };
}

/** The peak smoothed probabilities of `clips` (see the file's comment); `source` left for the caller. */
export function scoreClips(backend: Backend, card: ModelCard, detector: DetectorConfig, clips: readonly KeywordClip[]): LabelledScores & { hopTop: Float64Array; hopProbs: Float32Array } {
  const runner = hopRunner(backend, card);
  const fe = runner.frontEnd;
  const n = detector.smoothFrames;
  const c = card.labels.length;
  const { lead, total } = clipStreamLayout(fe, n);
  const stream = new Int16Array(total);
  const smooth = new Float64Array(n * c);
  const probs = new Float64Array(clips.length * c); // the detector's float64 means, unrounded
  const truth = new Int16Array(clips.length);
  const tops: number[] = [];
  const hops: number[] = [];
  for (const [i, clip] of clips.entries()) {
    const wav = readWav(clip.path);
    if (wav.sampleRateHz !== fe.rateHz) throw new CalibrationError(clip.path, `${wav.sampleRateHz} Hz; the model's front end takes ${fe.rateHz} Hz`);
    stream.fill(0);
    stream.set(oneSecond(wav.samples, fe.rateHz), lead);
    truth[i] = clip.label;
    let hop = 0; // model frames so far in this clip's stream
    let filled = 0;
    let at = 0;
    const peak = probs.subarray(i * c, (i + 1) * c);
    runner.run(stream, (p) => {
      // The detector's moving average: the last n probability vectors, summed oldest first.
      const base = at * c;
      for (let k = 0; k < c; k++) smooth[base + k] = p[k]!;
      at = at + 1 === n ? 0 : at + 1;
      if (filled < n) filled++;
      const first = filled < n ? 0 : at;
      let top = 0;
      for (let k = 0; k < c; k++) {
        let acc = 0;
        for (let j = 0, r = first; j < filled; j++, r = r + 1 === n ? 0 : r + 1) acc += smooth[r * c + k]!;
        const mean = acc / filled;
        if (mean > peak[k]!) peak[k] = mean;
        if (p[k]! > top) top = p[k]!;
      }
      // The frame ends at sample (hop + frames - 1) * hopSamples + windowSamples and spans
      // frames hops back: it holds clip samples when it ends after the clip's start and
      // starts before the clip's end.
      const end = (hop + fe.frames - 1) * fe.hopSamples + fe.windowSamples;
      const start = hop * fe.hopSamples;
      if (end > lead && start < lead + fe.rateHz) {
        tops.push(top);
        for (let k = 0; k < c; k++) hops.push(p[k]!);
      }
      hop++;
    });
  }
  const hopTop = Float64Array.from(tops).sort();
  return { labels: card.labels, truth, probs, source: '', hopTop, hopProbs: Float32Array.from(hops) };
}
