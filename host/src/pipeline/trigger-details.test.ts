import { describe, expect, it } from 'vitest';
import type { FrameDetail } from '../codecs/frame-detail.js';
import { FrameValueError } from '../core/errors.js';
import { FrameRing, type FrameSlot } from '../core/frame.js';
import { fakeTrigger } from '../server/testing.js';
import { TriggerDetailRing } from './trigger-details.js';

/** A detail that keeps raw bytes and shows them as a one-row grey image. */
const rawDetail = (sizeMax: number): FrameDetail => ({
  keeps: 'raw',
  sizeMax,
  view: (kept) => ({ kind: 'image', width: kept.length, height: 1, channels: 1, pixels: Array.from(kept) }),
});

/** A slot of a 4-slot ring pointed at `raw[offset, offset + length)`, numbered `seq`. */
function slotOver(ring: FrameRing, raw: Uint8Array, offset: number, length: number, seq: number): FrameSlot {
  const s = ring.acquire();
  s.seq = seq;
  s.raw = raw;
  s.rawOffset = offset;
  s.rawLength = length;
  return s;
}

describe('TriggerDetailRing', () => {
  it('keeps a firing frame\'s bytes after its source buffer and slot are reused, pairs them with the record, and forgets the oldest past capacity', () => {
    const frames = new FrameRing(1, 2, 4);
    const details = new TriggerDetailRing(rawDetail(8), 3);
    const buffer = new Uint8Array(64);
    const truth = new Map<number, number[]>();
    for (let seq = 0; seq < 5; seq++) {
      // The source writes each frame at a different offset of one buffer, then overwrites it.
      for (let b = 0; b < 6; b++) buffer[seq * 3 + b] = seq * 16 + b;
      truth.set(seq, Array.from(buffer.slice(seq * 3, seq * 3 + 6)));
      details.push(slotOver(frames, buffer, seq * 3, 6, seq));
      buffer.fill(255);
    }
    details.record([0, 1, 2, 3, 4].map((seq) => fakeTrigger(seq, { run: 'r' })));
    for (const seq of [2, 3, 4]) {
      const d = details.find('r', seq);
      expect(d?.event.seq).toBe(seq);
      expect(d?.view).toEqual({ kind: 'image', width: 6, height: 1, channels: 1, pixels: truth.get(seq) });
    }
    // Left the ring (capacity 3), another run, a seq that never fired.
    expect(details.find('r', 1)).toBeNull();
    expect(details.find('r', 0)).toBeNull();
    expect(details.find('other', 4)).toBeNull();
    expect(details.find('r', 99)).toBeNull();
  });

  it('finds nothing until the record is drained to it, and nothing once the frame was overwritten though the record is kept', () => {
    const frames = new FrameRing(1, 2, 4);
    const details = new TriggerDetailRing(rawDetail(4), 2);
    const raw = new Uint8Array([1, 2, 3, 4]);
    details.push(slotOver(frames, raw, 0, 4, 10));
    expect(details.find('r', 10)).toBeNull();
    details.record([fakeTrigger(10, { run: 'r' })]);
    expect(details.find('r', 10)?.view.kind).toBe('image');
    details.push(slotOver(frames, raw, 0, 4, 11));
    details.push(slotOver(frames, raw, 0, 4, 12));
    expect(details.find('r', 10)).toBeNull();
  });

  it('keeps the model input when the modality keeps inputs', () => {
    const frames = new FrameRing(6, 2, 4);
    const detail: FrameDetail = { keeps: 'input', sizeMax: 6, view: (kept, _c, e) => ({ kind: 'spectrogram', streamMs: e.streamMs, frames: 2, bins: 3, values: Array.from(kept), feature: 'MFCC' }) };
    const details = new TriggerDetailRing(detail, 2);
    const s = frames.acquire();
    s.seq = 7;
    s.input.set([0.5, -1, 2.25, 3, -4.5, 1e-3]);
    const want = Array.from(s.input);
    details.push(s);
    s.input.fill(0);
    details.record([fakeTrigger(7, { run: 'r', streamMs: 980 })]);
    expect(details.find('r', 7)?.view).toEqual({ kind: 'spectrogram', streamMs: 980, frames: 2, bins: 3, values: want, feature: 'MFCC' });
  });

  it('says why a frame has no view: too large to keep, a modality that keeps nothing, a view that cannot be built', () => {
    const frames = new FrameRing(1, 2, 4);
    const big = new TriggerDetailRing(rawDetail(4), 2);
    big.push(slotOver(frames, new Uint8Array(10), 0, 10, 1));
    big.record([fakeTrigger(1, { run: 'r' })]);
    expect(big.tooLarge).toBe(1);
    expect(big.find('r', 1)?.view).toEqual({ kind: 'none', reason: 'the frame was larger than the 4 bytes the detail ring keeps of one frame' });

    const none = new TriggerDetailRing(null, 2);
    none.push(slotOver(frames, new Uint8Array(4), 0, 4, 2));
    none.record([fakeTrigger(2, { run: 'r', stream: 'jets' })]);
    expect(none.find('r', 2)?.view).toEqual({ kind: 'none', reason: 'stream jets: its modality keeps no frame for the detail view' });

    const failing = new TriggerDetailRing({ ...rawDetail(4), view: () => { throw new FrameValueError('stamp', 'not FITS'); } }, 2);
    failing.push(slotOver(frames, new Uint8Array(4), 0, 4, 3));
    failing.record([fakeTrigger(3, { run: 'r' })]);
    expect(failing.find('r', 3)?.view).toEqual({ kind: 'none', reason: 'E_FRAME_VALUE at stamp: not FITS' });

    const buggy = new TriggerDetailRing({ ...rawDetail(4), view: () => { throw new TypeError('bug'); } }, 2);
    buggy.push(slotOver(frames, new Uint8Array(4), 0, 4, 4));
    buggy.record([fakeTrigger(4, { run: 'r' })]);
    expect(() => buggy.find('r', 4)).toThrow(TypeError);
  });
});
