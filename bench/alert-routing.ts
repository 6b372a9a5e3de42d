/**
 * Alert routing throughput on the real packets: `TopicRouter.route` alone (five filters, the
 * compiled closures over AlertView fields) and route + `TopicWriters` (Avro containers with
 * the appended fields and JSON lines, codecs null and deflate, everything on disk at close).
 * Run: `node build/bench/alert-routing.js [passes]` after `make build`; reads
 * ../shared/data/alerts. Not part of `make bench`; prints one JSON line per case. Writing runs
 * as fast as it can, so a codec slower than the loop fills the topic buffers and drops
 * (drop-newest, `dropped`).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { realTimers } from '../host/src/sources/source.js';
import { readAlertFile } from '../host/src/modalities/alerts/avro/container.js';
import { SchemaRegistry } from '../host/src/modalities/alerts/avro/registry.js';
import { compileFilters, emptyScores, fillScores, registryCatalogues, TopicRouter, TopicWriters, topicWritersSchema } from '../host/src/modalities/alerts/filters/index.js';
import type { AlertView } from '../host/src/modalities/alerts/types.js';

const PASSES = Number(process.argv[2] ?? 20);
const ALERTS = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'alerts');
const CLASSES = ['SN Ia', 'SN II', 'AGN', 'TDE'];
const FILTERS = [
  { name: 'bright', expr: 'candidate.magpsf < 18 && drb > 0.5', topic: 'bright' },
  { name: 'faint-real', expr: 'magpsf >= 18 && realbogus > 0.9', topic: 'ztf-real' },
  { name: 'ia', expr: 'class == "SN Ia" && score > 0.5', topic: 'sn' },
  { name: 'rubin-snr', expr: 'snr > 20 && !(band in ["u", "y"])', topic: 'rubin' },
  { name: 'new', expr: 'ndethist <= 2 && isdiffpos in ["t", "1"]', topic: 'new' },
];

function load(folder: string): AlertView[] {
  const dir = join(ALERTS, folder);
  return readdirSync(dir).filter((f) => f.endsWith('.avro')).sort().flatMap((f) => readAlertFile(join(dir, f)).alerts);
}

function routerFor(): TopicRouter {
  const registry = new SchemaRegistry();
  registry.loadZtf(join(ALERTS, 'ztf-avro-alert', 'schema'));
  registry.loadRubin(join(ALERTS, 'rubin-schemas'));
  return new TopicRouter(compileFilters(FILTERS, { catalogues: registryCatalogues(registry), classes: CLASSES }));
}

const alerts = [...load('ztf-4.02-2023-10'), ...load('rubin-9.0-2025-09')];
const probs = alerts.map((a) => Float32Array.from(CLASSES, (_c, i) => (i === Number(a.id % 4n) ? 0.7 : 0.1)));
const scores = emptyScores();

function routeOnly(): void {
  const router = routerFor();
  const t0 = process.hrtime.bigint();
  for (let p = 0; p < PASSES; p++) for (let i = 0; i < alerts.length; i++) router.route(alerts[i], fillScores(scores, CLASSES, probs[i], 0.95));
  const ns = Number(process.hrtime.bigint() - t0);
  const c = router.counters();
  console.log(JSON.stringify({ case: 'route', filters: FILTERS.length, alerts: c.alerts, alertsPerS: Math.round(c.alerts / (ns / 1e9)), usPerAlert: +(ns / 1e3 / c.alerts).toFixed(2), routed: c.routed }));
}

async function routeAndWrite(codec: 'null' | 'deflate'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ht-bench-topics-'));
  const router = routerFor();
  const writers = new TopicWriters(topicWritersSchema.parse({ path: dir, codec }), { runId: 'bench', classes: CLASSES, resolvePath: (p) => p, onError: (e) => { throw e; }, timers: realTimers }, router.topics);
  const passes = Math.max(1, Math.round(PASSES / 4));
  const t0 = process.hrtime.bigint();
  let syncNs = 0;
  for (let p = 0; p < passes; p++) {
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < alerts.length; i++) {
      router.route(alerts[i], fillScores(scores, CLASSES, probs[i], 0.95));
      writers.writeRouted(alerts[i], scores, router);
    }
    syncNs += Number(process.hrtime.bigint() - t1);
    await new Promise((res) => setTimeout(res, 1)); // let the flush timer, zlib and fs callbacks run between passes
  }
  await writers.close();
  const ns = Number(process.hrtime.bigint() - t0);
  const n = passes * alerts.length;
  const c = Object.values(writers.counters());
  const written = c.reduce((s, t) => s + t.avro.written, 0);
  const dropped = c.reduce((s, t) => s + t.dropped, 0);
  const bytes = c.reduce((s, t) => s + t.avro.bytes, 0);
  const line = { case: 'route+write', codec, alerts: n, alertsPerS: Math.round(n / (ns / 1e9)), topicRecordsPerS: Math.round(written / (ns / 1e9)) };
  console.log(JSON.stringify({ ...line, syncUsPerAlert: +(syncNs / 1e3 / n).toFixed(2), topicRecords: written, dropped, avroBytesPerRecord: Math.round(bytes / written) }));
  rmSync(dir, { recursive: true, force: true });
}

routeOnly();
await routeAndWrite('null');
await routeAndWrite('deflate');
