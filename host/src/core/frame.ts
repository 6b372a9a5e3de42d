import { assert } from './assert.js';
import { limits } from './limits.js';
import { STAGES } from '../metrics/snapshot.js';

/** Element types a raw frame may carry (camera pixels, 16-bit PCM, float features). */
export type FrameDType = 'uint8' | 'int16' | 'float32';

/** Bytes per element of each frame dtype. */
export const DTYPE_BYTES: Record<FrameDType, number> = { uint8: 1, int16: 2, float32: 4 };

/**
 * What a stream's frames look like before preprocessing. Images are row-major HWC, as
 * cameras deliver them (`[height, width, channels]`).
 */
export interface FrameSpec {
  stream: string;
  shape: readonly number[];
  dtype: FrameDType;
  /** Class names when the stream carries ground truth (replays of labelled captures). */
  labels?: readonly string[];
  /** True when a frame's `sensorNs` is stream time (ns from the stream's first sample, an audio
   * stream's): trigger records then carry it as `streamMs`. */
  streamTime?: boolean;
}

/** Byte length of one frame of `spec`. */
export function frameBytes(spec: Pick<FrameSpec, 'shape' | 'dtype'>): number {
  let n = DTYPE_BYTES[spec.dtype];
  for (const d of spec.shape) n *= d;
  return n;
}

/** Index of each timestamp in `FrameSlot.stampsNs`: ingest, then the end of each stage. */
export const STAMP_INGEST = 0;
export const STAMP = { decode: 1, preprocess: 2, infer: 3, policy: 4, emit: 5 } as const;
export const STAMPS_COUNT = 1 + STAGES.length;

/**
 * One preallocated frame. A source fills `raw/rawOffset/rawLength` (pointing into its own
 * buffer: no copy, no allocation) and the header fields; the stages fill the rest in place.
 * The slot belongs to the pipeline from `acquire()` until the next `acquire()` wraps round to
 * it, so a sink that wants to keep data past the frame copies it.
 */
export interface FrameSlot {
  readonly index: number;
  /** Index of the frame's stream in the daemon's stream table (names are resolved at the edges). */
  stream: number;
  seq: number;
  /** The sensor's own 64-bit id (a ZTF candid, a Rubin diaSourceId; above 2^53, so kept
   * exact as two unsigned 32-bit halves) when `idKnown`; rendered as a decimal string only
   * at the edges (`frameIdString`). */
  idHi: number;
  idLo: number;
  idKnown: boolean;
  /** Monotonic ns at which the frame was due: its scheduled arrival in a paced replay, its
   * sensor time mapped to the monotonic clock when the clock is shared, else its ingest.
   * End-to-end latency is measured from here, so a stalled source cannot hide its delay. */
  dueNs: number;
  /** Monotonic ns that pass per ns of stream time between the samples a frame carries (a PCM
   * chunk's): 1 for a live stream or a replay in real time, 1/N at `xN`, 0 at `max` (every
   * sample comes into being when the source delivers the chunk). A frame derived from a sample
   * inside the chunk (an audio window) is due this much earlier per ns of stream time after it. */
  wallNsPerStreamNs: number;
  /** Sensor timestamp in ns on the sensor's clock, NaN when unknown. */
  sensorNs: number;
  /** Label index when replaying a labelled capture, -1 when unknown. */
  label: number;
  raw: Uint8Array;
  rawOffset: number;
  rawLength: number;
  /** The first (often only) model input tensor, written by preprocess; `inputs[0]`. */
  readonly input: Float32Array;
  /** Every named model input, in the model's input order (a cutout triplet and a
   * light-curve feature vector are two). */
  readonly inputs: readonly Float32Array[];
  /** Model output logits, written by the backend. */
  readonly logits: Float32Array;
  /** Softmax of `logits`, written by the policy stage. */
  readonly probs: Float32Array;
  /** Probabilities of the pipeline's extra models (an alert's real/bogus score beside its
   * transient class), concatenated in the config's order; empty without extra models. */
  readonly aux: Float32Array;
  /** Monotonic ns: [ingest, decode end, preprocess end, infer end, policy end, emit end]. */
  readonly stampsNs: Float64Array;
  /** Decision fields written by the policy. */
  predicted: number;
  score: number;
  late: boolean;
  triggered: boolean;
  /** A late frame that would have fired (a target class passed the threshold): logged as
   * missed so a sort's yield can be audited. */
  missed: boolean;
  /** A small per-modality payload the decoder writes (an alert's objectId, a keyword's
   * stream time) that travels with the trigger downstream; `payloadLength` bytes are valid. */
  readonly payload: Uint8Array;
  payloadLength: number;
}

/** The sensor id of `slot` as a decimal string, or null when the sensor gave none. Off the hot path. */
export function frameIdString(slot: Pick<FrameSlot, 'idHi' | 'idLo' | 'idKnown'>): string | null {
  if (!slot.idKnown) return null;
  return ((BigInt(slot.idHi >>> 0) << 32n) | BigInt(slot.idLo >>> 0)).toString();
}

/** Splits a 64-bit unsigned id into the slot's halves. Off the hot path (BigInt). */
export function setFrameId(slot: Pick<FrameSlot, 'idHi' | 'idLo' | 'idKnown'>, id: bigint): void {
  slot.idHi = Number((id >> 32n) & 0xffffffffn);
  slot.idLo = Number(id & 0xffffffffn);
  slot.idKnown = true;
}

const EMPTY = new Uint8Array(0);

/**
 * Copies what identifies a frame and when it came (stream, seq, id, due and sensor time,
 * label, raw span, payload, stamps) from `from` into `to`: a frame derived from another (an
 * audio window from the chunk that completed it) starts as its copy. Never allocates.
 */
export function copyFrameHeader(from: FrameSlot, to: FrameSlot): void {
  to.stream = from.stream;
  to.seq = from.seq;
  to.idHi = from.idHi;
  to.idLo = from.idLo;
  to.idKnown = from.idKnown;
  to.dueNs = from.dueNs;
  to.wallNsPerStreamNs = from.wallNsPerStreamNs;
  to.sensorNs = from.sensorNs;
  to.label = from.label;
  to.raw = from.raw;
  to.rawOffset = from.rawOffset;
  to.rawLength = from.rawLength;
  const n = from.payloadLength;
  for (let b = 0; b < n; b++) to.payload[b] = from.payload[b];
  to.payloadLength = n;
  to.stampsNs.set(from.stampsNs);
}

/** A ring of preallocated frame slots. `acquire` hands out slots round-robin. */
export class FrameRing {
  readonly slots: readonly FrameSlot[];
  private next = 0;

  constructor(inputElements: number | readonly number[], classes: number, slotsCount: number = limits.frameSlotsMax, auxOutputs = 0) {
    const sizes = typeof inputElements === 'number' ? [inputElements] : inputElements;
    assert(sizes.length > 0 && sizes.length <= limits.modelInputsMax, 'model input count within limits');
    for (const n of sizes) assert(n > 0 && n <= limits.modelInputElementsMax, 'input elements within limits');
    assert(classes > 0 && classes <= limits.classesMax, 'classes within limits');
    assert(slotsCount > 0 && slotsCount <= limits.frameSlotsMax, 'slot count within limits');
    assert(auxOutputs >= 0 && auxOutputs <= limits.classesMax, 'extra model outputs within limits');
    const slots: FrameSlot[] = [];
    // Every slot's stamps live in one buffer: a native clock binds it once.
    const stamps = new Float64Array(slotsCount * STAMPS_COUNT);
    for (let i = 0; i < slotsCount; i++) {
      const inputs = sizes.map((n) => new Float32Array(n));
      slots.push({
        index: i,
        stream: 0,
        seq: -1,
        idHi: 0,
        idLo: 0,
        idKnown: false,
        dueNs: Number.NaN,
        wallNsPerStreamNs: 1,
        sensorNs: Number.NaN,
        label: -1,
        raw: EMPTY,
        rawOffset: 0,
        rawLength: 0,
        input: inputs[0],
        inputs,
        logits: new Float32Array(classes),
        probs: new Float32Array(classes),
        aux: new Float32Array(auxOutputs),
        stampsNs: stamps.subarray(i * STAMPS_COUNT, (i + 1) * STAMPS_COUNT),
        predicted: -1,
        score: 0,
        late: false,
        triggered: false,
        missed: false,
        payload: new Uint8Array(limits.triggerPayloadBytesMax),
        payloadLength: 0,
      });
    }
    this.slots = slots;
  }

  /** The next slot, reset for a new frame. Never allocates. */
  acquire(): FrameSlot {
    const s = this.slots[this.next];
    this.next = this.next + 1 === this.slots.length ? 0 : this.next + 1;
    s.stream = 0;
    s.seq = -1;
    s.idKnown = false;
    s.idHi = 0;
    s.idLo = 0;
    s.dueNs = Number.NaN;
    s.wallNsPerStreamNs = 1;
    s.sensorNs = Number.NaN;
    s.label = -1;
    s.predicted = -1;
    s.score = 0;
    s.late = false;
    s.triggered = false;
    s.missed = false;
    s.payloadLength = 0;
    return s;
  }
}
