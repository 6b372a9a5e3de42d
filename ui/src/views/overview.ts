/**
 * The overview: identity, counters, the settings in force, where the frames that did not fire
 * went, errors by code with the latest messages, uptime and health, and the rates chart.
 */
import type { Snapshot } from '../../../host/src/metrics/snapshot.js';
import type { PipelineSettings } from '../../../host/src/server/api-types.js';
import type { HealthReport } from '../../../host/src/metrics/health.js';
import { setRows, timeOfDay, type ElementLookup } from '../dom.js';
import { formatCount, formatRate, NO_VALUE } from '../format.js';
import type { HistoryRows } from '../history.js';
import { createTimeChart, type ChartMarker, type TimeChart } from '../plots.js';
import { formatDuration, formatIn, timeUnitFor } from '../units.js';

/** A latency with its own unit by magnitude: "25.0 µs", "1.50 ms". */
export function formatLatency(us: number): string {
  const unit = timeUnitFor([us]);
  return Number.isFinite(us) ? `${formatIn(us, unit)} ${unit.name}` : NO_VALUE;
}

export interface OverviewView {
  showSnapshot(s: Snapshot): void;
  showHistory(h: HistoryRows): void;
  showHealth(h: HealthReport | null): void;
}

export function createOverview(el: ElementLookup): OverviewView {
  let chart: TimeChart | null = null;
  let markers: ChartMarker[] = [];
  return {
    showSnapshot(s) {
      showSnapshot(el, s);
      // The model selector's switches, as markers on the rates chart (newest kept by the daemon).
      markers = (s.modelSelection?.recent ?? []).map((r) => ({ tS: r.atMs / 1000, label: `${r.direction === 'down' ? '▼' : '▲'} ${r.to}`, colour: r.direction === 'down' ? '#b4461b' : '#2a7d2a' }));
      el('model-switches').textContent = s.modelSelection === undefined ? 'off' : `${s.modelSelection.switches.down} down, ${s.modelSelection.switches.up} up`;
      chart?.setMarkers(markers);
    },
    showHistory(h) {
      chart ??= createTimeChart(el('chart'), {
        series: [
          { label: 'frames/s', stroke: '#1f5fa8' },
          { label: 'triggers/s', stroke: '#b4461b' },
        ],
        y: { kind: 'plain', label: 'per second' },
      });
      chart.setData(h.t, [h.fps, h.triggersPerS]);
      chart.setMarkers(markers);
    },
    showHealth: (h) => showHealth(el('health'), h),
  };
}

function showSnapshot(el: ElementLookup, s: Snapshot): void {
  el('pipeline').textContent = s.pipeline;
  el('backend').textContent = s.backend;
  el('model').textContent = s.model;
  el('uptime').textContent = formatDuration(s.uptimeS);
  el('frames').textContent = formatCount(s.frames);
  el('triggers').textContent = formatCount(s.triggers);
  el('late').textContent = formatCount(s.late);
  el('dropped').textContent = formatCount(s.dropped);
  el('fps').textContent = formatRate(s.fps);
  el('triggers-per-s').textContent = formatRate(s.triggersPerS);
  el('budget').textContent = formatLatency(s.budgetUs);
  el('violations').textContent = formatCount(s.budgetViolations);
  el('errors').textContent = formatErrors(s.errorsByCode);
  showAccounting(el, s);
  if (s.settings !== undefined) showSettings(el, s.settings);
  setRows(
    el('errors-latest'),
    (s.errorsLatest ?? []).slice().reverse().map((e) => [timeOfDay(e.atMs), e.code, e.where, e.message]),
  );
}

/** The settings in force, one line each. */
function showSettings(el: ElementLookup, p: PipelineSettings): void {
  el('setting-source').textContent = p.source;
  el('setting-decoder').textContent = p.decoder;
  el('setting-backend').textContent = p.backend;
  el('setting-model').textContent = p.models.length > 1 ? `${p.model} (of ${p.models.join(', ')})` : p.model;
  el('setting-mode').textContent = p.mode === 'autonomous' ? 'autonomous (the device fires)' : 'host (the host runs the policy)';
  el('setting-targets').textContent = p.targets.join(', ') || NO_VALUE;
  const own = Object.entries(p.thresholds ?? {}).filter(([cls]) => p.targets.includes(cls));
  el('setting-threshold').textContent = `probability ≥ ${p.threshold}${own.map(([cls, t]) => `; ${cls} ≥ ${t}`).join('')}`;
  el('setting-holdoff').textContent = formatLatency(p.holdoffUs);
  el('setting-rate').textContent = `${formatRate(p.maxRatePerS)} triggers/s, burst ${formatCount(p.burst)}`;
  el('setting-budget').textContent = formatLatency(p.budgetUs);
  el('setting-filters').textContent = p.filters.length === 0 ? 'none' : p.filters.join('; ');
  const speed = p.replaySpeed === null ? '' : `, replay ×${p.replaySpeed}`;
  el('setting-state').textContent = `${p.paused ? 'paused' : 'running'}${speed}`;
  el('setting-state').dataset.paused = String(p.paused);
}

/** Where the frames that did not fire went, and what was lost or clamped on the way. */
function showAccounting(el: ElementLookup, s: Snapshot): void {
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

function showHealth(dd: HTMLElement, h: HealthReport | null): void {
  if (h === null) {
    dd.dataset.state = 'unknown';
    dd.textContent = NO_VALUE;
    return;
  }
  dd.dataset.state = h.status;
  const reasons = (h.pipelines ?? []).flatMap((p) => p.reasons);
  dd.textContent = h.status === 'up' || reasons.length === 0 ? h.status : `${h.status}: ${reasons.join('; ')}`;
}
