// A pipeline that runs a second model on every frame (an alert broker's real/bogus beside its
// classifier) gives that model's probabilities for each frame exactly as onnxruntime does
// when run on its own, here; the per-frame decision lines carry them; the trigger classes
// default to the model card's.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../host/src/config/schema.js';
import { createDaemon } from '../../host/src/daemon.js';
import { systemClock } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { REPO, replayConfig, runToEnd, tempDir, ZOO } from '../support/fixtures.js';
import { teacherProbsOffline } from '../support/teacher-offline.js';

const CAPTURE = join(REPO, 'sim/recordings/cells-bccd-test.arrows');
const MODEL = join(ZOO, 'cells-bccd');

describe('extra models and decision lines', () => {
  const dir = tempDir('extra-models');

  it("a second model's probabilities reach every decision line as onnxruntime computes them", async () => {
    const decisions = join(dir, 'decisions.jsonl');
    const cfg = replayConfig(MODEL, CAPTURE, {
      extraModels: [{ name: 'teacher', model: MODEL, variant: 'teacher', backend: 'onnx' }],
      decisions,
      trigger: { threshold: 0.5, maxRatePerS: 1e7, burst: 1_000_000 },
    });
    const d = await runToEnd(cfg);
    // No targets in the config: the card's (cells-bccd sorts white cells).
    expect(d.config.trigger.targets).toEqual(['WBC']);
    const lines = readFileSync(decisions, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; class: string; trigger: boolean; probs: number[]; teacher: number[] });
    const ref = [...(await teacherProbsOffline(MODEL, CAPTURE)).values()];
    expect(lines.length).toBe(ref.length);
    const bySeq = [...lines].sort((a, b) => a.seq - b.seq);
    let worst = 0;
    bySeq.forEach((l, i) => {
      for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(l.teacher[k]! - ref[i]![k]!));
    });
    expect(worst).toBeLessThan(1e-4);
    // Triggers are WBC predictions only, and the snapshot counts the decision lines' triggers.
    expect(lines.filter((l) => l.trigger).every((l) => l.class === 'WBC')).toBe(true);
    expect(lines.filter((l) => l.trigger).length).toBe(d.metrics.snapshot().triggers);
  }, 120_000);

  it('a decisions file that exists is refused and left as it was', async () => {
    const decisions = join(dir, 'taken.jsonl');
    writeFileSync(decisions, 'an earlier run\n');
    const cfg = replayConfig(MODEL, CAPTURE, { decisions, trigger: { targets: ['WBC'] } });
    await expect(createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } })).rejects.toMatchObject({ code: 'E_SINK' });
    expect(readFileSync(decisions, 'utf8')).toBe('an earlier run\n');
  });

  it('a config without targets and a card without default targets is refused, naming the field', async () => {
    const cfg = replayConfig(join(ZOO, 'cells-lymphocyte'), CAPTURE, { trigger: { threshold: 0.5 } });
    const noDefaults = { ...cfg, model: join(dir, 'missing-targets') };
    const { cpSync } = await import('node:fs');
    cpSync(join(ZOO, 'cells-lymphocyte'), noDefaults.model, { recursive: true });
    const card = JSON.parse(readFileSync(join(noDefaults.model, 'card.json'), 'utf8'));
    delete card.trigger;
    writeFileSync(join(noDefaults.model, 'card.json'), JSON.stringify(card));
    await expect(createDaemon(noDefaults, { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } })).rejects.toThrow(/trigger\.targets/);
  });

  it('two extra models of one name are refused at validation', () => {
    expect(() => validateConfig({ model: MODEL, source: { kind: 'replay', path: CAPTURE }, trigger: {}, extraModels: [{ name: 'a', model: MODEL }, { name: 'a', model: MODEL }] })).toThrow(/extraModels.*"a"/);
    expect(existsSync(CAPTURE)).toBe(true);
  });
});
