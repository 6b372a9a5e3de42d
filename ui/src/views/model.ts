/** The model view: the card of the model in force (`/api/model`: the primary's until the
 * model selector or the control API puts another in force) and live agreement with a second
 * opinion (from the snapshot). */
import type { Snapshot } from '../../../host/src/metrics/snapshot.js';
import type { ModelView } from '../../../host/src/server/api-types.js';
import { setRows, timeOfDay, type ElementLookup } from '../dom.js';
import { formatCount, formatRate } from '../format.js';
import { formatPercent } from '../units.js';
import { formatLatency } from './overview.js';

export function showModel(el: ElementLookup, m: ModelView): void {
  el('model-name').textContent = m.name;
  const inForce = el('model-in-force');
  inForce.textContent = `${m.model}${m.inForce ? ' (in force' : ' (not in force'}${m.model === m.primary ? ', the primary)' : `; primary ${m.primary})`}`;
  inForce.dataset.inForce = m.inForce ? m.model : '';
  el('model-size').textContent = m.size ?? (m.variant === 'teacher' ? 'the teacher' : "the task's shipped size");
  el('model-params').textContent = m.modelParams === null ? '–' : `${formatCount(m.modelParams)} (${m.variant})`;
  el('model-accuracy-own').textContent = m.modelAccuracy === null ? '–' : formatPercent(m.modelAccuracy);
  el('model-task').textContent = m.task;
  el('model-labels').textContent = m.labels.join(', ');
  el('model-params-student').textContent = formatCount(m.params.student);
  el('model-params-teacher').textContent = m.params.teacher === null ? 'no teacher' : formatCount(m.params.teacher);
  el('model-precision').textContent = m.precision;
  el('model-modelled').textContent =
    m.modelled === null ? 'no firmware' : `${formatLatency(m.modelled.us)} (${formatCount(m.modelled.cycles)} cycles at ${formatCount(m.modelled.clockMhz)} MHz)`;
  // Card accuracies are fractions in [0, 1]; anything else is shown as the card has it.
  setRows(
    el('model-accuracy'),
    Object.entries(m.accuracy).map(([k, v]) => [{ th: k }, v >= 0 && v <= 1 ? formatPercent(v) : String(v)]),
  );
  setRows(
    el('model-resources'),
    Object.entries(m.resources ?? {}).map(([k, v]) => [{ th: k }, formatCount(v)]),
  );
  el('model-message').textContent = '';
}

export function showModelError(el: ElementLookup, message: string): void {
  el('model-message').textContent = message;
}

export function showAgreement(el: ElementLookup, s: Snapshot): void {
  const a = s.agreement ?? null;
  el('agreement-none').hidden = a !== null;
  el('agreement-stats').hidden = a === null;
  if (a === null) return;
  el('agreement-other').textContent = a.other;
  el('agreement-total').textContent = a.frames > 0 ? `${formatPercent(a.agreed / a.frames)} of ${formatCount(a.frames)} frames` : '–';
  el('agreement-recent').textContent = `${formatPercent(a.recent)} over the last ${formatCount(a.windowS)} s`;
}

/** The model selection panel: the model in force, the input rate, each model's service-time
 * estimate and utilization at that rate, and the newest switches (newest first). */
export function showSelection(el: ElementLookup, s: Snapshot): void {
  const m = s.modelSelection;
  el('selection-none').hidden = m !== undefined;
  el('selection-stats').hidden = m === undefined;
  if (m === undefined) return;
  el('selection-current').textContent = m.current;
  el('selection-rate').textContent = Number.isFinite(m.rateHz) ? `${formatRate(m.rateHz)} frames/s` : 'not measured yet';
  el('selection-late').textContent = formatPercent(m.lateFraction);
  el('selection-switches').textContent = `${formatCount(m.switches.down)} down, ${formatCount(m.switches.up)} up`;
  const rows = [...m.estimates].sort((a, b) => b.accuracy - a.accuracy);
  setRows(
    el('selection-models'),
    rows.map((e) => [{ th: e.name === m.current ? `${e.name} (in force)` : e.name }, formatPercent(e.accuracy), formatLatency(e.serviceUs), Number.isFinite(e.utilization) ? e.utilization.toFixed(2) : '–', e.tailFailed ? 'tail past the budget: not chosen for now' : e.measured ? 'measured in force' : 'start-up probe, scaled']),
  );
  setRows(
    el('selection-recent'),
    m.recent.slice().reverse().map((r) => [timeOfDay(r.atMs), `${r.direction === 'down' ? '▼' : '▲'} ${r.from} → ${r.to}`, `${formatRate(r.rateHz)}/s`, r.reason]),
  );
}
