import { assert } from './assert.js';
import { limits } from './limits.js';
import { STAGES } from '../metrics/snapshot.js';

/** Element types a raw frame may carry. */
export type FrameDType = 'uint8' | 'float32';

/** Bytes per element of each frame dtype. */
export const DTYPE_BYTES: Record<FrameDType, number> = { uint8: 1, float32: 4 };

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
  seq: number;
  /** Sensor timestamp in ns on the sensor's clock, NaN when unknown. */
  sensorNs: number;
  /** Label index when replaying a labelled capture, -1 when unknown. */
  label: number;
  raw: Uint8Array;
  rawOffset: number;
  rawLength: number;
  /** Model input tensor, written by preprocess. */
  readonly input: Float32Array;
  /** Model output logits, written by the backend. */
  readonly logits: Float32Array;
  /** Softmax of `logits`, written by the policy stage. */
  readonly probs: Float32Array;
  /** Monotonic ns: [ingest, decode end, preprocess end, infer end, policy end, emit end]. */
  readonly stampsNs: Float64Array;
  /** Decision fields written by the policy. */
  predicted: number;
  score: number;
  late: boolean;
  triggered: boolean;
}

const EMPTY = new Uint8Array(0);

/** A ring of preallocated frame slots. `acquire` hands out slots round-robin. */
export class FrameRing {
  readonly slots: readonly FrameSlot[];
  private next = 0;

  constructor(inputElements: number, classes: number, slotsCount: number = limits.frameSlotsMax) {
    assert(inputElements > 0 && inputElements <= limits.modelInputElementsMax, 'input elements within limits');
    assert(classes > 0 && classes <= limits.classesMax, 'classes within limits');
    assert(slotsCount > 0 && slotsCount <= limits.frameSlotsMax, 'slot count within limits');
    const slots: FrameSlot[] = [];
    // Every slot's stamps live in one buffer: a native clock binds it once.
    const stamps = new Float64Array(slotsCount * STAMPS_COUNT);
    for (let i = 0; i < slotsCount; i++) {
      slots.push({
        index: i,
        seq: -1,
        sensorNs: Number.NaN,
        label: -1,
        raw: EMPTY,
        rawOffset: 0,
        rawLength: 0,
        input: new Float32Array(inputElements),
        logits: new Float32Array(classes),
        probs: new Float32Array(classes),
        stampsNs: stamps.subarray(i * STAMPS_COUNT, (i + 1) * STAMPS_COUNT),
        predicted: -1,
        score: 0,
        late: false,
        triggered: false,
      });
    }
    this.slots = slots;
  }

  /** The next slot, reset for a new frame. Never allocates. */
  acquire(): FrameSlot {
    const s = this.slots[this.next];
    this.next = this.next + 1 === this.slots.length ? 0 : this.next + 1;
    s.seq = -1;
    s.sensorNs = Number.NaN;
    s.label = -1;
    s.predicted = -1;
    s.score = 0;
    s.late = false;
    s.triggered = false;
    return s;
  }
}
