/**
 * What a model-switching run must show once the rate rose past the teacher and fell again
 * (model-switching.test.ts on cells, keywords-switching.test.ts on the keyword stream): the
 * teacher stepped down to the student for the load and back up at a lower rate, each switch
 * logged, audited and counted in the snapshot, both models measured, and the trigger records
 * naming the model that decided them in that order.
 */
import { expect } from 'vitest';
import type { DaemonControls } from '../../host/src/cli/control.js';
import type { Daemon } from '../../host/src/daemon.js';
import type { ModelSwitchRecord } from '../../host/src/model/model-selection.js';
import type { TriggerEvent } from '../../host/src/metrics/snapshot.js';
import { readJsonlLog } from './fixtures.js';

export function expectDownThenUp(d: Daemon, controls: DaemonControls, log: readonly string[], triggersBase: string, student: string): void {
  const recent: ModelSwitchRecord[] = d.selection!.view().recent;
  expect(recent.slice(0, 2).map((s) => [s.direction, s.from, s.to])).toEqual([
    ['down', 'teacher', student],
    ['up', student, 'teacher'],
  ]);
  // The step down was for the load (the teacher busy more than utilizationDown of the time, or
  // late), the step up at a lower rate.
  expect(recent[0]!.reason).toMatch(/^utilization .* > 0\.9 at|late >/);
  expect(recent[1]!.rateHz).toBeLessThan(recent[0]!.rateHz);
  // Logged, audited, in the snapshot.
  expect(log.some((l) => l.startsWith(`model selection: teacher -> ${student} (down:`))).toBe(true);
  expect(log.some((l) => l.startsWith(`model selection: ${student} -> teacher (up:`))).toBe(true);
  const audit = controls.state().audit.filter((a) => a.action === 'model selection');
  expect(audit.map((a) => a.changes[0]!.split(' (')[0])).toEqual(recent.map((s) => `model: ${s.from} -> ${s.to}`));
  expect(audit.every((a) => a.who === 'model selection (budget)' && a.outcome === 'applied')).toBe(true);
  const snap = d.view.snapshot();
  expect(snap.modelSelection?.switches).toEqual({ down: recent.filter((s) => s.direction === 'down').length, up: recent.filter((s) => s.direction === 'up').length });
  expect(snap.modelSelection?.estimates.find((e) => e.name === 'teacher')?.measured).toBe(true);
  expect(snap.modelSelection?.estimates.find((e) => e.name === student)?.measured).toBe(true);
  // The trigger records name the model that decided them: teacher, then student, then teacher.
  const models = readJsonlLog<TriggerEvent>(triggersBase).map((r) => r.model);
  const runs = models.filter((m, i) => i === 0 || m !== models[i - 1]);
  expect(runs.slice(0, 3)).toEqual(['teacher', student, 'teacher']);
}
