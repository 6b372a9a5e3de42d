// The snapshot's dashboard fields on a labelled replay with a second opinion: purity, yield,
// suppressed targets and triggers by truth against the capture's own labels and the trigger
// and decision logs; live agreement against the decision lines' two probability vectors.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import { REPO, readJsonlLog, replayConfig, runToEnd, tempDir, ZOO } from '../support/fixtures.js';

const CAPTURE = join(REPO, 'sim/recordings/cells-bccd-test.arrows');
const MODEL = join(ZOO, 'cells-bccd');

const argmax = (xs: readonly number[]) => xs.reduce((b, x, k) => (x > xs[b] ? k : b), 0);

describe('snapshot settings, quality and agreement', () => {
  it('match an independent count over the capture\'s labels and the trigger and decision logs', async () => {
    const dir = tempDir('dashboard-fields');
    const jsonl = join(dir, 'triggers.jsonl');
    const decisions = join(dir, 'decisions.jsonl');
    // 50 triggers at most (a bucket of 50 that refills once in 1,000 s): every later white cell
    // over the threshold is suppressed, however fast or slow the replay runs.
    const trigger = { targets: ['WBC'], threshold: 0.5, maxRatePerS: 0.001, burst: 50 };
    const d = await runToEnd(replayConfig(MODEL, CAPTURE, { extraModels: [{ name: 'teacher', model: MODEL, variant: 'teacher', backend: 'onnx' }], decisions, sinks: { jsonl }, trigger }));
    const snap = d.view.snapshot();
    const cap = readCapture(CAPTURE);
    const labels = cap.spec.labels!;
    const truthOf = new Map<number, string>();
    for (let i = 0; i < cap.count; i++) truthOf.set(cap.seq[i], labels[cap.labels[i]]);
    const triggers = readJsonlLog<{ kind: string; seq: number }>(jsonl).filter((t) => t.kind === 'trigger');
    const lines = readFileSync(decisions, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; class: string; score: number; trigger: boolean; late: boolean; probs: number[]; teacher: Array<number | null> });
    const isWbc = (seq: number) => truthOf.get(seq) === 'WBC';
    const targets = [...truthOf.values()].filter((l) => l === 'WBC').length;
    const onTargets = triggers.filter((t) => isWbc(t.seq)).length;
    const suppressed = lines.filter((l) => l.class === 'WBC' && l.score >= 0.5 && !l.trigger && !l.late && isWbc(l.seq)).length;
    expect(triggers.length).toBe(50);
    expect(suppressed).toBeGreaterThan(0);
    expect(snap.quality).toEqual({
      labelled: cap.count,
      targets,
      triggers: triggers.length,
      triggersOnTargets: onTargets,
      purity: onTargets / triggers.length,
      yield: onTargets / targets,
      targetsMissedLate: 0,
      targetsSuppressed: suppressed,
      triggersByTruth: Object.fromEntries(labels.map((l) => [l, triggers.filter((t) => truthOf.get(t.seq) === l).length])),
    });
    const both = lines.filter((l) => l.teacher[0] !== null);
    const agreed = both.filter((l) => argmax(l.probs) === argmax(l.teacher as number[])).length;
    expect(snap.agreement).toMatchObject({ other: 'teacher', frames: both.length, agreed });
    expect(snap.agreement!.recent).toBeGreaterThan(0);
    expect(snap.settings!.maxRatePerS).toBeCloseTo(0.001, 12);
    expect({ ...snap.settings, maxRatePerS: 0.001 }).toEqual({
      source: `replay ${CAPTURE} (max)`, decoder: 'fixed', backend: 'onnx', model: 'cells-bccd/student', models: ['cells-bccd/student'], mode: 'host',
      targets: ['WBC'], threshold: 0.5, holdoffUs: 0, maxRatePerS: 0.001, burst: 50, budgetUs: 10_000_000, filters: [], paused: false, replaySpeed: null,
    });
    expect(snap.scores).toBe('probabilities');
    expect(snap.errorsLatest).toEqual([]);
  }, 120_000);
});
