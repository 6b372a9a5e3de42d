/**
 * The latency view: the table since start (one unit per column), the nines chart from
 * `/api/latency`, p99.9 and max per interval, the e2e heatmap, the stacked per-stage means,
 * and queueing apart from host service and device time.
 */
import { STAGES, type LatencySummaryUs, type Snapshot } from '../../../host/src/metrics/snapshot.js';
import type { LatencyDistribution } from '../../../host/src/server/api-types.js';
import type { ElementLookup } from '../dom.js';
import { drawHeatmap } from '../heatmap.js';
import type { HistoryStore } from '../history.js';
import { createNinesChart, createTimeChart, type NinesChart, type TimeChart } from '../plots.js';
import { formatCount } from '../format.js';
import { formatIn, timeUnitFor } from '../units.js';
import { formatLatency } from './overview.js';

const ROWS = ['e2e', 'queue', 'service', ...STAGES] as const;
type Row = (typeof ROWS)[number];
const COLUMNS = ['p50', 'p99', 'p999', 'max'] as const satisfies ReadonlyArray<keyof LatencySummaryUs>;
const STAGE_COLOURS = ['#7b4fa8', '#2a9d8f', '#e07b00', '#a8324f', '#5a7d1f'];

export interface LatencyView {
  showSnapshot(s: Snapshot): void;
  showDistribution(d: LatencyDistribution): void;
  showHistory(store: HistoryStore): void;
}

/** Charts are made on first use, when their tab is shown, so they get their real width. */
export function createLatencyView(el: ElementLookup): LatencyView {
  buildRows(el('latency-rows'));
  let charts: { nines: NinesChart; tail: TimeChart; stages: TimeChart; split: TimeChart } | null = null;
  const ensure = () =>
    (charts ??= {
      nines: createNinesChart(el('nines-chart')),
      tail: createTimeChart(el('tail-chart'), {
        series: [
          { label: 'e2e p99.9', stroke: '#1f5fa8' },
          { label: 'e2e max', stroke: '#b4461b' },
          { label: 'budget', stroke: '#d62828', dash: [6, 4] },
        ],
        y: { kind: 'latency', label: 'latency' },
      }),
      stages: createTimeChart(el('stages-chart'), {
        // Drawn top of the stack first so each smaller sum paints over the larger.
        series: STAGES.map((stage, i) => ({ label: stage, stroke: STAGE_COLOURS[i], fill: STAGE_COLOURS[i] })).reverse(),
        y: { kind: 'latency', label: 'mean, stacked' },
      }),
      split: createTimeChart(el('split-chart'), {
        series: [
          { label: 'queueing', stroke: '#8a8f98' },
          { label: 'host service', stroke: '#1f5fa8' },
          { label: 'device', stroke: '#b4461b' },
        ],
        y: { kind: 'latency', label: 'mean' },
      }),
    });
  let budgetUs = Number.NaN;
  return {
    showSnapshot(s) {
      budgetUs = s.budgetUs;
      showTable(el, s);
    },
    showDistribution: (d) => ensure().nines.setData(d),
    showHistory(store) {
      const c = ensure();
      const h = store.rows;
      const l = h.latency;
      const gap = (counts: number[]) => (v: number, i: number) => (counts[i] > 0 ? v : null);
      c.tail.setData(h.t, [l.e2e.p999.map(gap(l.e2e.count)), l.e2e.max.map(gap(l.e2e.count)), h.t.map(() => budgetUs)]);
      c.stages.setData(h.t, stackedMeans(store).reverse());
      c.split.setData(h.t, [l.queue.mean.map(gap(l.queue.count)), l.service.mean.map(gap(l.service.count)), l.device.mean.map(gap(l.device.count))]);
      el('device-source').textContent = h.deviceSource === 'none' ? 'none (no device)' : (h.deviceSource ?? 'not said');
      if (store.heatmap !== null) el('heatmap-unit').textContent = drawHeatmap(el('heatmap') as HTMLCanvasElement, store.heatmap, h.t);
    },
  };
}

/** Cumulative per-stage means: column i is the sum of stages 0..i (what a stacked chart draws). */
function stackedMeans(store: HistoryStore): number[][] {
  const l = store.rows.latency;
  const sums = store.rows.t.map(() => 0);
  return STAGES.map((stage) => l[stage].mean.map((v, i) => (sums[i] += v)));
}

function buildRows(tbody: HTMLElement): void {
  const doc = tbody.ownerDocument;
  for (const row of ROWS) {
    const tr = doc.createElement('tr');
    if (row === 'e2e') tr.className = 'total';
    const th = doc.createElement('th');
    th.scope = 'row';
    th.textContent = row;
    tr.append(th);
    for (const column of COLUMNS) {
      const td = doc.createElement('td');
      td.dataset.testid = `${row}-${column}`;
      td.textContent = '–';
      tr.append(td);
    }
    tbody.append(tr);
  }
}

function summaryOf(s: Snapshot, row: Row): LatencySummaryUs {
  if (row === 'e2e') return s.e2eUs;
  if (row === 'queue') return s.queueUs;
  if (row === 'service') return s.serviceUs;
  return s.stagesUs[row];
}

/** One unit per column, chosen from the column's largest value. */
function showTable(el: ElementLookup, s: Snapshot): void {
  for (const column of COLUMNS) {
    const filled = ROWS.map((row) => summaryOf(s, row)).filter((x) => x.count > 0);
    const unit = timeUnitFor(filled.map((x) => x[column]));
    el(`latency-unit-${column}`).textContent = unit.name;
    for (const row of ROWS) {
      const summary = summaryOf(s, row);
      el(`${row}-${column}`).textContent = summary.count > 0 ? formatIn(summary[column], unit) : '–';
    }
  }
  el('latency-budget').textContent = formatLatency(s.budgetUs);
  el('latency-violations').textContent = formatCount(s.budgetViolations);
}
