import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../host/src/config/schema.js';
import { createDaemon } from '../../host/src/daemon.js';
import { PrometheusExporter } from '../../host/src/metrics/prometheus.js';
import type { Snapshot } from '../../host/src/metrics/snapshot.js';
import { systemClock } from '../../host/src/native/addon.js';
import { startHttpServer } from '../../host/src/server/http.js';
import type { HistoryColumns, LatencyDistribution } from '../../host/src/server/api-types.js';
import { realTimers } from '../../host/src/sources/source.js';
import { REPO } from '../support/fixtures.js';

const deps = () => ({ clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e: unknown) => { throw e; } });

describe('history and latency distribution from a replay daemon on the simulator', () => {
  it('serves per-second rows whose counts add up to the frames decided, and distributions that end at the snapshot\'s count', async () => {
    const cfg = validateConfig({
      model: 'models/zoo/cells-bccd', backend: 'sim', budgetUs: 1e6,
      source: { kind: 'replay', path: 'sim/recordings/cells-bccd-test.arrows', pacing: 'x2', loop: true },
      trigger: { targets: ['WBC'], threshold: 0.5 },
      server: { enabled: false },
    });
    const d = await createDaemon(cfg, deps());
    const server = await startHttpServer({ view: d.view, port: 0, metrics: new PrometheusExporter(() => d.view.snapshot()), logger: false });
    d.start();
    const deadline = Date.now() + 30_000;
    let served: HistoryColumns = { t: [] } as unknown as HistoryColumns;
    while (served.t.length < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      served = (await (await fetch(`${server.url}/api/history`)).json()) as HistoryColumns;
    }
    const latency = (await (await fetch(`${server.url}/api/latency`)).json()) as LatencyDistribution;
    await d.stop();
    await server.close();
    expect(served.t.length).toBeGreaterThanOrEqual(3);
    expect(served.resolutionS).toBe(1);
    expect(served.deviceSource).toBe('modelled');
    expect(latency.series.e2e.points.length).toBeGreaterThan(0);

    // After stop: the last snapshot folded everything; the history's rows cover all but the tail.
    const snap: Snapshot = d.view.snapshot();
    const h = d.view.history!();
    const dist = d.view.latencyDistribution!();
    const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
    expect(sum(h.latency.e2e.count)).toBeLessThanOrEqual(snap.frames);
    expect(sum(h.latency.e2e.count)).toBeGreaterThan(0);
    h.heatmap.counts.forEach((row, i) => expect(sum(row), `row ${i}`).toBe(h.latency.e2e.count[i]));
    // Rates are frames over each row's length: fps x interval = that row's frames.
    // A row's counters are read when its snapshot build begins and its latencies folded during
    // the build's steps, so a row's two counts differ by the frames of part of one build; over
    // all rows the differences telescope: the totals differ by the frames of two builds at
    // most, far below half a row (a build is milliseconds, a row a second).
    const framesByRate = sum(h.t.slice(1).map((t, i) => h.fps[i + 1] * (t - h.t[i])));
    const framesByLatency = sum(h.latency.e2e.count.slice(1));
    expect(Math.abs(framesByRate - framesByLatency)).toBeLessThan(Math.max(...h.latency.e2e.count) / 2);
    // The simulator's modelled device time is cycles / clock, the same for every frame.
    const info = d.backend.info();
    const modelledUs = info.modelledCycles! / info.clockMhz!;
    expect(dist.series.device.summary.p50).toBeCloseTo(modelledUs, 1);
    for (const name of ['e2e', 'queue', 'service', 'decode', 'preprocess', 'infer', 'policy', 'emit', 'device'] as const) {
      expect(dist.series[name].summary.count, name).toBe(snap.frames);
      expect(dist.series[name].points.at(-1)!.count, name).toBe(snap.frames);
    }
    expect(dist.series.e2e.summary.p99).toBe(snap.e2eUs.p99);
  });
});
