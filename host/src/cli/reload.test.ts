import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { REPO, tempDir, ZOO } from '../../../test/support/fixtures.js';
import { loadConfigFile } from '../config/schema.js';
import { createDaemon, type Daemon } from '../daemon.js';
import { systemClock } from '../native/addon.js';
import { realTimers } from '../sources/source.js';
import { ConfigReloader } from './reload.js';
import { DaemonControls } from './control.js';

const dir = tempDir('reload');
const path = join(dir, 'run.yaml');
const base = {
  model: join(ZOO, 'cells-lymphocyte'), backend: 'sim', budgetUs: 1e6,
  source: { kind: 'synthetic', seed: 1, rateHz: 1000, pacing: 'max', frames: 10 },
  trigger: { targets: ['B'], threshold: 0.5 },
  route: { kind: 'detector', smoothFrames: 2, threshold: 0.6 },
  server: { enabled: false },
};
const write = (over: Record<string, unknown>) => writeFileSync(path, stringify({ ...base, ...over }));

let daemon: Daemon;
let reloader: ConfigReloader;
const log: string[] = [];

beforeAll(async () => {
  write({});
  daemon = await createDaemon(loadConfigFile(path), { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } });
  reloader = new ConfigReloader(path, daemon, (c) => c, (l) => log.push(l), 0);
});
afterAll(async () => daemon.stop());

describe('config reload (SIGHUP)', () => {
  it('puts a new trigger threshold and detector settings in force together, and names each change', () => {
    write({ trigger: { targets: ['B'], threshold: 0.8, holdoffUs: 5 }, route: { kind: 'detector', smoothFrames: 2, threshold: 0.7 } });
    const r = reloader.reload(1);
    expect(r).toMatchObject({ outcome: 'ok', restartNeeded: [], error: null });
    expect(r.applied).toEqual(['trigger.threshold: 0.5 -> 0.8', 'trigger.holdoffUs: 0 -> 5', 'route.threshold: 0.6 -> 0.7']);
    expect(daemon.policy.threshold).toBe(0.8);
    expect(daemon.policy.params.holdoffNs).toBe(5000);
    expect(reloader.status().config.route).toMatchObject({ threshold: 0.7 });
    expect(r.fromFrame).toBe(0); // the daemon has not started: the first frame is decided by the new settings
    expect(log.at(-1)).toBe(`reload of ${path}: applied trigger.threshold: 0.5 -> 0.8; trigger.holdoffUs: 0 -> 5; route.threshold: 0.6 -> 0.7 (in force from frame 0)`);
  });

  it('applies nothing of a file whose route is wrong, even its valid threshold (atomic), and says which field', () => {
    const before = daemon.policy.params;
    write({ trigger: { targets: ['B'], threshold: 0.3 }, route: { kind: 'detector', thresholds: { T4: 0.5 } } });
    const r = reloader.reload(2);
    expect(r.outcome).toBe('refused');
    expect(r.error).toBe(`E_CONFIG at ${path}: route.thresholds.T4: is not a trigger target (B): only targets fire`);
    expect(daemon.policy.params).toBe(before);
    expect(reloader.status()).toMatchObject({ config: { trigger: { threshold: 0.8 }, route: { threshold: 0.7 } }, reloads: { ok: 1, refused: 1 } });
  });

  it('refuses a file that does not validate, naming the field and value', () => {
    write({ trigger: { targets: ['B'], threshold: 0.8, holdoffUs: -1 } });
    expect(reloader.reload(3).error).toMatch(new RegExp(`^E_CONFIG at ${path}: trigger\\.holdoffUs: value -1: `));
    write({ trigger: { targets: ['Neutrophil'], threshold: 0.8 } });
    expect(reloader.reload(4).error).toBe(`E_CONFIG at ${path}: trigger.targets: "Neutrophil" is not a label of the model; labels are B, T4, T8`);
    expect(daemon.policy.threshold).toBe(0.8);
  });

  it('reports parts that need a restart and leaves them, applying the rest', () => {
    write({ source: { ...base.source, seed: 2 }, budgetUs: 5e5, trigger: { targets: ['B', 'T4'], threshold: 0.8, holdoffUs: 5 }, route: undefined });
    const r = reloader.reload(5);
    expect(r.outcome).toBe('ok');
    expect(r.restartNeeded).toEqual(['budgetUs', 'source', 'route (added, removed or of another kind)']);
    expect(r.applied).toEqual(['trigger.targets: ["B"] -> ["B","T4"]']);
    expect(daemon.policy.params.targets).toEqual(['B', 'T4']);
    // The detector in force fires on the new targets too (its route stays: removing it needs a restart).
    expect(daemon.router!.counters().perClass).toEqual({ B: 0, T4: 0 });
    expect(reloader.status().config).toMatchObject({ budgetUs: 1e6, source: { seed: 1 }, route: { kind: 'detector' } });
    expect(log.at(-1)).toMatch(/; changed, restart needed \(not applied\): budgetUs; source; route \(added, removed or of another kind\)$/);
  });
});

describe('config reload after a control API change', () => {
  it('a reload of a file that still holds the old threshold puts it back visibly: applied, logged and audited, never silently', () => {
    const audit: string[] = [];
    const controls = new DaemonControls(daemon.config, (l) => audit.push(l), () => 7);
    controls.ready(daemon, reloader);
    write({ trigger: { targets: ['B', 'T4'], threshold: 0.8, holdoffUs: 5 } });
    const first = reloader.reload(6);
    expect(first.outcome).toBe('ok');
    controls.recordReload(first, () => reloader.status().config);
    const entry = controls.setTrigger({ threshold: 0.95 }, 'env token from 127.0.0.1');
    expect(entry.changes).toEqual(['trigger.threshold: 0.8 -> 0.95']);
    expect(daemon.policy.threshold).toBe(0.95);
    // The file still says 0.8: the reload compares against what the API put in force.
    const r = reloader.reload(8);
    expect(r.applied).toEqual(['trigger.threshold: 0.95 -> 0.8']);
    expect(daemon.policy.threshold).toBe(0.8);
    controls.recordReload(r, () => reloader.status().config);
    expect(controls.state().audit.map((a) => [a.who, a.action, a.changes])).toEqual([
      ['SIGHUP', 'SIGHUP reload', first.applied],
      ['env token from 127.0.0.1', 'POST /api/control/trigger', ['trigger.threshold: 0.8 -> 0.95']],
      ['SIGHUP', 'SIGHUP reload', ['trigger.threshold: 0.95 -> 0.8']],
    ]);
    expect(controls.state().settings.threshold).toBe(0.8);
    // The detector's settings in force, as the reloads left them (one line per field).
    expect(controls.state().settings.filters).toContain('detector.smoothFrames: 2');
    expect(controls.state().settings.filters).toEqual(Object.entries(reloader.status().config.route ?? {}).filter(([k]) => k !== 'kind').map(([k, v]) => `detector.${k}: ${JSON.stringify(v)}`));
    expect(audit.at(-1)).toBe('control SIGHUP reload by SIGHUP: trigger.threshold: 0.95 -> 0.8');
  });
});
