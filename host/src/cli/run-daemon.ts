import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { systemClock } from '../native/addon.js';
import type { PipelineConfig } from '../config/schema.js';
import { createDaemon, type Daemon } from '../daemon.js';
import { PrometheusExporter } from '../metrics/prometheus.js';
import type { Snapshot } from '../metrics/snapshot.js';
import { startHttpServer, type HttpServer } from '../server/http.js';
import { realTimers } from '../sources/source.js';

/** Repository root: bin/ and ui/dist are found from here. */
export const REPO_ROOT = resolve(new URL('.', import.meta.url).pathname, '..', '..', '..', '..');

export interface RunOptions {
  /** Print a progress line to stderr every this many ms (0: never). */
  progressMs: number;
  /** Print the final snapshot as JSON on stdout when the stream ends. */
  summary: boolean;
  /** Folder relative paths in the config resolve against. */
  baseDir: string;
}

/**
 * The composition root of `hairtrigger run` and `replay`: real clock and timers, the
 * daemon, the HTTP server, progress output and signal handling. SIGINT/SIGTERM stop the
 * source, flush and close the trigger logs, then exit; a finite stream ends the same way.
 */
export async function runDaemon(cfg: PipelineConfig, opts: RunOptions): Promise<Snapshot> {
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
  const daemon = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log, runId, baseDir: opts.baseDir, onBug: (err) => {
    log(`BUG (stopping): ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(70);
  } });
  let server: HttpServer | null = null;
  if (cfg.server.enabled) {
    const uiDir = resolve(REPO_ROOT, 'ui', 'dist');
    if (!existsSync(resolve(uiDir, 'index.html'))) log(`dashboard not built (${uiDir}): run "make ui"; the API and /metrics are served anyway`);
    server = await startHttpServer({ view: daemon.view, host: cfg.server.host, port: cfg.server.port, allowedHosts: cfg.server.allowedHosts, uiDir, metrics: new PrometheusExporter(() => daemon.view.snapshot()) });
    log(`dashboard on ${server.url}/  metrics on ${server.url}/metrics`);
  }
  log(`pipeline ${cfg.pipeline}: ${daemon.card.task}/${cfg.variant} on ${daemon.backend.info().kind}, budget ${cfg.budgetUs} us, triggers on ${cfg.trigger.targets.join('/')} >= ${cfg.trigger.threshold}`);
  const progress = opts.progressMs > 0 ? setInterval(() => log(progressLine(daemon)), opts.progressMs) : null;
  const stopped = new Promise<string>((res) => {
    const onSignal = (sig: NodeJS.Signals) => res(sig);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void daemon.sourceDone.then(() => res('end of stream'));
  });
  daemon.start();
  const why = await stopped;
  if (progress !== null) clearInterval(progress);
  await daemon.stop();
  const snap = daemon.view.snapshot();
  log(`stopped (${why}): ${progressLine(daemon)}; trigger log flushed (${daemon.triggerLog.written} triggers written)`);
  if (server !== null) await server.close();
  if (opts.summary) process.stdout.write(JSON.stringify(snap, null, 2) + '\n');
  return snap;
}

function progressLine(d: Daemon): string {
  const s = d.view.snapshot();
  return `frames ${s.frames} (${s.fps.toFixed(0)}/s) triggers ${s.triggers} late ${s.late} dropped ${s.dropped} e2e us p50 ${s.e2eUs.p50} p99 ${s.e2eUs.p99} p99.9 ${s.e2eUs.p999}`;
}
