import { z } from 'zod';
import { assert } from '../core/assert.js';
import { ConfigError, FrameShapeError } from '../core/errors.js';
import { DTYPE_BYTES, type FrameSlot } from '../core/frame.js';
import { limits } from '../core/limits.js';
import { preprocessors, type FrameOutlet, type StreamPreprocessor } from './stream-preprocessor.js';

/**
 * Sliding windows over a sample stream (16-bit PCM audio, or float32 samples): frames are
 * chunks of any length; every `hop` samples a window of the last `window` samples becomes a
 * model frame (samples scaled by `scale`: 1/32768 maps int16 PCM onto [-1, 1)). The audio
 * modality's front end (log-mel) builds on it.
 */
export const windowSpecSchema = z
  .object({
    kind: z.literal('window'),
    frame: z.object({ dtype: z.enum(['int16', 'float32']), sampleRateHz: z.number().positive().max(1e7) }).strict(),
    window: z.number().int().min(1),
    hop: z.number().int().min(1),
    scale: z.number().positive().default(1),
  })
  .strict();
export type WindowSpec = z.infer<typeof windowSpecSchema>;

/**
 * The window preprocessor. Its state is a ring of the last `window` samples and the count of
 * samples since the last window. A window is emitted as a frame derived from the chunk that
 * completed it: seq = the window's index in the stream, due time = the chunk's due time less
 * the stream time of the samples after the window's last, at the chunk's pace
 * (`wallNsPerStreamNs`: a window is due when its last sample arrived; at `max` pace, when the
 * chunk did), and `sensorNs` = the chunk's less that stream time, when the chunk has one.
 */
export function createWindowPreprocessor(spec: WindowSpec, where = 'preprocessing'): StreamPreprocessor {
  if (spec.window > limits.modelInputElementsMax) throw new ConfigError(`${where}.window`, `${spec.window} samples exceed modelInputElementsMax ${limits.modelInputElementsMax}`);
  if (spec.hop > spec.window) throw new ConfigError(`${where}.hop`, `hop ${spec.hop} is longer than the window ${spec.window}: samples between windows would never be seen`);
  const bytesPerSample = DTYPE_BYTES[spec.frame.dtype];
  // A chunk may complete at most `framesPerInputMax` windows: each takes a slot of the frame
  // ring while the chunk is still being processed.
  const framesPerInputMax = limits.framesPerInputMax;
  assert(framesPerInputMax < limits.frameSlotsMax, 'one chunk cannot emit more windows than the frame ring holds');
  const chunkSamplesMax = framesPerInputMax * spec.hop;
  const n = spec.window;
  const ring = new Float32Array(n);
  const nsPerSample = 1e9 / spec.frame.sampleRateHz;
  const int16 = spec.frame.dtype === 'int16';
  let head = 0; // next write position in `ring`
  let filled = 0; // samples in the ring, up to n
  let sinceHop = 0; // samples since the last window (or the stream start)
  let windows = 0;
  let scratch: DataView | null = null;
  return {
    frame: { shape: null, dtype: spec.frame.dtype },
    inputElements: [n],
    framesPerInputMax,
    run(slot: FrameSlot, outlet: FrameOutlet, emit: (s: FrameSlot) => void): boolean {
      const bytes = slot.rawLength;
      if (bytes % bytesPerSample !== 0) throw new FrameShapeError(`stream frame seq ${slot.seq}`, `chunk of ${bytes} bytes is not a whole number of ${spec.frame.dtype} samples`);
      // One DataView per backing buffer, over all of it: chunks are often views at different
      // offsets of one buffer (Node's pooled Buffers), so the view's own offset is added below.
      if (scratch === null || scratch.buffer !== slot.raw.buffer) scratch = new DataView(slot.raw.buffer, 0, slot.raw.buffer.byteLength);
      const count = bytes / bytesPerSample;
      if (count > chunkSamplesMax) throw new FrameShapeError(`stream frame seq ${slot.seq}`, `chunk of ${count} samples would complete more than framesPerInputMax ${framesPerInputMax} windows at hop ${spec.hop}; send chunks of at most ${chunkSamplesMax} samples`);
      // Loop invariants read once (a typed array's byteOffset is a getter; per sample they cost
      // the window 10-12 us a 320-sample hop against 4-5 hoisted, on the loaded shared VM).
      const view = scratch;
      const base = slot.raw.byteOffset + slot.rawOffset;
      const scale = spec.scale;
      for (let i = 0; i < count; i++) {
        const at = base + i * bytesPerSample;
        ring[head] = (int16 ? view.getInt16(at, true) : view.getFloat32(at, true)) * scale;
        head = head + 1 === n ? 0 : head + 1;
        if (filled < n) filled++;
        sinceHop++;
        if (filled === n && (windows === 0 || sinceHop >= spec.hop)) {
          const out = outlet.derive(slot);
          const x = out.input;
          // Oldest sample first: the ring from `head` round to `head - 1`.
          for (let k = 0, r = head; k < n; k++, r = r + 1 === n ? 0 : r + 1) x[k] = ring[r];
          const afterNs = (i + 1 - count) * nsPerSample; // <= 0: the sample's stream time relative to the chunk's end
          out.seq = windows++;
          out.dueNs = slot.dueNs + afterNs * slot.wallNsPerStreamNs;
          out.sensorNs = slot.sensorNs + afterNs;
          sinceHop = 0;
          emit(out);
        }
      }
      return false;
    },
    reset() {
      head = 0;
      filled = 0;
      sinceHop = 0;
      ring.fill(0);
    },
  };
}

preprocessors.register({
  kind: 'window',
  summary: 'sliding windows over a sample stream (int16 PCM or float32), one model frame per hop',
  schema: windowSpecSchema,
  create: (spec, ctx) => createWindowPreprocessor(spec as WindowSpec, ctx.where),
});
