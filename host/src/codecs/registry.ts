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
export const decoders = new Registry<DecoderContext, FrameStage>('decoder');

/** The config's `decoder` block: a kind and that kind's fields. */
export const decoderConfigSchema = z.object({ kind: z.string().min(1) }).passthrough();
