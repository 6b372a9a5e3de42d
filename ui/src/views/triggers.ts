/**
 * The triggers view: timeline, per-class counts, purity and yield, the confusion matrix and
 * the latest triggers, each of which opens its detail (detail.ts) on a click or Enter.
 */
import type { Snapshot, TriggerEvent } from '../../../host/src/metrics/snapshot.js';
import { setRows, type ElementLookup } from '../dom.js';
import { formatCount, formatScore } from '../format.js';
import type { HistoryRows } from '../history.js';
import { createTimeChart, type TimeChart } from '../plots.js';
import { formatIn, formatPercent, timeUnitFor } from '../units.js';

/** Triggers listed on the page, newest first. */
export const TRIGGERS_SHOWN_MAX = 20;

export interface TriggersView {
  showSnapshot(s: Snapshot): void;
  showHistory(h: HistoryRows): void;
  addTriggers(events: readonly TriggerEvent[]): void;
}

export function createTriggersView(el: ElementLookup, open: (e: TriggerEvent) => void): TriggersView {
  let chart: TimeChart | null = null;
  const list = createTriggerList(el('trigger-list'), el('trigger-unit'), open);
  return {
    showSnapshot(s) {
      showPerClass(el, s);
      showQuality(el, s);
      showCalibration(el, s);
      showConfusion(el, s);
    },
    showHistory(h) {
      chart ??= createTimeChart(el('timeline-chart'), {
        series: [
          { label: 'triggers/s', stroke: '#b4461b' },
          { label: 'late/s', stroke: '#7b4fa8' },
          { label: 'suppressed/s', stroke: '#8a8f98' },
        ],
        y: { kind: 'plain', label: 'per second' },
      });
      const perS = (counts: number[]) => counts.map((n) => n / h.resolutionS);
      chart.setData(h.t, [h.triggersPerS, perS(h.late), perS(h.suppressed)]);
    },
    addTriggers: (events) => list.add(events),
  };
}

function showPerClass(el: ElementLookup, s: Snapshot): void {
  const total = Object.values(s.perClass).reduce((a, b) => a + b, 0);
  const byTruth = s.quality?.triggersByTruth ?? {};
  setRows(
    el('per-class'),
    s.labels.map((label) => {
      const n = s.perClass[label] ?? 0;
      return [{ th: label }, formatCount(n), total > 0 ? formatPercent(n / total) : '–', byTruth[label] === undefined ? '–' : formatCount(byTruth[label])];
    }),
  );
}

function showQuality(el: ElementLookup, s: Snapshot): void {
  const q = s.quality ?? null;
  el('quality-none').hidden = q !== null;
  el('quality-stats').hidden = q === null;
  if (q === null) return;
  el('purity').textContent = q.triggers > 0 ? formatPercent(q.purity) : '–';
  el('yield').textContent = q.targets > 0 ? formatPercent(q.yield) : '–';
  el('labelled').textContent = formatCount(q.labelled);
  el('targets').textContent = formatCount(q.targets);
  el('triggers-on-targets').textContent = `${formatCount(q.triggersOnTargets)} of ${formatCount(q.triggers)} triggers`;
  el('targets-missed-late').textContent = formatCount(q.targetsMissedLate);
  el('targets-suppressed').textContent = formatCount(q.targetsSuppressed);
}

/** Each calibrated rate beside its promise and bound, and the drift check of the live scores. */
function showCalibration(el: ElementLookup, s: Snapshot): void {
  const c = s.calibration ?? null;
  showDetectionScore(el, s.detectionScore ?? null);
  el('calibration-none').hidden = c !== null || (s.detectionScore ?? null) !== null;
  el('calibration-table').hidden = c === null;
  el('drift-stats').hidden = c === null;
  if (c === null) return;
  const rows = c.targets.map((t) => {
    const recall = t.kind === 'recall';
    const promise = recall ? `recall ${t.classes.join('/')}${t.classes.length > 1 ? ' together' : ''} ≥ ${formatPercent(t.target)}` : `false triggers ≤ ${formatPercent(t.target)} of non-${t.classes.join('/')}`;
    const bound = `${recall ? '≥' : '≤'} ${formatPercent(t.bound)} (n ${formatCount(t.n)})`;
    return [{ th: promise }, bound, t.threshold.toPrecision(4), formatCount(t.labelled), t.achieved === null ? '–' : formatPercent(t.achieved)];
  });
  // A calibrated cascade cut: its promise, the cut (on the margin or entropy) and the frames it counts.
  const k = c.cascade;
  if (k !== null) {
    const catches = k.promise === 'catch';
    const promise = catches ? `teacher sees ≥ ${formatPercent(k.target)} of wrong frames` : `teacher sent ≤ ${formatPercent(k.target)} of frames`;
    rows.push([{ th: promise }, `${catches ? '≥' : '≤'} ${formatPercent(k.bound)} (n ${formatCount(k.n)})`, `${k.on} ${k.on === 'margin' ? '<' : '>'} ${k.cut.toPrecision(4)}`, formatCount(k.frames), k.achieved === null ? '–' : formatPercent(k.achieved)]);
  }
  setRows(el('calibration-targets'), rows);
  const d = c.drift;
  const state = el('drift-state');
  state.dataset.drift = String(d.drift);
  state.textContent = d.pValue === null ? `waiting for ${formatCount(d.windowFrames - d.frames)} more frames` : d.drift ? `DRIFT: live scores differ from the calibration set (p < ${d.alpha})` : `none at level ${d.alpha}`;
  el('drift-p').textContent = d.pValue === null ? '–' : `${d.pValue < 1e-4 ? d.pValue.toExponential(1) : d.pValue.toFixed(4)} (D ${d.statistic!.toFixed(3)})`;
  el('drift-window').textContent = `${formatCount(d.frames)} of ${formatCount(d.windowFrames)} top scores${d.per === 'hop' ? ' (one a hop)' : ''} vs ${formatCount(d.referenceN)} calibration`;
  el('drift-checks').textContent = `${formatCount(d.flaggedChecks)} of ${formatCount(d.checks)}`;
}

/** A labelled keyword replay's detections against its truth, and each calibrated recall target
 * (promised per clip) measured per detection. */
function showDetectionScore(el: ElementLookup, d: NonNullable<Snapshot['detectionScore']> | null): void {
  el('detection-score').hidden = d === null;
  if (d === null) return;
  const ms = (x: number) => `${Math.round(x)} ms`;
  el('detection-stream').textContent = `${d.stream}${d.word === null ? '' : ` (${d.word})`}, ${d.streamS.toFixed(1)} of ${d.lengthS.toFixed(1)} s${d.ended ? ', ended' : ''}`;
  el('detection-tp').textContent = `${formatCount(d.truePositives)} of ${formatCount(d.windows)}${d.pending > 0 ? ` (${formatCount(d.pending)} open)` : ''}`;
  el('detection-misses').textContent = formatCount(d.misses);
  el('detection-false-alarms').textContent = `${formatCount(d.falseAlarms)}${d.falseAlarmsPerHour === null ? '' : ` (${d.falseAlarmsPerHour.toFixed(1)}/h)`}`;
  el('detection-recall').textContent = d.recall === null ? '–' : formatPercent(d.recall);
  el('detection-delay').textContent = d.delayMs === null ? '–' : `${ms(d.delayMs.p50)} / ${ms(d.delayMs.p90)} / ${ms(d.delayMs.max)}`;
  el('detection-targets-table').hidden = d.targets.length === 0;
  setRows(el('detection-targets'), d.targets.map((t) => [
    { th: `recall ${t.classes.join('/')}${t.classes.length > 1 ? ' together' : ''} ≥ ${formatPercent(t.target)} (threshold ${t.threshold.toPrecision(4)})` },
    formatCount(t.windows), formatCount(t.detected), t.recall === null ? '–' : formatPercent(t.recall),
  ]));
}

function showConfusion(el: ElementLookup, s: Snapshot): void {
  const m = s.confusion;
  el('confusion-none').hidden = m !== null;
  const table = el('confusion');
  if (m === null) {
    table.replaceChildren();
    return;
  }
  const header = ['true \\ predicted', ...s.labels];
  const rows = setRows(table, [header, ...m.map((row, i) => [{ th: s.labels[i] ?? String(i) }, ...row.map((n) => formatCount(n))])]);
  rows[0].className = 'head';
  // The diagonal is what the model got right.
  rows.slice(1).forEach((tr, i) => tr.cells[i + 1]?.classList.add('diagonal'));
}

/** Keeps the newest `TRIGGERS_SHOWN_MAX` events and redraws at most once per frame, however
 * fast batches arrive. The e2e column's unit is chosen from what it shows. */
function createTriggerList(tbody: HTMLElement, unitEl: HTMLElement, open: (e: TriggerEvent) => void): { add(events: readonly TriggerEvent[]): void } {
  let shown: TriggerEvent[] = [];
  let drawPending = false;
  const draw = () => {
    drawPending = false;
    const unit = timeUnitFor(shown.map((e) => e.e2eUs));
    unitEl.textContent = unit.name;
    tbody.replaceChildren(...shown.map((e) => triggerRow(tbody.ownerDocument, e, formatIn(e.e2eUs, unit), open)));
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

/** What the sensor calls the frame: an alert's objectId from its payload, a keyword's time in
 * its stream (streamMs), else its id. */
export function objectOf(e: TriggerEvent): string {
  if (typeof e.payload?.objectId === 'string') return e.payload.objectId;
  if (typeof e.streamMs === 'number') return `t = ${(e.streamMs / 1000).toFixed(2)} s`;
  return e.id ?? '–';
}

function triggerRow(doc: Document, e: TriggerEvent, e2e: string, open: (e: TriggerEvent) => void): HTMLTableRowElement {
  const tr = doc.createElement('tr');
  tr.tabIndex = 0;
  tr.className = 'openable';
  tr.dataset.seq = String(e.seq);
  tr.setAttribute('aria-label', `trigger ${e.seq}, ${e.class}: open its detail`);
  // A `missed` record is a late target that never fired: say so beside its class. A trigger the
  // cascade held (`replace`) says who decided it, and the student's class when the teacher
  // changed it.
  const held = e.cascade === undefined ? '' : e.cascade.decidedBy === 'student' ? ' (student; no teacher answer in time)' : e.cascade.student === e.class ? ' (teacher agreed)' : ` (teacher; student: ${e.cascade.student})`;
  const label = e.kind === 'missed' ? `${e.class} (missed: late)` : `${e.class}${held}`;
  for (const text of [formatCount(e.seq), objectOf(e), label, formatScore(e.score), e2e]) {
    const td = doc.createElement('td');
    td.textContent = text;
    tr.append(td);
  }
  tr.addEventListener('click', () => open(e));
  tr.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      open(e);
    }
  });
  return tr;
}
