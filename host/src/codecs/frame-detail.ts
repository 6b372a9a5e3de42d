import type { FrameSpec, FrameSlot } from '../core/frame.js';
import type { TriggerEvent } from '../metrics/snapshot.js';
import type { TriggerView } from '../server/api-types.js';

/**
 * What a trigger's detail view shows of its frame (`GET /api/triggers/:run/:seq`), as a
 * modality decides it: which part of a firing frame the daemon keeps before the frame's slot
 * is reused, and how that part becomes a view. The pipeline never names a modality: each
 * registers a `FrameDetailEntry` from its folder, and the daemon asks which one applies to
 * its stream, decoder and preprocessing.
 */
export interface FrameDetail {
  /** What the detail ring copies of a firing frame on the hot path: its raw bytes
   * (`raw[rawOffset, rawOffset + rawLength)`) or its first model input (`slot.input`). */
  readonly keeps: 'raw' | 'input';
  /** Most bytes (`raw`) or elements (`input`) one frame needs: sizes the ring at start-up. A
   * frame over it is not kept (its view says so). */
  readonly sizeMax: number;
  /** An object the view needs besides the bytes (an Avro record's writer schema), read off
   * the slot on the hot path: must not allocate. Absent: null. */
  context?(slot: FrameSlot): unknown;
  /**
   * Builds the view off the hot path from what was kept (`kept`: a view of the ring, valid
   * only during the call: copy what the view keeps). A frame that cannot be shown throws
   * an operating error (its message becomes the `none` view's reason).
   */
  view(kept: Uint8Array | Float32Array, context: unknown, event: TriggerEvent): TriggerView;
}

/** What a detail entry decides on: the pipeline's stream, decoder and model preprocessing. */
export interface FrameDetailContext {
  spec: FrameSpec;
  decoder: { kind: string } & Record<string, unknown>;
  /** The model card's `preprocessing` (its `kind` absent for images). */
  preprocessing: { kind?: string } & Record<string, unknown>;
  /** Resolves a path of the config. */
  at(path: string): string;
}

/** One modality's detail: `applies` says whether it is this pipeline's, `create` builds it. */
export interface FrameDetailEntry {
  /** For messages: "cells crop", "alert packet", "keyword features". */
  name: string;
  applies(ctx: FrameDetailContext): boolean;
  create(ctx: FrameDetailContext): FrameDetail;
}

const entries: FrameDetailEntry[] = [];

/**
 * The detail entries modalities register (`register` at load), and the one a pipeline uses
 * (`find`: the first registered that applies; null when none does, and its triggers' views
 * are `none`). A list, not a registry by kind: what decides is a combination of the stream's
 * shape, the decoder and the preprocessing, not one name.
 */
export const frameDetails = {
  register(entry: FrameDetailEntry): void {
    entries.push(entry);
  },
  find(ctx: FrameDetailContext): FrameDetail | null {
    const entry = entries.find((e) => e.applies(ctx));
    return entry === undefined ? null : entry.create(ctx);
  },
};
