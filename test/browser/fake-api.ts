/**
 * The issue-13 JSON API answered inside the browser (playwright's `page.route`), for the page
 * tests while the daemon's routes are built on other branches: `/api/history`, `/api/latency`,
 * `/api/model`, `/api/server`, `/api/controls`, the control POSTs (Bearer token checked) and
 * `/api/triggers/:run/:seq`. Every document is computed from the formulas below, so a test
 * can state what the page must show without reading the page's code.
 */
import type { Page, Route } from 'playwright-core';
import { LATENCY_SERIES, type AuditEntry, type ControlsState, type HistoryColumns, type IntervalLatencyColumns, type LatencyDistribution, type LatencySeries, type ModelView, type PipelineSettings, type ServerState, type TriggerDetail } from '../../host/src/server/api-types.js';
import { fakeLatency } from '../../host/src/server/testing.js';
import type { TriggerEvent } from '../../host/src/metrics/snapshot.js';

export const FAKE_TOKEN = 'ht-test-token-0123456789';

/** History of `rows` one-second intervals ending at `endS`: fps 2000, 100 triggers/s, e2e p99.9
 * of 1,500 + i µs (so its axis is in ms), heatmap counts i % 7 in bucket i % 5. */
export function fakeHistory(rows: number, endS: number): HistoryColumns {
  const idx = [...Array(rows).keys()];
  const col = (f: (i: number) => number) => idx.map(f);
  const latency = Object.fromEntries(
    LATENCY_SERIES.map((s, k): [LatencySeries, IntervalLatencyColumns] => [
      s,
      { count: col(() => 2000), p50: col(() => 10 + k), p99: col(() => 20 + k), p999: col((i) => (s === 'e2e' ? 1500 + i : 30 + k)), max: col((i) => (s === 'e2e' ? 2500 + i : 40 + k)), mean: col(() => 1 + k) },
    ]),
  ) as Record<LatencySeries, IntervalLatencyColumns>;
  const edges = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048];
  return {
    resolutionS: 1,
    t: col((i) => endS - rows + 1 + i),
    fps: col(() => 2000),
    triggersPerS: col(() => 100),
    late: col((i) => i % 3),
    budgetViolations: col(() => 1),
    dropped: col(() => 0),
    errors: col(() => 0),
    suppressed: col(() => 50),
    latency,
    heatmap: { bucketEdgesUs: edges, counts: idx.map((i) => edges.map((_, b) => (b === i % 5 ? i % 7 : 0))) },
  };
}

/** Distributions: e2e points at 50%, 90%, 99%, 99.9% with values 0.4, 0.6, 0.8, 0.95 µs (so
 * ns, budget 0.9 µs), every other series one point at 50%. */
export function fakeDistribution(): LatencyDistribution {
  const point = (percentile: number, valueUs: number) => ({ percentile, valueUs, inverted: 1 / (1 - percentile / 100), count: 1 });
  const series = Object.fromEntries(
    LATENCY_SERIES.map((s) => [s, { summary: fakeLatency(0.5), points: s === 'e2e' ? [point(50, 0.4), point(90, 0.6), point(99, 0.8), point(99.9, 0.95)] : [point(50, 0.3)] }]),
  ) as LatencyDistribution['series'];
  return { budgetUs: 0.9, series };
}

export const fakeModel: ModelView = {
  name: 'cells/student',
  model: 'cells-student-v1',
  primary: 'cells-student-v1',
  inForce: true,
  variant: 'student',
  size: null,
  modelParams: 12_345,
  modelAccuracy: 0.905,
  task: 'cells',
  labels: ['debris', 'live', 'dead'],
  params: { teacher: 1_234_567, student: 12_345 },
  precision: 'ap_fixed<16,6>',
  modelled: { cycles: 1_200, clockMhz: 200, us: 6 },
  resources: { LUT: 45_678, DSP: 120 },
  accuracy: { float: 0.912, fixed: 0.905 },
  card: {},
};

export const fakeServer: ServerState = { uptimeS: 99, wsClients: 3, wsMessagesDropped: 0, wsClientsRefused: 0, unauthorized: 0, url: 'http://127.0.0.1:8080' };

export function fakeSettings(over: Partial<PipelineSettings> = {}): PipelineSettings {
  return {
    source: 'replay cells.ht (realtime x1)', decoder: 'ht-frame', backend: 'sim', model: 'cells-student-v1', models: ['cells-student-v1', 'cells-teacher'],
    mode: 'host', targets: ['live'], threshold: 0.5, holdoffUs: 1500, maxRatePerS: 1000, burst: 10, budgetUs: 25, filters: [], paused: false, replaySpeed: 1, ...over,
  };
}

/** The detail of a trigger by its seq: 1 an image, 2 an alert, 3 a spectrogram, else 404. */
export function fakeDetail(event: TriggerEvent): TriggerDetail | null {
  if (event.seq % 10 === 1) return { event, view: { kind: 'image', width: 4, height: 4, channels: 3, pixels: Array.from({ length: 48 }, (_, i) => (i * 5) % 256) } };
  if (event.seq % 10 === 2) {
    const cut = (name: 'science' | 'template' | 'difference') => ({ name, width: 8, height: 8, pixels: Array.from({ length: 64 }, (_, i) => (i === 0 ? null : i)) });
    return { event, view: { kind: 'alert', objectId: 'ZTF23abcdefg', cutouts: [cut('science'), cut('template'), cut('difference')], lightcurve: [{ band: 'g', mjd: [60000, 60001], mag: [18.5, 18.1], magErr: [0.1, 0.1] }, { band: 'r', mjd: [60000.5], mag: [18.2], magErr: [0.1] }] } };
  }
  if (event.seq % 10 === 3) return { event, view: { kind: 'spectrogram', streamMs: 1170, frames: 49, bins: 10, values: Array.from({ length: 490 }, (_, i) => Math.sin(i)), feature: 'MFCC' } };
  return null;
}

/** The mutable state behind the fake routes. */
export class FakeApi {
  settings = fakeSettings();
  audit: AuditEntry[] = [];
  unauthorized = 0;
  history = fakeHistory(120, 1_700_000_000);
  events = new Map<number, TriggerEvent>();

  controls(): ControlsState {
    return { settings: structuredClone(this.settings), audit: this.audit, unauthorized: this.unauthorized };
  }

  /** Installs the routes on `page` (they apply to every later request of the page). */
  async install(page: Page): Promise<void> {
    const json = (route: Route, body: unknown, status = 200) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
    await page.route('**/api/history', (r) => json(r, this.history));
    await page.route('**/api/latency', (r) => json(r, fakeDistribution()));
    await page.route('**/api/model', (r) => json(r, fakeModel));
    await page.route('**/api/server', (r) => json(r, { ...fakeServer, unauthorized: this.unauthorized }));
    await page.route('**/api/controls', (r) => json(r, this.controls()));
    await page.route('**/api/triggers/*/*', (r) => {
      const seq = Number(r.request().url().split('/').at(-1));
      const event = this.events.get(seq);
      const detail = event === undefined ? null : fakeDetail(event);
      return detail === null ? json(r, { error: 'E_NOT_FOUND', message: 'gone' }, 404) : json(r, detail);
    });
    await page.route('**/api/control/*', (r) => this.control(r, json));
  }

  private control(route: Route, json: (r: Route, body: unknown, status?: number) => Promise<void>): Promise<void> {
    const req = route.request();
    if (req.headers().authorization !== `Bearer ${FAKE_TOKEN}`) {
      this.unauthorized += 1;
      return json(route, { error: 'E_UNAUTHORIZED', message: 'missing or wrong token' }, 401);
    }
    const action = `POST ${new URL(req.url()).pathname}`;
    const body = JSON.parse(req.postData() ?? '{}') as Record<string, unknown>;
    const changes: string[] = [];
    if (action.endsWith('/trigger') && typeof body.threshold === 'number' && body.threshold !== this.settings.threshold) {
      changes.push(`trigger.threshold: ${this.settings.threshold} -> ${body.threshold}`);
      this.settings.threshold = body.threshold;
    }
    if (action.endsWith('/model') && typeof body.model === 'string' && body.model !== this.settings.model) {
      changes.push(`model: ${this.settings.model} -> ${body.model}`);
      this.settings.model = body.model;
    }
    if (action.endsWith('/replay')) changes.push(`replay.speed: ${this.settings.replaySpeed} -> ${String(body.speed)}`);
    if (action.endsWith('/pause')) this.settings.paused = true;
    if (action.endsWith('/resume')) this.settings.paused = false;
    const entry: AuditEntry = { atMs: 1_700_000_000_000, who: 'config 127.0.0.1', action, changes, outcome: 'applied', error: null };
    this.audit.push(entry);
    return json(route, entry);
  }
}
