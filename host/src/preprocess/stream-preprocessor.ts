import { z } from 'zod';
import type { FrameDType, FrameSlot } from '../core/frame.js';
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
  };
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
