// The cascade to the teacher on the keyword stream (host/src/cascade), checked against things
// that are not its code: the decisions file's per-hop posteriors (which hops were unsure), the
// MFCC windows of the same real clips computed here window by window (createMfcc alone, not the
// stream preprocessor) and fed to onnxruntime directly (the teacher's answers), and a run
// without a cascade (the detector's triggers). Nothing waits on how fast the machine is: a
// teacher slower than the stream is a teacher held.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { validateConfig, type PipelineConfig } from '../../host/src/config/schema.js';
import { createDaemon, type Daemon } from '../../host/src/daemon.js';
import type { TriggerEvent } from '../../host/src/metrics/snapshot.js';
import { readModelCard } from '../../host/src/model/card.js';
import { mfccSpecSchema } from '../../host/src/modalities/audio/mfcc.js';
import { wholeClip } from '../../host/src/modalities/audio/testing.js';
import { readWav } from '../../host/src/modalities/audio/wav.js';
import { systemClock } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { readArrowLog, readJsonlLog, REPO, runToEnd, SHARED, tempDir, ZOO } from '../support/fixtures.js';
import { lines, marginOf, type Answer, type Decision } from '../support/cascade-logs.js';

const KEYWORDS = join(ZOO, 'keywords');
const SPEECH = join(SHARED, 'audio', 'speech-commands-pico-tinyml-benchmark');
/** Real clips, two of each (fewer hops in all than the largest queue, limits.cascadeQueueFramesMax): words, unknown words and silence, so the student is unsure of many hops. */
const WORDS = ['yes', 'no', 'up', 'down', 'left', 'stop', '_unknown_', '_silence_'];
const PER_WORD = 2;


const argmaxOf = (p: ArrayLike<number>): number => {
  let k = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[k]!) k = i;
  return k;
};

/** What a trigger record says about the detection (not when it was written). */
function decisionOf(e: TriggerEvent): unknown {
  return { kind: e.kind, seq: e.seq, class: e.class, score: e.score, probs: e.probs, late: e.late, payload: e.payload };
}

/** A folder of real clips, named so that the wav source plays them in this order (as one stream). */
function clipFolder(dir: string): string[] {
  const out = join(dir, 'clips');
  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  let n = 0;
  for (const word of WORDS) {
    const names = readdirSync(join(SPEECH, word)).filter((f) => f.endsWith('.wav')).sort().slice(0, PER_WORD);
    for (const f of names) {
      const to = join(out, `${String(n++).padStart(3, '0')}-${word}-${f}`);
      copyFileSync(join(SPEECH, word, f), to);
      files.push(to);
    }
  }
  return files;
}

/** The teacher's softmax on model frames `seqs` of the stream `files` make, by onnxruntime
 * directly: model frame s is MFCC windows [s, s + frames) of the whole stream, each window
 * computed alone (`wholeClip`). */
async function teacherOnWindows(files: readonly string[], seqs: readonly number[]): Promise<Map<number, number[]>> {
  const card = readModelCard(KEYWORDS);
  const spec = mfccSpecSchema.parse(card.preprocessing);
  const parts = files.map((f) => readWav(f).samples);
  const stream = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    stream.set(p, at);
    at += p.length;
  }
  const rows = wholeClip(spec, stream);
  const width = rows[0]!.length;
  const session = await ort.InferenceSession.create(card.files.teacher!);
  const out = new Map<number, number[]>();
  for (const s of seqs) {
    const x = new Float32Array(spec.frames * width);
    for (let f = 0; f < spec.frames; f++) x.set(rows[s + f]!, f * width);
    const r = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, ...card.inputShape]) });
    const z = Array.from(r[session.outputNames[0]!]!.data as Float32Array);
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, b) => a + b, 0);
    out.set(s, e.map((v) => v / sum));
  }
  await session.release();
  return out;
}

describe('cascade to the teacher: keywords', () => {
  const dir = tempDir('cascade-keywords');
  const files = clipFolder(dir);
  const keywords = (name: string, over: Record<string, unknown> = {}): PipelineConfig =>
    validateConfig({
      pipeline: 'keywords', model: KEYWORDS, backend: 'sim', budgetUs: 10_000_000,
      source: { kind: 'wav', path: join(dir, 'clips'), pacing: 'max' },
      trigger: { maxRatePerS: 1e7, burst: 1_000_000 },
      sinks: { jsonl: join(dir, `${name}.jsonl`) }, decisions: join(dir, `${name}.decisions.jsonl`), server: { enabled: false },
      ...over,
    });

  it("sends exactly the hops whose posterior's margin is under the cut, and logs onnxruntime's own answer on those hops' MFCC windows", async () => {
    const cut = 0.3;
    const answers = join(dir, 'cut.answers.jsonl');
    // A queue as long as the stream: no hop can be dropped, however slow the teacher.
    const d = await runToEnd(keywords('cut', { cascade: { model: KEYWORDS, cut: { margin: cut }, queueFrames: 1024, answers } }));
    const decisions = lines<Decision>(join(dir, 'cut.decisions.jsonl')).sort((a, b) => a.seq - b.seq);
    // One model frame per 20 ms hop once a second of windows is there.
    const spec = mfccSpecSchema.parse(d.card.preprocessing);
    const windows = Math.floor((files.length * 16_000 - spec.windowSamples) / spec.hopSamples) + 1;
    expect(decisions.map((l) => l.seq)).toEqual(Array.from({ length: windows - spec.frames + 1 }, (_, k) => k));
    // The decisions file rounds to 6 digits: no hop may sit that close to the cut.
    expect(decisions.filter((l) => Math.abs(marginOf(l.probs) - cut) < 1e-5)).toEqual([]);
    const unsure = decisions.filter((l) => marginOf(l.probs) < cut).map((l) => l.seq);
    expect(unsure.length).toBeGreaterThan(20);
    expect(unsure.length).toBeLessThan(decisions.length - 20);
    const got = lines<Answer>(answers);
    expect(got.map((a) => a.seq).sort((a, b) => a - b)).toEqual(unsure);
    const ref = await teacherOnWindows(files, unsure);
    const bySeq = new Map(decisions.map((l) => [l.seq, l]));
    let worst = 0;
    let agreed = 0;
    for (const a of got) {
      const want = ref.get(a.seq)!;
      for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(a.teacherProbs![k]! - want[k]!));
      const studentTop = argmaxOf(bySeq.get(a.seq)!.probs);
      expect(a.student).toBe(d.card.labels[studentTop]);
      expect(a.teacher).toBe(d.card.labels[argmaxOf(want)]);
      expect(a.decidedBy).toBeUndefined();
      if (argmaxOf(want) === studentTop) agreed++;
    }
    expect(worst).toBeLessThan(1e-4);
    // The teacher disagrees on some hops and agrees on others (else agreement could not be told from a constant).
    expect(agreed).toBeGreaterThan(0);
    expect(agreed).toBeLessThan(got.length);
    const s = d.cascade!.read(0);
    expect(s).toMatchObject({ teacher: 'keywords/teacher', cutKind: 'margin', cut, replace: false, sent: unsure.length, unsure: unsure.length, dropped: 0, answered: unsure.length, agreed, failed: 0, decidedByTeacher: 0, decidedByStudent: 0 });
    expect(s.agreement).toBeCloseTo(agreed / unsure.length, 12);
    expect(d.view.snapshot().cascade).toMatchObject({ teacher: 'keywords/teacher', sent: unsure.length, answered: unsure.length, agreed, queueDepth: 0 });
  }, 240_000);

  it('with a teacher slower than the stream, the queue holds at most queueFrames hops, the rest are counted dropped, and the detector fires as without a cascade', async () => {
    await runToEnd(keywords('base'));
    const answers = join(dir, 'held.answers.jsonl');
    const cut = 0.3;
    const d: Daemon = await createDaemon(keywords('held', { cascade: { model: KEYWORDS, cut: { margin: cut }, queueFrames: 8, answers } }), { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } });
    d.cascade!.queue.hold(true);
    d.start();
    await d.sourceDone;
    const during = d.cascade!.read(0);
    d.cascade!.queue.hold(false);
    await d.stop();
    const after = d.cascade!.read(0);
    const decisions = lines<Decision>(join(dir, 'held.decisions.jsonl')).sort((a, b) => a.seq - b.seq);
    const unsure = decisions.filter((l) => marginOf(l.probs) < cut);
    expect(unsure.length).toBeGreaterThan(20);
    expect(during).toMatchObject({ unsure: unsure.length, sent: 8, dropped: unsure.length - 8, queueDepth: 8, queueDepthMax: 8, answered: 0 });
    expect(after).toMatchObject({ sent: 8, dropped: unsure.length - 8, queueDepth: 0, queueDepthMax: 8, answered: 8, failed: 0 });
    expect(lines<Answer>(answers).map((a) => a.seq)).toEqual(unsure.slice(0, 8).map((l) => l.seq));
    const got = readJsonlLog<TriggerEvent>(join(dir, 'held.jsonl')).map(decisionOf);
    const want = readJsonlLog<TriggerEvent>(join(dir, 'base.jsonl')).map(decisionOf);
    expect(want.length).toBeGreaterThan(3);
    expect(got).toEqual(want);
    expect(readJsonlLog<TriggerEvent>(join(dir, 'held.jsonl')).every((r) => r.cascade === undefined)).toBe(true);
  }, 240_000);

  it("the Arrow trigger log: each trigger row is followed, in a later batch, by one `answer` row keyed by its seq carrying the answers file's teacher answer", async () => {
    const answers = join(dir, 'arrow.answers.jsonl');
    const arrow = join(dir, 'arrow-log');
    const budgetUs = 10_000_000;
    // A cut of 1 sends every hop but one the student is certain of (margin exactly 1): nearly every trigger has an answer.
    await runToEnd(keywords('arrow', { budgetUs, sinks: { jsonl: join(dir, 'arrow.jsonl'), arrow }, cascade: { model: KEYWORDS, cut: { margin: 1 }, queueFrames: 1024, answers } }));
    const table = readArrowLog(arrow);
    for (const c of ['decidedBy', 'teacherClass', 'teacherScore', 'teacherInTime']) expect(table.schema.fields.find((f) => f.name === c)?.nullable).toBe(true);
    const rows = table.toArray().map((r) => r.toJSON() as Record<string, any>);
    const triggers = rows.filter((r) => r.kind === 'trigger');
    const follow = rows.filter((r) => r.kind === 'answer');
    // The trigger rows are the JSON log's, and carry no teacher columns (they were written at once).
    expect(triggers.map((r) => Number(r.seq))).toEqual(readJsonlLog<TriggerEvent>(join(dir, 'arrow.jsonl')).map((e) => e.seq));
    expect(triggers.length).toBeGreaterThan(3);
    expect(triggers.every((r) => r.teacherClass === null && r.teacherScore === null && r.teacherInTime === null && r.decidedBy === null)).toBe(true);
    const bySeq = new Map(lines<Answer & { latencyUs: number }>(answers).map((a) => [a.seq, a]));
    // One answer row per trigger row whose hop was sent, after it; none for the other hops.
    const sentTriggers = triggers.filter((r) => bySeq.has(Number(r.seq)));
    expect(sentTriggers.length).toBeGreaterThan(3);
    expect(follow.map((r) => Number(r.seq)).sort((a, b) => a - b)).toEqual(sentTriggers.map((r) => Number(r.seq)).sort((a, b) => a - b));
    for (const r of follow) {
      const a = bySeq.get(Number(r.seq))!;
      const k = argmaxOf(a.teacherProbs!);
      expect(rows.findIndex((x) => x.kind === 'trigger' && x.seq === r.seq)).toBeLessThan(rows.indexOf(r));
      expect(r.teacherClass).toBe(a.teacher);
      expect(r.class).toBe(a.teacher);
      expect(r.classIndex).toBe(k);
      expect(Math.abs(r.teacherScore - a.teacherProbs![k]!)).toBeLessThan(1e-5);
      expect(Math.abs(r.score - a.teacherProbs![k]!)).toBeLessThan(1e-5);
      const probs = Array.from(r.probs as Float32Array);
      for (let i = 0; i < probs.length; i++) expect(Math.abs(probs[i]! - a.teacherProbs![i]!)).toBeLessThan(1e-5);
      expect(r.teacherInTime).toBe(a.latencyUs <= budgetUs);
      expect(r.late).toBe(!(a.latencyUs <= budgetUs));
      expect(Math.abs(r.e2eUs - a.latencyUs)).toBeLessThan(1e-3 * a.latencyUs + 1e-3);
    }
  }, 240_000);

  it('refuses replace: a detection over smoothed hops is not one hop the teacher could decide', async () => {
    const start = createDaemon(keywords('replace', { cascade: { model: KEYWORDS, cut: { margin: 0.3 }, replace: true } }), { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } });
    await expect(start).rejects.toMatchObject({ code: 'E_CONFIG' });
    await expect(start).rejects.toThrow(/cascade\.replace.*detector/);
  }, 60_000);
});
