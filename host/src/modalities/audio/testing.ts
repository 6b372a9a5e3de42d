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
  return feedStreams(spec, [samples], sizes)[0]!;
}

/**
 * Feeds several streams at once, one preprocessor each (as one daemon per microphone in a
 * process): a chunk of each in turn, round-robin, each cut by `sizes` (cycled per stream), so
 * their windows interleave on whatever the streams share. Returns each stream's model frames.
 */
export function feedStreams(spec: FrontEndSpec, streams: readonly Int16Array[], sizes: readonly number[]) {
  const ring = new FrameRing(createStreamPreprocessor(spec).inputElements, 2, 512);
  const outlet = { derive: (from: FrameSlot) => { const s = ring.acquire(); copyFrameHeader(from, s); return s; } };
  const states = streams.map((samples) => ({
    samples,
    pre: createStreamPreprocessor(spec),
    bytes: new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength),
    at: 0,
    i: 0,
    out: [] as { seq: number; dueNs: number; x: Float32Array }[],
  }));
  for (let busy = true; busy; ) {
    busy = false;
    for (const st of states) {
      if (st.at >= st.samples.length) continue;
      busy = true;
      const n = Math.min(st.samples.length - st.at, sizes[st.i++ % sizes.length]!);
      const slot = ring.acquire();
      slot.raw = st.bytes;
      slot.rawOffset = st.at * 2;
      slot.rawLength = n * 2;
      st.at += n;
      slot.dueNs = ((st.at - 1) * 1e9) / RATE; // due when its last sample arrived
      slot.sensorNs = slot.dueNs;
      expect(st.pre.run(slot, outlet, (s) => st.out.push({ seq: s.seq, dueNs: s.dueNs, x: s.input.slice() }))).toBe(false);
    }
  }
  return states.map((st) => st.out);
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

