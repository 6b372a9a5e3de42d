// Test helpers of the audio front end (excluded from the build): feed a stream preprocessor
// chunks, and compute a clip's features window by window.
import { expect } from 'vitest';
import { copyFrameHeader, FrameRing, type FrameSlot } from '../../core/frame.js';
import { createStreamPreprocessor } from '../../preprocess/stream-preprocessor.js';
import './index.js';
import { createMfcc, type FrontEndSpec } from './mfcc.js';

const RATE = 16_000;

/** Feeds `samples` (int16) in chunks of `sizes` (cycled); returns each model frame with its seq and due time. */
export function feed(spec: FrontEndSpec, samples: Int16Array, sizes: readonly number[]) {
  const pre = createStreamPreprocessor(spec);
  const ring = new FrameRing(pre.inputElements, 2, 512);
  const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  const out: { seq: number; dueNs: number; x: Float32Array }[] = [];
  const outlet = { derive: (from: FrameSlot) => { const s = ring.acquire(); copyFrameHeader(from, s); return s; } };
  for (let at = 0, i = 0; at < samples.length; i++) {
    const n = Math.min(samples.length - at, sizes[i % sizes.length]!);
    const slot = ring.acquire();
    slot.raw = bytes;
    slot.rawOffset = at * 2;
    slot.rawLength = n * 2;
    at += n;
    slot.dueNs = ((at - 1) * 1e9) / RATE; // due when its last sample arrived
    slot.sensorNs = slot.dueNs;
    expect(pre.run(slot, outlet, (s) => out.push({ seq: s.seq, dueNs: s.dueNs, x: s.input.slice() }))).toBe(false);
  }
  return out;
}

/** The whole-clip features: window k covers samples [k * hop, k * hop + window), each through createMfcc alone. */
export function wholeClip(spec: FrontEndSpec, samples: Int16Array): Float32Array[] {
  const front = createMfcc(spec);
  const rows: Float32Array[] = [];
  for (let k = 0; k * spec.hopSamples + spec.windowSamples <= samples.length; k++) {
    const row = new Float32Array(front.width);
    front.run(samples.subarray(k * spec.hopSamples, k * spec.hopSamples + spec.windowSamples), row);
    rows.push(row);
  }
  return rows;
}

