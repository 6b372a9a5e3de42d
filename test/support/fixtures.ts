import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLymphocyteGenerator, LYMPHOCYTE_LABELS } from '../../host/src/modalities/cells/lymphocytes.js';
import { createRng } from '../../host/src/core/rng.js';
import { writeCapture } from '../../host/src/datasets/export.js';
import { validateConfig, type PipelineConfig } from '../../host/src/config/schema.js';
import { createDaemon, type Daemon } from '../../host/src/daemon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { systemClock } from '../../host/src/native/addon.js';
import { runFiles } from '../../host/src/sinks/log-files.js';
import { tableFromIPC, type Table } from 'apache-arrow';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const ZOO = join(REPO, 'models', 'zoo');
export const SHARED = resolve(REPO, '..', 'shared', 'data');

/** A fresh temporary folder for one test file. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `ht-${prefix}-`));
}

/** Writes a seeded synthetic lymphocyte capture of `n` frames and returns its path. */
export async function lymphocyteCapture(dir: string, n: number, seed = 5): Promise<string> {
  const gen = createLymphocyteGenerator({ seed });
  const frames = new Uint8Array(n * gen.frameBytes);
  const labels = new Int8Array(n);
  for (let i = 0; i < n; i++) labels[i] = gen.next(frames, i * gen.frameBytes);
  const path = join(dir, `lymphocytes-${n}-${seed}.arrows`);
  await writeCapture(path, { stream: 'cells-lymphocyte', shape: [gen.size, gen.size, 1], dtype: 'uint8', labels: LYMPHOCYTE_LABELS }, { count: n, frames, labels }, createRng(seed));
  return path;
}

/** A replay config at max pacing with a generous budget, for tests that compare outcomes. */
export function replayConfig(model: string, capture: string, over: Partial<Record<string, unknown>> = {}): PipelineConfig {
  return validateConfig({
    pipeline: 'test',
    model,
    budgetUs: 10_000_000,
    source: { kind: 'replay', path: capture, pacing: 'max' },
    trigger: { targets: ['B'], threshold: 0.5, maxRatePerS: 1e7, burst: 1_000_000 },
    server: { enabled: false },
    ...over,
  });
}

/** Runs a finite replay to its end and returns the stopped daemon. */
export async function runToEnd(cfg: PipelineConfig, log: string[] = []): Promise<Daemon> {
  const d = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: (l) => log.push(l), baseDir: REPO, onBug: (e) => { throw e; } });
  d.start();
  await d.sourceDone;
  await d.stop();
  return d;
}

/** Copies a zoo model folder to `dir`, applying `edit` to its card. */
export function modelCopy(task: string, dir: string, edit: (card: Record<string, any>) => void = () => {}): string {
  const to = join(dir, `${task}-copy-${Math.random().toString(36).slice(2, 8)}`);
  cpSync(join(ZOO, task), to, { recursive: true });
  const card = JSON.parse(readFileSync(join(to, 'card.json'), 'utf8'));
  edit(card);
  writeFileSync(join(to, 'card.json'), JSON.stringify(card));
  return to;
}


/** Every record of the JSON lines trigger log configured at `base`: all its run files, in order (sinks/log-files.ts). */
export function readJsonlLog<T = Record<string, unknown>>(base: string): T[] {
  return runFiles(base).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T));
}

/** The Arrow trigger log configured at `base` as one table: every run file (each a whole IPC stream), in order. */
export function readArrowLog(base: string): Table {
  const tables = runFiles(base).map((f) => tableFromIPC(readFileSync(f)));
  if (tables.length === 0) throw new Error(`no Arrow trigger log files beside ${base}`);
  return tables[0].concat(...tables.slice(1));
}
