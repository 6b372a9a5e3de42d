import { decoders } from '../../../codecs/registry.js';
import '../../../codecs/chunks.js';
import { copyFrameHeader, FrameRing, type FrameSlot, type FrameSpec } from '../../../core/frame.js';
import '../../../preprocess/builtins.js';
import { createStreamPreprocessor } from '../../../preprocess/stream-preprocessor.js';
import type { FrameSink } from '../../../sources/source.js';

/** What an audio source's chunks became downstream: the chunks as decoded, and the windows. */
export interface ChainRecord {
  chunks: { seq: number; sensorNs: number; dueNs: number; ingestNs: number; samples: Int16Array }[];
  /** `chunk`: the index in `chunks` of the chunk that completed the window. */
  windows: { seq: number; sensorNs: number; dueNs: number; chunk: number; first: number }[];
  sink: FrameSink;
}

/**
 * The daemon's path for a stream of PCM chunks, as a sink for source tests: the `chunks`
 * decoder, then the `window` preprocessor (`window` and `hop` samples at `rateHz`), recording
 * each chunk's samples, header and ingest stamp and each window's seq, sensor and due time,
 * chunk and first sample.
 */
export function audioChain(spec: FrameSpec, rateHz: number, window = 480, hop = 320): ChainRecord {
  const decode = decoders.create({ kind: 'chunks' }, { spec }, 'decoder');
  const pre = createStreamPreprocessor({ kind: 'window', frame: { dtype: 'int16', sampleRateHz: rateHz }, window, hop, scale: 1 });
  const ring = new FrameRing(pre.inputElements, 1, 1024);
  const rec: ChainRecord = { chunks: [], windows: [], sink: { acquire: () => ring.acquire(), push: () => {} } };
  const outlet = { derive: (from: FrameSlot) => { const s = ring.acquire(); copyFrameHeader(from, s); return s; } };
  rec.sink.push = (slot) => {
    decode.run(slot);
    const b = slot.raw.slice(slot.rawOffset, slot.rawOffset + slot.rawLength);
    rec.chunks.push({ seq: slot.seq, sensorNs: slot.sensorNs, dueNs: slot.dueNs, ingestNs: slot.stampsNs[0], samples: new Int16Array(b.buffer) });
    const chunk = rec.chunks.length - 1;
    pre.run(slot, outlet, (w) => rec.windows.push({ seq: w.seq, sensorNs: w.sensorNs, dueNs: w.dueNs, chunk, first: w.input[0] }));
  };
  return rec;
}

/** The chunks' samples end to end. */
export function joined(rec: ChainRecord): Int16Array {
  const out = new Int16Array(rec.chunks.reduce((n, c) => n + c.samples.length, 0));
  let at = 0;
  for (const c of rec.chunks) {
    out.set(c.samples, at);
    at += c.samples.length;
  }
  return out;
}
