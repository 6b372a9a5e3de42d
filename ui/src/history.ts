/**
 * The page's copy of the daemon's history: filled from `/api/history` on load and on every
 * reconnect (so a reload shows the past), then extended by the live snapshots, one row per
 * history interval. Live rows take their counts as differences of the snapshot's cumulative
 * counters and their latencies from the snapshot's recent window (the last 5-10 s), which is
 * what the snapshot carries; the next `/api/history` fetch replaces them with exact rows.
 */
import type { HistoryColumns, IntervalLatencyColumns, LatencySeries } from '../../host/src/server/api-types.js';
import { LATENCY_SERIES } from '../../host/src/server/api-types.js';
import type { LatencySummaryUs, Snapshot } from '../../host/src/metrics/snapshot.js';

/** Rows kept: the daemon's own bound (limits.historyRows, an hour at 1 s). */
export const HISTORY_ROWS_MAX = 3600;

const COUNT_COLUMNS = ['late', 'budgetViolations', 'dropped', 'errors', 'suppressed'] as const;
type CountColumn = (typeof COUNT_COLUMNS)[number];
const LATENCY_COLUMNS = ['count', 'p50', 'p99', 'p999', 'max', 'mean'] as const;

export type HistoryRows = Omit<HistoryColumns, 'heatmap'>;

/** An empty history at `resolutionS`. */
export function emptyHistory(resolutionS = 1): HistoryRows {
  const latency = Object.fromEntries(LATENCY_SERIES.map((s) => [s, emptyLatency()])) as Record<LatencySeries, IntervalLatencyColumns>;
  return { resolutionS, t: [], fps: [], triggersPerS: [], late: [], budgetViolations: [], dropped: [], errors: [], suppressed: [], latency };
}

function emptyLatency(): IntervalLatencyColumns {
  return { count: [], p50: [], p99: [], p999: [], max: [], mean: [] };
}

/** Cumulative counters of one snapshot, for the next live row's differences. */
interface Totals extends Record<CountColumn, number> {
  atS: number;
}

function totalsOf(s: Snapshot): Totals {
  const errors = Object.values(s.errorsByCode).reduce((a, b) => a + b, 0);
  const suppressed = s.suppressed.belowThreshold + s.suppressed.holdoff + s.suppressed.rateLimit + s.suppressed.late;
  return { atS: s.atMs / 1000, late: s.late, budgetViolations: s.budgetViolations, dropped: s.dropped, errors, suppressed };
}

/** The recent-window summary a live row uses for each series; null where the snapshot has none. */
function recentOf(s: Snapshot, series: LatencySeries): LatencySummaryUs | null {
  if (series === 'e2e') return s.recent.e2eUs;
  if (series === 'queue') return s.recent.queueUs;
  if (series === 'service') return s.recent.serviceUs;
  if (series === 'device') return null;
  return s.recent.stagesUs[series];
}

export class HistoryStore {
  rows: HistoryRows = emptyHistory();
  heatmap: HistoryColumns['heatmap'] | null = null;
  private last: Totals | null = null;

  /** Replaces everything with the daemon's history (on load and after a reconnect). */
  load(h: HistoryColumns): void {
    const { heatmap, ...rows } = h;
    this.rows = rows;
    this.heatmap = heatmap;
    this.last = null;
  }

  /** Appends one row when `s` is at least one interval past the newest row; returns whether it did. */
  append(s: Snapshot): boolean {
    const now = totalsOf(s);
    const lastT = this.rows.t.at(-1) ?? -Infinity;
    if (this.last === null || now.atS < lastT + this.rows.resolutionS) {
      if (this.last === null) this.last = now;
      return false;
    }
    const r = this.rows;
    r.t.push(now.atS);
    r.fps.push(s.fps);
    r.triggersPerS.push(s.triggersPerS);
    for (const c of COUNT_COLUMNS) r[c].push(Math.max(0, now[c] - this.last[c]));
    for (const series of LATENCY_SERIES) {
      const summary = recentOf(s, series);
      for (const c of LATENCY_COLUMNS) r.latency[series][c].push(summary === null ? 0 : summary[c]);
    }
    this.last = now;
    this.trim();
    return true;
  }

  private trim(): void {
    const excess = this.rows.t.length - HISTORY_ROWS_MAX;
    if (excess <= 0) return;
    const r = this.rows;
    for (const key of ['t', 'fps', 'triggersPerS', ...COUNT_COLUMNS] as const) r[key].splice(0, excess);
    for (const series of LATENCY_SERIES) for (const c of LATENCY_COLUMNS) r.latency[series][c].splice(0, excess);
  }
}
