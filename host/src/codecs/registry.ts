import { z } from 'zod';
import type { FrameSpec } from '../core/frame.js';
import { Registry } from '../core/registry.js';
import type { FrameStage } from '../pipeline/stage.js';

/** What a decoder is built for: the stream it decodes. */
export interface DecoderContext {
  spec: FrameSpec;
  /** Resolves a path of the config (relative to the config's folder); as given when absent. */
  at?(path: string): string;
}

/**
 * Decoders by the config's `decoder.kind` (the stream's wire format): bytes -> a checked
 * frame (and, for formats that carry them, its id, sensor time and payload). A modality
 * registers its formats from its folder (Avro alerts, WAV chunks).
 */
export const decoders = new Registry<DecoderContext, DecoderStage>('decoder');

/** A decode stage; one that writes a payload (an alert's objectId) says what its bytes are. */
export interface DecoderStage extends FrameStage {
  /** The payload's fields for trigger records and decision lines; `bytes` is a view valid only during the call. */
  describePayload?(bytes: Uint8Array): Record<string, string | number>;
}

/** The config's `decoder` block: a kind and that kind's fields. */
export const decoderConfigSchema = z.object({ kind: z.string().min(1) }).passthrough();
