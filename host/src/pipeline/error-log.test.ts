import { describe, expect, it } from 'vitest';
import { manualClock } from '../core/clock.js';
import { FrameValueError, SinkError } from '../core/errors.js';
import { FrameRing } from '../core/frame.js';
import { limits } from '../core/limits.js';
import { PipelineMetrics } from '../metrics/pipeline-metrics.js';
import type { TimerScheduler } from '../sources/source.js';
import { ErrorLog } from './error-log.js';

/** Timers driven by hand: `advance(ms)` runs every callback due by then, in order. */
function manualTimers() {
  let nowMs = 0;
  let nextId = 1;
  const due = new Map<number, { atMs: number; fn: () => void }>();
  const timers: TimerScheduler = {
    setTimeout: (fn, ms) => (due.set(nextId, { atMs: nowMs + ms, fn }), nextId++),
    clearTimeout: (h) => void due.delete(h as number),
    setImmediate: (fn) => (due.set(nextId, { atMs: nowMs, fn }), nextId++),
    clearImmediate: (h) => void due.delete(h as number),
  };
  const advance = (ms: number) => {
    const end = nowMs + ms;
    for (;;) {
      const next = [...due.entries()].filter(([, t]) => t.atMs <= end).sort((a, b) => a[1].atMs - b[1].atMs)[0];
      if (next === undefined) break;
      due.delete(next[0]);
      nowMs = next[1].atMs;
      next[1].fn();
    }
    nowMs = end;
  };
  return { timers, advance, pending: () => due.size, now: () => nowMs };
}

function setup() {
  const t = manualTimers();
  const metrics = new PipelineMetrics({ pipeline: 'p', backend: 'b', model: 'm', labels: ['A'], budgetUs: 1 }, manualClock(0));
  const lines: string[] = [];
  const log = new ErrorLog(metrics, (l) => lines.push(l), t.now, t.timers);
  const slot = new FrameRing(1, 1, 1).acquire();
  const fail = (seq: number) => {
    slot.seq = seq;
    log.frameFailed('preprocess', slot, new FrameValueError(`frame seq ${seq}`, 'NaN pixel'));
  };
  return { t, metrics, lines, log, fail };
}

describe('ErrorLog rate limiting', () => {
  const burst = limits.logLinesPerWindowMax;

  it('writes the first lines of a window, then one summary with the count of the rest', () => {
    const { t, metrics, lines, fail } = setup();
    for (let i = 0; i < burst + 42; i++) fail(i);
    // Every failure is counted even though most are not written.
    expect(metrics.dropped).toBe(burst + 42);
    expect(lines).toHaveLength(burst);
    expect(lines[0]).toContain('frame seq 0: ');
    t.advance(limits.logWindowMs);
    expect(lines).toHaveLength(burst + 1);
    expect(lines[burst]).toMatch(new RegExp(`frame seq ${burst + 41}: .*NaN pixel \\(and 41 more like it in the last 1 s\\)$`));
  });

  it('keeps a sustained flood to one summary line a window, and goes quiet when it stops', () => {
    const { t, lines, fail } = setup();
    let seq = 0;
    for (let s = 0; s < 5; s++) {
      for (let i = 0; i < 100; i++) fail(seq++);
      t.advance(limits.logWindowMs);
    }
    // First window: the burst and a summary; then one summary a window.
    expect(lines).toHaveLength(burst + 5);
    expect(lines.slice(burst + 1).every((l) => /\(and 99 more like it in the last 1 s\)$/.test(l))).toBe(true);
    t.advance(10 * limits.logWindowMs);
    expect(t.pending()).toBe(0);
    // A new burst after a quiet window is shown again.
    fail(seq++);
    expect(lines.at(-1)).toMatch(/frame seq 500: /);
  });

  it('limits each kind (code and place) on its own', () => {
    const { lines, log, fail } = setup();
    for (let i = 0; i < 20; i++) fail(i);
    for (let i = 0; i < 20; i++) log.error(new SinkError('triggers.jsonl', 'disk full'));
    expect(lines.filter((l) => l.includes('NaN pixel'))).toHaveLength(burst);
    expect(lines.filter((l) => l.includes('disk full'))).toHaveLength(burst);
  });

  it('flush writes what an open window held back and leaves no timer', () => {
    const { t, lines, log, fail } = setup();
    for (let i = 0; i < burst + 2; i++) fail(i);
    log.flush();
    expect(lines.at(-1)).toMatch(/\(and 1 more like it in the last 1 s\)$/);
    expect(t.pending()).toBe(0);
  });
});
