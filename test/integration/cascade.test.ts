// The cascade to the teacher (host/src/cascade), checked against things that are not its code:
// the decisions file's probabilities (which frames were unsure), onnxruntime run directly on
// the same frames (the teacher's answers), a run without a cascade (the student's triggers),
// and a clock the test moves by hand (which answers came within the budget). Nothing here
// depends on how fast the machine is: a teacher slower than the input is a teacher held.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import { manualClock, type Clock } from '../../host/src/core/clock.js';
import { createDaemon, type Daemon } from '../../host/src/daemon.js';
import type { TriggerEvent } from '../../host/src/metrics/snapshot.js';
import { systemClock } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { validateConfig, type PipelineConfig } from '../../host/src/config/schema.js';
import { readArrowLog, readJsonlLog, REPO, replayConfig, runToEnd, SHARED, tempDir, ZOO } from '../support/fixtures.js';
import { lines, marginOf, type Answer, type Decision } from '../support/cascade-logs.js';
import { teacherProbsOffline } from '../support/teacher-offline.js';

const CAPTURE = join(REPO, 'sim/recordings/cells-bccd-test.arrows');
const CELLS = join(ZOO, 'cells-bccd');
const ALERTS = join(ZOO, 'alerts-transient');


function argmaxOf(p: readonly number[]): number {
  return p.indexOf(Math.max(...p));
}

/** What a trigger record says about the decision (not when it was written, nor by which run). */
function decisionOf(e: TriggerEvent): unknown {
  return { kind: e.kind, seq: e.seq, id: e.id, class: e.class, score: e.score, probs: e.probs, truth: e.truth, late: e.late, payload: e.payload };
}

async function startDaemon(cfg: PipelineConfig, clock: Clock = systemClock()): Promise<Daemon> {
  return createDaemon(cfg, { clock, timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } });
}

describe('cascade to the teacher: cells', () => {
  const dir = tempDir('cascade-cells');
  const cells = (name: string, over: Record<string, unknown> = {}) =>
    replayConfig(CELLS, CAPTURE, { backend: 'sim', sinks: { jsonl: join(dir, `${name}.jsonl`) }, decisions: join(dir, `${name}.decisions.jsonl`), trigger: { threshold: 0.5, maxRatePerS: 1e7, burst: 1_000_000 }, ...over });

  it('with a teacher slower than the input, the queue never holds more than queueFrames, the rest are counted dropped, and the student fires as without a cascade', async () => {
    const base = await runToEnd(cells('base'));
    const answers = join(dir, 'held.answers.jsonl');
    const d = await startDaemon(cells('held', { cascade: { model: CELLS, cut: { margin: 1 }, queueFrames: 8, answers } }));
    // Held before the first frame: it answers nothing until let go.
    d.cascade!.queue.hold(true);
    d.start();
    await d.sourceDone;
    const during = d.cascade!.read(0);
    d.cascade!.queue.hold(false);
    await d.stop();
    const after = d.cascade!.read(0);
    const decisions = lines<Decision>(join(dir, 'held.decisions.jsonl')).sort((a, b) => a.seq - b.seq);
    const unsure = decisions.filter((l) => marginOf(l.probs) < 1);
    expect(unsure.length).toBeGreaterThan(100);
    expect(during).toMatchObject({ unsure: unsure.length, sent: 8, dropped: unsure.length - 8, queueDepth: 8, queueDepthMax: 8, answered: 0 });
    expect(after).toMatchObject({ sent: 8, dropped: unsure.length - 8, queueDepth: 0, queueDepthMax: 8, answered: 8, failed: 0 });
    // The first eight unsure frames went, in order; no other.
    expect(lines<Answer>(answers).map((a) => a.seq)).toEqual(unsure.slice(0, 8).map((l) => l.seq));
    // The student's trigger records are those of the run without a cascade, every one.
    const got = readJsonlLog<TriggerEvent>(join(dir, 'held.jsonl')).map(decisionOf);
    const want = readJsonlLog<TriggerEvent>(join(dir, 'base.jsonl')).map(decisionOf);
    expect(want.length).toBeGreaterThan(0);
    expect(got).toEqual(want);
    expect(d.metrics.snapshot().triggers).toBe(base.metrics.snapshot().triggers);
  }, 120_000);

  it("sends exactly the frames whose margin is under the cut, and logs onnxruntime's own teacher answer for each", async () => {
    const cut = 0.9;
    const answers = join(dir, 'cut.answers.jsonl');
    // A queue as long as the capture: no frame can be dropped, however slow the teacher.
    const d = await runToEnd(cells('cut', { cascade: { model: CELLS, cut: { margin: cut }, queueFrames: 1024, answers } }));
    const decisions = lines<Decision>(join(dir, 'cut.decisions.jsonl'));
    expect(decisions.length).toBe(readCapture(CAPTURE).count);
    // The decisions file rounds to 6 digits: no frame may sit that close to the cut.
    expect(decisions.filter((l) => Math.abs(marginOf(l.probs) - cut) < 1e-5)).toEqual([]);
    const unsure = decisions.filter((l) => marginOf(l.probs) < cut).map((l) => l.seq).sort((a, b) => a - b);
    const got = lines<Answer>(answers);
    expect(unsure.length).toBeGreaterThan(5);
    expect(unsure.length).toBeLessThan(decisions.length);
    expect(got.map((a) => a.seq).sort((a, b) => a - b)).toEqual(unsure);
    const ref = await teacherProbsOffline(CELLS, CAPTURE, unsure);
    const bySeq = new Map(decisions.map((l) => [l.seq, l]));
    let worst = 0;
    let agreed = 0;
    for (const a of got) {
      const want = ref.get(a.seq)!;
      for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(a.teacherProbs![k]! - want[k]!));
      const studentTop = argmaxOf(bySeq.get(a.seq)!.probs);
      expect(a.student).toBe(d.card.labels[studentTop]);
      expect(a.teacher).toBe(d.card.labels[argmaxOf(want)]);
      if (argmaxOf(want) === studentTop) agreed++;
    }
    expect(worst).toBeLessThan(1e-4);
    const s = d.cascade!.read(0);
    expect(s).toMatchObject({ cutKind: 'margin', cut, sent: unsure.length, dropped: 0, answered: unsure.length, agreed, failed: 0 });
    expect(s.agreement).toBeCloseTo(agreed / unsure.length, 12);
    expect(s.queueDepthMax).toBeLessThanOrEqual(1024);
    expect(s.teacherLatencyUs.count).toBe(unsure.length);
    // The published snapshot (/api/snapshot, the websocket, /metrics) carries the same counts.
    expect(d.view.snapshot().cascade).toMatchObject({ teacher: 'cells-bccd/teacher', sent: unsure.length, answered: unsure.length, agreed, dropped: 0, queueDepth: 0 });
  }, 120_000);

  it('an entropy cut sends the frames whose normalised entropy is over it', async () => {
    const cut = 0.2;
    const answers = join(dir, 'entropy.answers.jsonl');
    await runToEnd(cells('entropy', { cascade: { model: CELLS, cut: { entropy: cut }, queueFrames: 1024, answers } }));
    const entropy = (p: number[]) => p.filter((x) => x > 0).reduce((h, x) => h - x * Math.log2(x), 0) / Math.log2(p.length);
    const decisions = lines<Decision>(join(dir, 'entropy.decisions.jsonl'));
    expect(decisions.filter((l) => Math.abs(entropy(l.probs) - cut) < 1e-4)).toEqual([]);
    const want = decisions.filter((l) => entropy(l.probs) > cut).map((l) => l.seq).sort((a, b) => a - b);
    expect(want.length).toBeGreaterThan(0);
    expect(lines<Answer>(answers).map((a) => a.seq).sort((a, b) => a - b)).toEqual(want);
  }, 120_000);

  it('refuses a teacher of other labels, a calibrated cut the card lacks, and an answers file that exists', async () => {
    await expect(startDaemon(cells('labels', { cascade: { model: join(ZOO, 'cells-lymphocyte'), cut: { margin: 0.5 } } }))).rejects.toThrow(/cascade\.model.*labels/);
    await expect(startDaemon(cells('calibrated', { cascade: { model: CELLS, cut: { margin: 'calibrated' } } }))).rejects.toThrow(/calibration\.cascade\.margin/);
    const taken = join(dir, 'base.decisions.jsonl');
    await expect(startDaemon(cells('taken', { cascade: { model: CELLS, cut: { margin: 0.5 }, answers: taken } }))).rejects.toMatchObject({ code: 'E_SINK' });
    expect(() => validateConfig({ model: CELLS, source: { kind: 'replay', path: CAPTURE }, trigger: {}, cascade: { model: CELLS, cut: { margin: 0.5 }, queueFrames: 1_000_000 } })).toThrow(/cascade\.queueFrames/);
  }, 120_000);
});

describe('cascade to the teacher: alerts, the teacher replacing the student within the budget', () => {
  const dir = tempDir('cascade-alerts');
  const budgetUs = 2000;
  // Every class a target at a low threshold, so that both the student's and the teacher's
  // decisions fire often (the transient student is unsure of most real packets: of these 661
  // alerts, about half have a margin under 0.06, and one reaches a probability of 0.5).
  const threshold = 0.3;
  const cut = 0.0609;
  const alerts = (name: string, cascade?: Record<string, unknown>) =>
    validateConfig({
      pipeline: 'alerts', model: ALERTS, backend: 'sim', budgetUs,
      source: { kind: 'alerts', paths: [join(SHARED, 'alerts/ztf-4.02-2023-10'), join(SHARED, 'alerts/rubin-9.0-2025-09')] },
      decoder: { kind: 'avro' },
      trigger: { targets: ['SN Ia', 'SN II', 'SN Ibc', 'SLSN', 'TDE', 'AGN', 'Periodic'], threshold, maxRatePerS: 1e7, burst: 1_000_000 },
      sinks: { jsonl: join(dir, `${name}.jsonl`), arrow: join(dir, `${name}-arrow`) }, decisions: join(dir, `${name}.decisions.jsonl`), server: { enabled: false },
      ...(cascade === undefined ? {} : { cascade: { model: ALERTS, queueFrames: 1024, replace: true, answers: join(dir, `${name}.answers.jsonl`), ...cascade } }),
    });

  /** Runs on a clock that stands still unless `afterSource` moves it (no frame is ever late;
   * the rate limit never refills, hence the burst as large as the stream). */
  async function run(cfg: PipelineConfig, afterSource: (d: Daemon, clock: ReturnType<typeof manualClock>) => Promise<void> | void = () => {}, before: (d: Daemon) => void = () => {}): Promise<Daemon> {
    const clock = manualClock(1e9);
    const d = await startDaemon(cfg, clock);
    before(d);
    d.start();
    await d.sourceDone;
    await afterSource(d, clock);
    await d.stop();
    return d;
  }

  const thresholdDecision = (p: number[]) => {
    const k = argmaxOf(p);
    return p[k]! >= threshold ? k : -1;
  };

  it("answers within the budget decide: each sent alert's record is the teacher's decision, the others the student's as without a cascade", async () => {
    await run(alerts('base'));
    const d = await run(alerts('within', { cut: { margin: cut } }));
    const answers = lines<Answer>(join(dir, 'within.answers.jsonl'));
    const decisions = lines<Decision>(join(dir, 'within.decisions.jsonl'));
    expect(decisions.length).toBeGreaterThan(600);
    expect(decisions.filter((l) => Math.abs(marginOf(l.probs) - cut) < 1e-5)).toEqual([]);
    const sent = new Set(decisions.filter((l) => marginOf(l.probs) < cut).map((l) => l.seq));
    expect(sent.size).toBeGreaterThan(100);
    expect(sent.size).toBeLessThan(decisions.length - 100);
    expect(answers.map((a) => a.seq).sort((a, b) => a - b)).toEqual([...sent].sort((a, b) => a - b));
    // The clock stood still: every answer came 0 us after its alert was due.
    expect(answers.every((a) => a.latencyUs === 0 && a.decidedBy === 'teacher')).toBe(true);
    const records = readJsonlLog<TriggerEvent>(join(dir, 'within.jsonl'));
    // None overwritten: one record per alert at most.
    expect(new Set(records.map((r) => r.seq)).size).toBe(records.length);
    const bySeq = new Map(records.map((r) => [r.seq, r]));
    let changed = 0;
    for (const a of answers) {
      const k = thresholdDecision(a.teacherProbs!);
      const r = bySeq.get(a.seq);
      if (k < 0) expect(r).toBeUndefined();
      else {
        expect(r?.class).toBe(d.card.labels[k]);
        expect(r?.cascade).toEqual({ decidedBy: 'teacher', student: a.student, teacher: a.teacher, teacherScore: a.teacherProbs![argmaxOf(a.teacherProbs!)], inTime: true });
      }
      if (k !== thresholdDecision(a.studentProbs)) changed++;
    }
    // The teacher changed many decisions (else this test could not tell who decided).
    expect(changed).toBeGreaterThan(20);
    const base = readJsonlLog<TriggerEvent>(join(dir, 'base.jsonl')).filter((r) => !sent.has(r.seq)).map(decisionOf);
    expect(base.length).toBeGreaterThan(20);
    expect(records.filter((r) => !sent.has(r.seq)).map(decisionOf)).toEqual(base);
    expect(d.cascade!.read(0)).toMatchObject({ sent: sent.size, dropped: 0, decidedByTeacher: sent.size, decidedByStudent: 0 });
    // The Arrow log (read with apache-arrow): a held record's row, written after the answer,
    // carries it as the answers file has it; the others none; no follow-up rows (all were held).
    const rows = readArrowLog(join(dir, 'within-arrow')).toArray().map((r) => r.toJSON() as Record<string, any>);
    expect(rows.map((r) => Number(r.seq))).toEqual(records.map((r) => r.seq));
    expect(rows.every((r) => r.kind === 'trigger')).toBe(true);
    const answerOf = new Map(answers.map((a) => [a.seq, a]));
    let held = 0;
    for (const r of rows) {
      const a = answerOf.get(Number(r.seq));
      if (a === undefined) {
        expect([r.decidedBy, r.teacherClass, r.teacherScore, r.teacherInTime]).toEqual([null, null, null, null]);
        continue;
      }
      held++;
      expect(r.decidedBy).toBe('teacher');
      expect(r.teacherClass).toBe(a.teacher);
      expect(Math.abs(r.teacherScore - Math.max(...a.teacherProbs!))).toBeLessThan(1e-6);
      expect(r.teacherInTime).toBe(true);
    }
    expect(held).toBeGreaterThan(20);
  }, 180_000);

  it("answers after the budget do not: every record is the student's, as without a cascade", async () => {
    const d = await run(
      alerts('late', { cut: { margin: cut } }),
      async (daemon, clock) => {
        // The budget runs out for every alert held: the daemon's expiry releases them all with
        // the student's decision while the teacher is still held (no wait is asserted: the loop
        // ends when they are out, whenever that is).
        expect(daemon.cascade!.heldWaiting).toBeGreaterThan(100);
        clock.advanceNs(budgetUs * 1000 + 1);
        while (daemon.cascade!.heldWaiting > 0) await new Promise((r) => setTimeout(r, 5));
        daemon.cascade!.queue.hold(false);
      },
      (daemon) => daemon.cascade!.queue.hold(true),
    );
    const answers = lines<Answer>(join(dir, 'late.answers.jsonl'));
    expect(answers.length).toBe(d.cascade!.read(0).sent);
    // Each answer came after the budget: either expired first (no decidedBy on the answer) or decided by the student.
    expect(answers.every((a) => a.latencyUs > budgetUs && a.decidedBy !== 'teacher')).toBe(true);
    const records = readJsonlLog<TriggerEvent>(join(dir, 'late.jsonl'));
    const sent = new Set(answers.map((a) => a.seq));
    for (const r of records) if (sent.has(r.seq)) expect(r.cascade).toMatchObject({ decidedBy: 'student', inTime: false });
    const rows = readArrowLog(join(dir, 'late-arrow')).toArray().map((r) => r.toJSON() as Record<string, any>);
    const heldRows = rows.filter((r) => r.kind === 'trigger' && sent.has(Number(r.seq)));
    expect(heldRows.length).toBeGreaterThan(3);
    expect(heldRows.every((r) => r.decidedBy === 'student' && r.teacherInTime === false)).toBe(true);
    // Released before the answer came: the answer follows in an `answer` row, late, once per such record.
    const answerOf = new Map(answers.map((a) => [a.seq, a]));
    const follow = rows.filter((r) => r.kind === 'answer');
    expect(follow.map((r) => Number(r.seq)).sort((a, b) => a - b)).toEqual(heldRows.filter((r) => r.teacherClass === null).map((r) => Number(r.seq)).sort((a, b) => a - b));
    for (const r of follow) expect([r.teacherClass, r.teacherInTime, r.late]).toEqual([answerOf.get(Number(r.seq))!.teacher, false, true]);
    const sorted = (xs: TriggerEvent[]) => xs.map(decisionOf).sort((a, b) => (a as { seq: number }).seq - (b as { seq: number }).seq);
    expect(sorted(records)).toEqual(sorted(readJsonlLog<TriggerEvent>(join(dir, 'base.jsonl'))));
    expect(d.cascade!.read(0)).toMatchObject({ decidedByTeacher: 0, decidedByStudent: sent.size });
  }, 180_000);
});
