/** The model view: the card of the model in force (`/api/model`) and live agreement with a
 * second opinion (from the snapshot). */
import type { Snapshot } from '../../../host/src/metrics/snapshot.js';
import type { ModelView } from '../../../host/src/server/api-types.js';
import { setRows, type ElementLookup } from '../dom.js';
import { formatCount } from '../format.js';
import { formatPercent } from '../units.js';
import { formatLatency } from './overview.js';

export function showModel(el: ElementLookup, m: ModelView): void {
  el('model-name').textContent = m.name;
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
