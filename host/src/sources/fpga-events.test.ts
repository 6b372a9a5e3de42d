import { describe, expect, it } from 'vitest';
import type { FpgaEventPort } from '../backends/fpga.js';
import { monotonicClock } from '../core/clock.js';
import { FifoOverflowError } from '../core/errors.js';
import { FrameRing, type FrameSlot } from '../core/frame.js';
import { FPGA_EVENT_FIELDS, type FpgaDeviceStats } from '../native/addon.js';
import { createFpgaEventSource, EVENT, thresholdsRaw } from './fpga-events.js';
import { manualTimers } from '../core/manual-timers.js';

/** A device whose FIFO the test fills: records [seq, cls, scoreRaw, score, start, done]. */
function fakePort() {
  const fifo: number[][] = [];
  const writes: string[] = [];
  let overflows = 0;
  const port: FpgaEventPort = {
    path: '/dev/shm/fake', classes: 3, outWidth: 16, outFrac: 10, clockKhz: 200_000,
    setMode: (m) => writes.push(`mode ${m}`),
    setThreshold: (k, raw) => writes.push(`thresh ${k} ${raw}`),
    drainEvents(out) {
      const n = Math.min(fifo.length, out.length / FPGA_EVENT_FIELDS);
      for (let i = 0; i < n; i++) out.set(fifo.shift()!, i * FPGA_EVENT_FIELDS);
      return n;
    },
    stats: () => ({ fifoOverflows: overflows, fifoPending: fifo.length }) as FpgaDeviceStats,
  };
  return { port, fifo, writes, overflow: (n: number) => (overflows += n) };
}

describe('thresholdsRaw', () => {
  const port = { classes: 3, outWidth: 16, outFrac: 10 };
  it('rounds the target threshold up to a raw value (logit >= t exactly) and never fires the others', () => {
    expect([...thresholdsRaw(port, [false, true, false], 0.5)]).toEqual([32767, 512, 32767]);
    expect([...thresholdsRaw(port, [true, true, false], 0.5001)]).toEqual([513, 513, 32767]);
    expect([...thresholdsRaw(port, [true, false, false], -1.0004)]).toEqual([-1024, 32767, 32767]);
  });
  it('clamps to the W-bit range', () => {
    expect([...thresholdsRaw(port, [true, false, true], 1e9)]).toEqual([32767, 32767, 32767]);
    expect([...thresholdsRaw(port, [true, false, true], -1e9)]).toEqual([-32768, 32767, -32768]);
  });
});

describe('createFpgaEventSource', () => {
  it('writes thresholds then MODE 1, ingests one slot per event, reports overflows, and drains once more at stop', async () => {
    const { port, fifo, writes, overflow } = fakePort();
    const t = manualTimers();
    const seen: Array<{ seq: number; cls: number; score: number; sensorNs: number; label: number }> = [];
    const lost: Array<[FifoOverflowError, number]> = [];
    const ring = new FrameRing(1, 3, 8);
    const src = createFpgaEventSource(port, { pollUs: 50, thresholdsRaw: Int32Array.of(32767, 512, 32767), eventsPerPollMax: 2, onOverflow: (e, n) => lost.push([e, n]) }, monotonicClock, t.timers);
    const sink = {
      acquire: () => ring.acquire(),
      push(slot: FrameSlot) {
        const rec = new Float64Array(slot.raw.buffer, slot.raw.byteOffset + slot.rawOffset, FPGA_EVENT_FIELDS);
        seen.push({ seq: slot.seq, cls: rec[EVENT.cls]!, score: rec[EVENT.score]!, sensorNs: slot.sensorNs, label: slot.label });
      },
    };
    src.start(sink);
    expect(writes).toEqual(['thresh 0 32767', 'thresh 1 512', 'thresh 2 32767', 'mode 1']);
    expect(t.pending()).toMatchObject({ kind: 'timeout', ms: 0.05 });

    fifo.push([7, 1, 600, 600 / 1024, 10, 45], [9, 1, 700, 700 / 1024, 20, 55], [12, 1, 800, 800 / 1024, 30, 65]);
    overflow(2);
    t.run();
    // A full drain (2 of 2) polls again at once.
    expect(seen.map((e) => e.seq)).toEqual([7, 9]);
    expect(t.pending()?.kind).toBe('immediate');
    expect(lost.map(([, n]) => n)).toEqual([2]);
    expect(lost[0]![0]).toMatchObject({ code: 'E_FIFO_OVERFLOW', lost: 2 });
    t.run();
    expect(seen.map((e) => e.seq)).toEqual([7, 9, 12]);
    expect(seen[2]).toEqual({ seq: 12, cls: 1, score: 800 / 1024, sensorNs: 65 * 5, label: -1 });
    expect(t.pending()?.kind).toBe('timeout');
    expect(lost).toHaveLength(1);
    expect(src.delivered).toBe(3);

    fifo.push([13, 1, 900, 900 / 1024, 40, 75]);
    await src.stop();
    expect(writes.at(-1)).toBe('mode 0');
    expect(seen.map((e) => e.seq)).toEqual([7, 9, 12, 13]);
    expect(t.pending()).toBeNull();
    await src.done;
    await src.stop();
    expect(writes.filter((w) => w === 'mode 0')).toHaveLength(1);
  });
});
