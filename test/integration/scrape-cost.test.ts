// Scraping a running daemon must not build snapshots per request (issue 9): a build folded
// and summarised every histogram (50-80 ms) on the event loop the hot path shares.
import { describe, expect, it, vi } from 'vitest';
import { validateConfig } from '../../host/src/config/schema.js';
import { limits } from '../../host/src/core/limits.js';
import { createDaemon } from '../../host/src/daemon.js';
import { PrometheusExporter } from '../../host/src/metrics/prometheus.js';
import type { Snapshot } from '../../host/src/metrics/snapshot.js';
import { systemClock } from '../../host/src/native/addon.js';
import { startHttpServer } from '../../host/src/server/http.js';
import { realTimers } from '../../host/src/sources/source.js';
import { REPO } from '../support/fixtures.js';

const CLIENTS = 16;

describe('scraping a running daemon', () => {
  it(`serves ${CLIENTS} concurrent /api/snapshot and /metrics requests from the published snapshot, building none`, async () => {
    const cfg = validateConfig({
      model: 'models/zoo/cells-lymphocyte', budgetUs: 1e6,
      source: { kind: 'synthetic', seed: 3, rateHz: 2000, pacing: 'realtime' },
      trigger: { targets: ['B'] }, server: { enabled: false },
    });
    const d = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } });
    const exporter = new PrometheusExporter(() => d.view.snapshot(), { defaultMetrics: false });
    const server = await startHttpServer({ view: d.view, port: 0, metrics: exporter, logger: false });
    // Every way a snapshot can be built: whole (the old per-request path) or in steps.
    const builds = { whole: vi.spyOn(d.metrics, 'snapshot'), steps: vi.spyOn(d.metrics, 'beginSnapshot') };

    try {
      d.start();
      await new Promise((r) => setTimeout(r, 300));
      const builtBefore = builds.whole.mock.calls.length + builds.steps.mock.calls.length;
      const rendersBefore = exporter.renders;
      const t0 = performance.now();
      const [snaps, texts] = await Promise.all([
        Promise.all(Array.from({ length: CLIENTS }, async () => (await (await fetch(`${server.url}/api/snapshot`)).json()) as Snapshot)),
        Promise.all(Array.from({ length: CLIENTS }, async () => (await fetch(`${server.url}/metrics`)).text())),
      ]);
      // The daemon's own timer may publish while the requests run: one build per interval
      // elapsed at most, however many requests there were (a bound that only loosens when the
      // machine is slow, never fails because of it).
      const intervals = 1 + Math.ceil((performance.now() - t0) / limits.snapshotIntervalMs);
      const built = builds.whole.mock.calls.length + builds.steps.mock.calls.length - builtBefore;
      expect(built).toBeLessThanOrEqual(intervals);
      expect(exporter.renders - rendersBefore).toBeLessThanOrEqual(intervals);
      expect(new Set(snaps.map((s) => s.frames)).size).toBeLessThanOrEqual(intervals);
      for (const text of texts) expect(text).toContain('hairtrigger_frames_total');
    } finally {
      await server.close();
      await d.stop();
    }
  });
});
