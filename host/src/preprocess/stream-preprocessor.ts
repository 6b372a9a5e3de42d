import { z } from 'zod';
import type { FrameDType, FrameSlot } from '../core/frame.js';
import { ConfigError, isOperatingError, type HairtriggerError } from '../core/errors.js';
import { Registry } from '../core/registry.js';
import type { Preprocessor } from './image.js';

/** Where a stream preprocessor gets the slots of the frames it makes. */
export interface FrameOutlet {
  /**
   * A fresh slot carrying `from`'s header (stream, id, seq, due and sensor time, label,
   * payload, the stamps so far): the frame a stateful preprocessor emits (one audio window)
   * gets its own model inputs. Never allocates (a slot of the frame ring).
   */
  derive(from: FrameSlot): FrameSlot;
}

/**
 * A preprocessor of one stream: reads the raw bytes the decoder accepted and writes the model
 * inputs (`slot.inputs`, in the model's input order). It may keep state across frames and
 * make zero or more model frames of one input (`emit`), as audio does with one window per
 * hop; a stateless one writes the input slot's own tensors and returns true.
 */
export interface StreamPreprocessor {
  /** The frames it takes: fixed shape and dtype, checked against the source at start-up;
   * `shape` null for a stream of variable-length chunks (PCM) of `dtype` elements. */
  readonly frame: { shape: readonly number[] | null; dtype: FrameDType };
  /** Elements of each model input it writes, in order. */
  readonly inputElements: readonly number[];
  /** Most model frames one input frame may make (1 for a stateless preprocessor). */
  readonly framesPerInputMax: number;
  /**
   * Processes one input frame. Returns true when the input slot itself is the model frame
   * (its inputs written); else emits derived slots (0 or more) and returns false. Never
   * allocates. Throws FrameValueError/FrameShapeError for a frame it cannot use.
   */
  run(slot: FrameSlot, outlet: FrameOutlet, emit: (slot: FrameSlot) => void): boolean;
  /** Forgets the stream's state (a new stream, a gap in the sequence). */
  reset(): void;
  /**
   * A stateless preprocessor's inputs written into `inputs[first ..]` instead of the slot's
   * own from index 0: how a pipeline that runs several models on one frame (an alert's
   * cutouts and light curve) gathers their inputs (`jointPreprocessor`). Absent on stateful ones.
   */
  write?(slot: FrameSlot, inputs: readonly Float32Array[], first: number): void;
}

/** The one-frame-in, one-frame-out preprocessor of a fixed-size frame (image, features). */
export function statelessPreprocessor(pre: Preprocessor<unknown> & { spec: unknown }, frame: { shape: readonly number[]; dtype: FrameDType }): StreamPreprocessor {
  return {
    frame,
    inputElements: [pre.inputElements],
    framesPerInputMax: 1,
    run(slot) {
      pre.run(slot.raw, slot.rawOffset, slot.input);
      return true;
    },
    reset() {},
    write(slot, inputs, first) {
      pre.run(slot.raw, slot.rawOffset, inputs[first]);
    },
  };
}

/**
 * The preprocessing of a pipeline that runs several models on each frame: every part writes
 * its model's inputs, one after the other, into the slot's inputs (the first part's first).
 * Every part must be stateless (`write`) and take the same frames; a ConfigError names the
 * one that does not. The first part is the pipeline's own model: a frame it cannot use
 * fails. A later part (an extra model) that cannot use a frame (an alert without cutouts)
 * does not cost the frame: the fault goes to `onPartFailed` (counted), and its first input
 * starts with NaN, which tells the extra model's runner to give no output for this frame
 * (`model/extra-models.ts`).
 */
export function jointPreprocessor(parts: readonly { pre: StreamPreprocessor; where: string }[], onPartFailed: (err: HairtriggerError) => void = () => {}): StreamPreprocessor {
  if (parts.length === 1) return parts[0].pre;
  const first = parts[0].pre.frame;
  const starts: number[] = [];
  let n = 0;
  for (const { pre, where } of parts) {
    if (pre.write === undefined) throw new ConfigError(where, 'keeps state across frames (one model frame per input is needed to run several models on one frame)');
    const same = pre.frame.dtype === first.dtype && (pre.frame.shape ?? []).join(',') === (first.shape ?? []).join(',') && (pre.frame.shape === null) === (first.shape === null);
    if (!same) throw new ConfigError(where, `takes ${describeFrame(pre.frame)} frames but the pipeline's first model takes ${describeFrame(first)}`);
    starts.push(n);
    n += pre.inputElements.length;
  }
  const writers = parts.map((p) => p.pre.write!.bind(p.pre));
  const writeAll = (slot: FrameSlot, inputs: readonly Float32Array[], at: number) => {
    writers[0](slot, inputs, at + starts[0]);
    for (let k = 1; k < writers.length; k++) {
      try {
        writers[k](slot, inputs, at + starts[k]);
      } catch (err) {
        if (!isOperatingError(err)) throw err;
        onPartFailed(err);
        inputs[at + starts[k]][0] = Number.NaN;
      }
    }
  };
  return {
    frame: first,
    inputElements: parts.flatMap((p) => p.pre.inputElements),
    framesPerInputMax: 1,
    run(slot) {
      writeAll(slot, slot.inputs, 0);
      return true;
    },
    reset() {},
    write: writeAll,
  };
}

/** Whether an extra model's input was marked unusable by `jointPreprocessor` (its first element NaN). */
export function inputUnusable(input: Float32Array): boolean {
  const v = input[0];
  return v !== v;
}

function describeFrame(f: StreamPreprocessor['frame']): string {
  return f.shape === null ? `${f.dtype} chunks` : `[${f.shape.join(', ')}] ${f.dtype}`;
}

/** What a preprocessor entry is built with: where its spec was found (for error messages). */
export interface PreprocessContext {
  where: string;
}

/**
 * Preprocessors by the `kind` of a model card's `preprocessing` spec (`image` when the spec
 * has no kind, as the cell cards written before kinds existed). A modality registers its own.
 */
export const preprocessors = new Registry<PreprocessContext, StreamPreprocessor>('preprocessor');

/** The preprocessor of a card's spec; a ConfigError names the field when it is invalid. */
export function createStreamPreprocessor(spec: unknown, where = 'preprocessing'): StreamPreprocessor {
  const withKind = typeof spec === 'object' && spec !== null && !('kind' in spec) ? { kind: 'image', ...spec } : spec;
  return preprocessors.create(withKind, { where }, where);
}

/** A spec schema with its `kind` literal, for registering a preprocessor whose own schema has none. */
export function withKind<T extends z.ZodRawShape>(kind: string, schema: z.ZodObject<T>) {
  return schema.extend({ kind: z.literal(kind) }).strict();
}
