/**
 * Puts daemon data on the page. Every value goes in through `textContent`, never as HTML:
 * labels and model names come from config files and must not become markup.
 */
import { STAGES, type DeviceSnapshot, type LatencySummaryUs, type Snapshot, type TriggerEvent } from '../../host/src/metrics/snapshot.js';
import { createTrendChart, type TrendChart } from './chart.js';
import type { ConnState } from './connection.js';
import { formatCount, formatRate, formatScore, formatUs } from './format.js';

/** Triggers listed on the page, newest first. */
export const TRIGGERS_SHOWN_MAX = 20;
const LATENCY_ROWS = ['e2e', ...STAGES] as const;
const LATENCY_COLUMNS = ['p50', 'p99', 'p999', 'max'] as const satisfies ReadonlyArray<keyof LatencySummaryUs>;

export interface Dashboard {
  showSnapshot(snapshot: Snapshot): void;
  addTriggers(events: readonly TriggerEvent[]): void;
  showConnection(state: ConnState): void;
}

/** Binds to the elements of index.html (a missing one is a bug in the page: it throws). */
export function createDashboard(doc: Document): Dashboard {
  const cache = new Map<string, HTMLElement>();
  const el = (testId: string): HTMLElement => {
    const found = cache.get(testId) ?? doc.querySelector<HTMLElement>(`[data-testid="${testId}"]`);
    if (found === null) throw new Error(`index.html lacks data-testid="${testId}"`);
    cache.set(testId, found);
    return found;
  };
  buildLatencyRows(el('latency-rows'));
  const chart = createTrendChart(el('chart'));
  const triggers = createTriggerList(el('trigger-list'));
  return {
    showSnapshot: (snapshot) => showSnapshot(el, chart, snapshot),
    addTriggers: (events) => triggers.add(events),
    showConnection: (state) => showConnection(el('conn'), doc.body, state),
  };
}

function buildLatencyRows(tbody: HTMLElement): void {
  for (const row of LATENCY_ROWS) {
    const tr = tbody.ownerDocument.createElement('tr');
    if (row === 'e2e') tr.className = 'total';
    const th = tbody.ownerDocument.createElement('th');
    th.scope = 'row';
    th.textContent = row;
    tr.append(th);
    for (const column of LATENCY_COLUMNS) {
      const td = tbody.ownerDocument.createElement('td');
      td.dataset.testid = `${row}-${column}`;
      td.textContent = '–';
      tr.append(td);
    }
    tbody.append(tr);
  }
}

function showSnapshot(el: (testId: string) => HTMLElement, chart: TrendChart, s: Snapshot): void {
  el('pipeline').textContent = s.pipeline;
  el('backend').textContent = s.backend;
  el('model').textContent = s.model;
  el('frames').textContent = formatCount(s.frames);
  el('triggers').textContent = formatCount(s.triggers);
  el('late').textContent = formatCount(s.late);
  el('dropped').textContent = formatCount(s.dropped);
  el('fps').textContent = formatRate(s.fps);
  el('triggers-per-s').textContent = formatRate(s.triggersPerS);
  el('budget').textContent = formatUs(s.budgetUs);
  el('violations').textContent = formatCount(s.budgetViolations);
  el('errors').textContent = formatErrors(s.errorsByCode);
  showAccounting(el, s);
  for (const row of LATENCY_ROWS) {
    const summary = row === 'e2e' ? s.e2eUs : s.stagesUs[row];
    for (const column of LATENCY_COLUMNS) el(`${row}-${column}`).textContent = formatUs(summary[column], summary.count);
  }
  showDevice(el, s.device);
  showRoute(el, s.route);
  // The chart plots what the stream does now (the recent window), the table the whole run.
  const now = s.recent.e2eUs;
  chart.push(s.atMs / 1000, s.fps, now.count > 0 ? now.p99 : null);
}

/** The device panel: shown only while the snapshot carries a device (the fpga backend). */
function showDevice(el: (testId: string) => HTMLElement, d: DeviceSnapshot | undefined): void {
  el('device').hidden = d === undefined;
  if (d === undefined) return;
  const jobs = d.jobs;
  el('device-path').textContent = d.path;
  el('device-hash').textContent = d.modelHash;
  el('device-modelled-us').textContent = formatUs(d.modelledUs);
  el('device-cycles').textContent = formatCount(d.latencyCycles);
  el('device-clock-mhz').textContent = formatRate(d.clockKhz / 1000);
  el('device-jobs').textContent = formatCount(jobs);
  // The driver's wait statistics are 0 before the first completed job: show no value then.
  el('device-wait-last').textContent = formatUs(d.waitNsLast / 1000, jobs);
  el('device-wait-mean').textContent = formatUs(d.waitNsMean / 1000, jobs);
  el('device-wait-min').textContent = formatUs(d.waitNsMin / 1000, jobs);
  el('device-wait-max').textContent = formatUs(d.waitNsMax / 1000, jobs);
  el('device-timeouts').textContent = formatCount(d.timeouts);
  el('device-resets').textContent = formatCount(d.resets);
  el('device-corrupt').textContent = formatCount(d.corrupt);
  el('device-fifo-pending').textContent = formatCount(d.fifoPending);
  el('device-fifo-overflows').textContent = formatCount(d.fifoOverflows);
}

/**
 * The router's panel (an alert broker's filters): shown only while the snapshot carries
 * route counters. Every alert is in one of routed / unmatched / error; topics may overlap.
 */
function showRoute(el: (testId: string) => HTMLElement, r: Snapshot['route']): void {
  el('route').hidden = r === undefined;
  if (r === undefined) return;
  const count = (k: string) => (typeof r[k] === 'number' ? formatCount(r[k]) : '–');
  el('route-routed').textContent = count('routed');
  el('route-unmatched').textContent = count('unmatched');
  el('route-error').textContent = count('error');
  const topics = typeof r.topics === 'object' ? Object.entries(r.topics) : [];
  const tbody = el('route-topics');
  const doc = tbody.ownerDocument;
  tbody.replaceChildren(
    ...topics.map(([name, n]) => {
      const tr = doc.createElement('tr');
      for (const text of [name, formatCount(n)]) {
        const td = doc.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
}

/** Where the frames that did not fire went, and what was lost or clamped on the way. */
function showAccounting(el: (testId: string) => HTMLElement, s: Snapshot): void {
  el('non-target').textContent = formatCount(s.nonTarget);
  el('suppressed-below-threshold').textContent = formatCount(s.suppressed.belowThreshold);
  el('suppressed-holdoff').textContent = formatCount(s.suppressed.holdoff);
  el('suppressed-rate-limit').textContent = formatCount(s.suppressed.rateLimit);
  el('suppressed-late').textContent = formatCount(s.suppressed.late);
  el('ring-overflows').textContent = formatCount(s.triggerRingOverflows);
  el('clamped-samples').textContent = formatCount(s.clampedSamples);
}

function formatErrors(byCode: Record<string, number>): string {
  const entries = Object.entries(byCode).filter(([, n]) => n > 0);
  if (entries.length === 0) return 'none';
  return entries.map(([code, n]) => `${code} ${formatCount(n)}`).join(', ');
}

function showConnection(conn: HTMLElement, body: HTMLElement, state: ConnState): void {
  conn.dataset.state = state.kind;
  body.classList.toggle('stale', state.kind !== 'live');
  if (state.kind === 'live') conn.textContent = 'live';
  else if (state.kind === 'connecting') conn.textContent = 'connecting…';
  else conn.textContent = `${state.reason}; retrying in ${(state.retryInMs / 1000).toFixed(1)} s`;
}

/** Keeps the newest `TRIGGERS_SHOWN_MAX` events and redraws at most once per frame, however
 * fast batches arrive. */
function createTriggerList(tbody: HTMLElement): { add(events: readonly TriggerEvent[]): void } {
  let shown: TriggerEvent[] = [];
  let drawPending = false;
  const draw = () => {
    drawPending = false;
    tbody.replaceChildren(...shown.map((e) => triggerRow(tbody.ownerDocument, e)));
  };
  return {
    add(events) {
      const newest = events.slice(-TRIGGERS_SHOWN_MAX).reverse();
      shown = newest.concat(shown).slice(0, TRIGGERS_SHOWN_MAX);
      if (!drawPending) {
        drawPending = true;
        requestAnimationFrame(draw);
      }
    },
  };
}

function triggerRow(doc: Document, e: TriggerEvent): HTMLTableRowElement {
  const tr = doc.createElement('tr');
  // What the sensor calls the frame: an alert's objectId from its payload, a keyword's time in
  // its stream (streamMs), else its id.
  const object = typeof e.payload?.objectId === 'string' ? e.payload.objectId : typeof e.streamMs === 'number' ? `t = ${(e.streamMs / 1000).toFixed(2)} s` : (e.id ?? '–');
  for (const text of [formatCount(e.seq), String(object), e.class, formatScore(e.score), formatUs(e.e2eUs)]) {
    const td = doc.createElement('td');
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}
