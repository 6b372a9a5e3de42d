import { z } from 'zod';
import { assert } from '../../../core/assert.js';
import type { FrameSpec } from '../../../core/frame.js';
import { limits } from '../../../core/limits.js';

/**
 * What the audio sources share. Both hand the pipeline chunks of mono int16 little-endian
 * samples (the `chunks` decoder checks them, the `window` preprocessor windows them), and
 * stamp each chunk with the stream time at the end of its last sample: `sensorNs` = samples
 * so far (this chunk's included) / rate, in ns from the first sample. The window preprocessor
 * subtracts the time of the samples after a window's last one, so a window's `sensorNs` is the
 * stream time at its end and a trigger's `streamMs` is `sensorNs / 1e6`. A paced `wav` chunk is
 * due at that same stream time (a microphone delivers a 20 ms chunk 20 ms after it began), and
 * a window inside it that much earlier at the stream's pace (`FrameSlot.wallNsPerStreamNs`; at
 * `max` pace not at all: every sample came with the chunk).
 */

/** Samples a chunk holds by default: 10 ms at 16 kHz, the greatest common divisor of MLPerf
 * Tiny's window (480) and hop (320), so every window ends where a chunk ends and is computed as
 * soon as its last sample arrives. With 20 ms chunks every window ends 160 samples before the
 * end of the chunk that completes it and waits 10 ms for the rest of that chunk. */
export const CHUNK_SAMPLES_DEFAULT = 160;

/** The config fields every audio source has. */
export const pcmFields = {
  /** Samples per chunk (the last chunk of a file or stream may be shorter). */
  chunkSamples: z.number().int().min(1).max(limits.pcmChunkSamplesMax).default(CHUNK_SAMPLES_DEFAULT),
  /** The stream's sample rate: files are resampled to it; a `pcm` stream must already be at it. */
  rateHz: z.number().int().min(1000).max(384_000).default(16_000),
  /** The stream's name in metrics and triggers. */
  stream: z.string().min(1).default('audio'),
};

/** The frames of an audio source: chunks of int16 samples (nominally `chunkSamples` long). */
export function pcmFrameSpec(stream: string, chunkSamples: number): FrameSpec {
  return { stream, shape: [chunkSamples], dtype: 'int16', streamTime: true };
}

/** Stream time in ns at the end of the first `samples` samples. */
export function streamNsAt(samples: number, rateHz: number): number {
  return (samples * 1e9) / rateHz;
}

/** The little-endian bytes of `samples` (a view, no copy): chunks' raw spans point into it. */
export function int16Bytes(samples: Int16Array): Uint8Array {
  assert(new Uint8Array(Uint16Array.of(1).buffer)[0] === 1, 'int16 samples are little-endian on this host');
  return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
}
