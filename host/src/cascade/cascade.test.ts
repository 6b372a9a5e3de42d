// The cascade on its own, with the BCCD teacher's real worker and a clock moved by hand: the
// recent window of sent/s, and held triggers released by the budget (expire) or by the answer.
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../core/clock.js';
import { FrameRing, type FrameSlot } from '../core/frame.js';
import { readModelCard } from '../model/card.js';
import { TriggerRing } from '../sinks/trigger-ring.js';
import { TriggerPolicy } from '../trigger/policy.js';
import { Cascade } from './cascade.js';
import { loadCascadeTeacher } from './load.js';

const MODEL = resolve(import.meta.dirname, '..', '..', '..', 'models', 'zoo', 'cells-bccd');
const card = readModelCard(MODEL);
const names = { run: 'r', streams: ['s'], labels: card.labels, describePayload: () => ({}) };

async function cascadeOf(opts: { replace: boolean; budgetUs: number; cut: number }) {
  const clock = manualClock(1e9);
  const holder: { c: Cascade | null } = { c: null };
  const teacher = await loadCascadeTeacher({ model: MODEL, variant: 'teacher', cut: { margin: opts.cut }, queueFrames: 16, replace: opts.replace }, card, (p) => p, () => holder.c?.join());
  const ring = new TriggerRing(3);
  const policy = new TriggerPolicy({ targets: ['WBC'], threshold: 0.5, holdoffUs: 0, maxRatePerS: 1e7, burst: 1e6 }, card.labels, opts.budgetUs);
  const c = new Cascade(teacher.queue, {
    teacher: teacher.name, cut: teacher.cut, replace: opts.replace, labels: card.labels, teacherTakesProbabilities: teacher.takesProbabilities,
    inputs: 1, budgetUs: opts.budgetUs, clock, windowS: 5, policy: () => policy.params, ring, frameSlots: 64,
  });
  holder.c = c;
  return { c, clock, ring };
}

/** A frame of seq `seq` the student calls WBC with probability `p` (margin 2p - 1 over RBC), due now. */
function frame(slots: readonly FrameSlot[], seq: number, p: number, nowNs: number): FrameSlot {
  const s = slots[seq % slots.length];
  for (let k = 0; k < s.input.length; k++) s.input[k] = Math.cos(seq + k / 7);
  s.probs.set([1 - p, p, 0]);
  s.predicted = 1;
  s.score = p;
  s.triggered = p >= 0.5;
  s.late = false;
  s.missed = false;
  s.seq = seq;
  s.dueNs = nowNs;
  s.stampsNs.fill(nowNs);
  return s;
}

async function answered(c: Cascade): Promise<void> {
  while (c.queue.outstanding > 0) {
    await new Promise((r) => setTimeout(r, 2));
    c.join();
  }
}

describe('Cascade', () => {
  let open: Cascade | null = null;
  afterEach(async () => {
    await open?.close();
    open = null;
  });

  it('sends a frame only under the cut, and reports sent/s over the recent window (since the first read before one has passed)', async () => {
    const { c, clock } = await cascadeOf({ replace: false, budgetUs: 1000, cut: 0.5 });
    open = c;
    const slots = new FrameRing(3 * 32 * 32, 3, 64).slots;
    expect(c.read(clock.nowNs())).toMatchObject({ sent: 0, sentPerS: 0, unsure: 0 });
    // Margins 0.9 (sure) and 0.1 (unsure), alternately: five of ten are sent.
    for (let i = 0; i < 10; i++) c.offer(frame(slots, i, i % 2 === 0 ? 0.95 : 0.55, clock.nowNs()));
    clock.advanceNs(1e9);
    expect(c.read(clock.nowNs())).toMatchObject({ unsure: 5, sent: 5, dropped: 0, sentPerS: 5 });
    await answered(c);
    // 20 unsure frames into a queue of 16: 16 sent, 4 dropped, the queue never over its bound.
    for (let i = 10; i < 30; i++) c.offer(frame(slots, i, 0.6, clock.nowNs()));
    clock.advanceNs(5e9);
    // The newest read at least 5 s old is the one at 1 s: 16 sent in the 5 s since.
    const s = c.read(clock.nowNs());
    expect(s).toMatchObject({ unsure: 25, sent: 21, dropped: 4, sentPerS: 3.2, queueDepthMax: 16 });
    await answered(c);
    const t = c.read(clock.nowNs());
    expect(t).toMatchObject({ answered: 21, failed: 0, queueDepth: 0 });
    expect(t.agreement).toBeCloseTo(t.agreed / 21, 12);
  }, 60_000);

  it('replace: a held trigger whose budget runs out before the answer goes out once, decided by the student', async () => {
    const { c, clock, ring } = await cascadeOf({ replace: true, budgetUs: 1000, cut: 0.5 });
    open = c;
    const slots = new FrameRing(3 * 32 * 32, 3, 64).slots;
    c.queue.hold(true);
    const s = frame(slots, 7, 0.6, clock.nowNs());
    c.offer(s);
    expect(c.holds(s)).toBe(true);
    // Not yet past the budget: still held, nothing written.
    clock.advanceNs(999_000);
    c.expire(clock.nowNs());
    expect(ring.written).toBe(0);
    clock.advanceNs(2000);
    c.expire(clock.nowNs());
    expect(ring.written).toBe(1);
    const [e] = ring.drain(names);
    expect(e).toMatchObject({ seq: 7, class: 'WBC', cascade: { decidedBy: 'student', student: 'WBC', teacher: null } });
    // The answer comes later: joined (agreement counted), nothing more written.
    c.queue.hold(false);
    await answered(c);
    expect(ring.written).toBe(1);
    expect(c.read(clock.nowNs())).toMatchObject({ answered: 1, decidedByStudent: 1, decidedByTeacher: 0 });
  }, 60_000);

  it('replace: an answer within the budget decides, with the teacher class on the record', async () => {
    const { c, clock, ring } = await cascadeOf({ replace: true, budgetUs: 1000, cut: 0.5 });
    open = c;
    const slots = new FrameRing(3 * 32 * 32, 3, 64).slots;
    const s = frame(slots, 3, 0.6, clock.nowNs());
    c.offer(s);
    c.holds(s);
    await answered(c);
    const k = c.read(clock.nowNs());
    expect(k).toMatchObject({ answered: 1, decidedByTeacher: 1, decidedByStudent: 0 });
    const events = ring.drain(names);
    // The record exists exactly when the teacher's decision fires, and says so.
    expect(events.length).toBeLessThanOrEqual(1);
    for (const e of events) expect(e).toMatchObject({ seq: 3, cascade: { decidedBy: 'teacher', student: 'WBC' } });
  }, 60_000);
});
