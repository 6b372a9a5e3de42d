import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig, type PipelineConfig } from '../host/src/config/schema.js';
import { firmwareName } from '../host/src/daemon.js';
import type { StageName } from '../host/src/metrics/snapshot.js';
import { STAGES } from '../host/src/metrics/snapshot.js';
import { timedRun } from './timed-run.js';

/**
 * The alert broker's throughput: real survey packets (the 561 ZTF 4.02 and 100 Rubin 9.0
 * alerts of ../shared/data/alerts, looped) decoded (avsc), their light curve gridded and
 * classified by the transient student, and, with cutouts, their stamp triplet inflated
 * (libdeflate), parsed (FITS) and scored by the real/bogus student beside it; at max pace on
 * one core. Routing and topic writing are measured apart (bench/alert-routing.ts).
 */
export interface AlertCase {
  pipeline: 'alerts-ztf' | 'alerts-rubin';
  folder: string;
  cutouts: boolean;
  alerts: number;
}

const ALERTS = Number(process.env.BENCH_ALERTS ?? 20_000);
const SHARED = join('..', 'shared', 'data', 'alerts');
export const ALERT_CASES: AlertCase[] = [
  { pipeline: 'alerts-ztf', folder: join(SHARED, 'ztf-4.02-2023-10'), cutouts: true, alerts: ALERTS },
  { pipeline: 'alerts-ztf', folder: join(SHARED, 'ztf-4.02-2023-10'), cutouts: false, alerts: ALERTS },
  { pipeline: 'alerts-rubin', folder: join(SHARED, 'rubin-9.0-2025-09'), cutouts: true, alerts: ALERTS * 2 },
  { pipeline: 'alerts-rubin', folder: join(SHARED, 'rubin-9.0-2025-09'), cutouts: false, alerts: ALERTS * 2 },
];

/** Budget of an alert from its due time to its trigger write: a broker's are milliseconds. */
export const ALERT_BUDGET_MS = 1000;

export interface AlertRunResult {
  pipeline: string;
  cutouts: boolean;
  backends: { transient: string; realbogus: string | null };
  alerts: number;
  repeats: number;
  alertsPerS: number;
  budgetMs: number;
  /** Due time to trigger write, milliseconds (at max pace the due time is the ingest). */
  e2eMs: { p50: number; p99: number; p999: number };
  stagesUs: Record<StageName, { p50: number; p99: number }>;
  late: number;
  dropped: number;
  perRepeat: number[];
}

/** The student's firmware when `make firmware` built it (sim), else the float model (onnx). */
function backendOf(repo: string, task: string): 'sim' | 'onnx' {
  return existsSync(join(repo, 'hls', 'build', firmwareName(task, 'student'))) ? 'sim' : 'onnx';
}

function alertConfig(repo: string, c: AlertCase, alerts: number): PipelineConfig {
  return validateConfig({
    pipeline: `${c.pipeline}${c.cutouts ? '' : '-no-cutouts'}`,
    model: 'models/zoo/alerts-transient',
    backend: backendOf(repo, 'alerts-transient'),
    budgetUs: ALERT_BUDGET_MS * 1000,
    extraModels: c.cutouts ? [{ name: 'realbogus', model: 'models/zoo/alerts-realbogus', backend: backendOf(repo, 'alerts-realbogus') }] : [],
    source: { kind: 'alerts', paths: [c.folder], pacing: 'max', loop: true, frames: alerts },
    decoder: { kind: 'avro' },
    trigger: { threshold: 0.5 },
    server: { enabled: false },
  });
}

function once(repo: string, c: AlertCase, alerts: number) {
  return timedRun(alertConfig(repo, c, alerts), repo);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One case: a warm-up, then `repeats` replays of `c.alerts`; medians of the repeats. */
export async function benchAlerts(repo: string, c: AlertCase, repeats: number): Promise<AlertRunResult> {
  await once(repo, c, Math.min(2000, c.alerts));
  const reps: Awaited<ReturnType<typeof once>>[] = [];
  for (let r = 0; r < repeats; r++) reps.push(await once(repo, c, c.alerts));
  const ms = (v: number) => Math.round(v) / 1000;
  const pick = (f: (x: (typeof reps)[number]) => number) => median(reps.map(f));
  const stagesUs = {} as AlertRunResult['stagesUs'];
  for (const st of STAGES) stagesUs[st] = { p50: pick((x) => x.snap.stagesUs[st].p50), p99: pick((x) => x.snap.stagesUs[st].p99) };
  const last = reps[reps.length - 1]!.snap;
  const cfg = alertConfig(repo, c, c.alerts);
  return {
    pipeline: c.pipeline,
    cutouts: c.cutouts,
    backends: { transient: cfg.backend, realbogus: cfg.extraModels[0]?.backend ?? null },
    alerts: c.alerts,
    repeats,
    alertsPerS: Math.round(pick((x) => x.snap.frames / x.seconds)),
    budgetMs: ALERT_BUDGET_MS,
    e2eMs: { p50: ms(pick((x) => x.snap.e2eUs.p50)), p99: ms(pick((x) => x.snap.e2eUs.p99)), p999: ms(pick((x) => x.snap.e2eUs.p999)) },
    stagesUs,
    late: last.late,
    dropped: last.dropped,
    perRepeat: reps.map((x) => Math.round(x.snap.frames / x.seconds)),
  };
}

/** The alerts table of bench/results/latest.md. */
export function alertsMarkdown(runs: readonly AlertRunResult[]): string {
  return [
    '## Alerts (real packets, max pace, one core)',
    '',
    `Decoded (avsc), light curve gridded and classified (transient student); with cutouts also inflated (libdeflate), parsed (FITS) and scored (real/bogus student). Budget ${ALERT_BUDGET_MS} ms from the due time.`,
    '',
    `| pipeline | cutouts | backends | alerts | alerts/s | e2e p50 / p99 / p99.9 ms | ${STAGES.map((s) => `${s} p50/p99 us`).join(' | ')} | late | dropped |`,
    `|${'---|'.repeat(8 + STAGES.length)}`,
    ...runs.map((r) => `| ${r.pipeline} | ${r.cutouts} | ${r.backends.transient}${r.backends.realbogus ? ` + ${r.backends.realbogus}` : ''} | ${r.alerts} | ${r.alertsPerS} | ${r.e2eMs.p50} / ${r.e2eMs.p99} / ${r.e2eMs.p999} | ${STAGES.map((s) => `${r.stagesUs[s].p50}/${r.stagesUs[s].p99}`).join(' | ')} | ${r.late} | ${r.dropped} |`),
    '',
  ].join('\n');
}
