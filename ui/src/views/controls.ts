/**
 * The controls panel: the token (from the URL fragment or typed, kept in sessionStorage),
 * threshold / hold-off / rate limit / burst, pause and resume, replay speed and model switch,
 * each a POST with `Authorization: Bearer`; and the audit log from `/api/controls`. A 401
 * says plainly that the token is missing or wrong.
 */
import type { ControlsState, ModelChange, ReplaySpeedChange, TriggerSettingsChange } from '../../../host/src/server/api-types.js';
import { ApiError, getJson, postControl, storedToken, storeToken } from '../api.js';
import { setRows, timeOfDay, type ElementLookup } from '../dom.js';
import { formatCount } from '../format.js';

/** The control endpoints (server/http.ts), relative to the page. */
export const CONTROL_PATHS = {
  state: 'api/controls',
  trigger: 'api/control/trigger',
  pause: 'api/control/pause',
  resume: 'api/control/resume',
  replaySpeed: 'api/control/replay',
  model: 'api/control/model',
} as const;

export interface ControlsView {
  /** Re-reads `/api/controls` (settings and audit log). */
  refresh(): Promise<void>;
}

export function createControls(el: ElementLookup, storage: Storage): ControlsView {
  const input = (id: string) => el(id) as HTMLInputElement;
  const showTokenState = () => {
    el('token-state').textContent = storedToken(storage) === null ? 'no token: controls will be refused' : 'token set for this tab';
  };
  let formFilled = false;

  async function refresh(): Promise<void> {
    let state: ControlsState;
    try {
      state = await getJson<ControlsState>(CONTROL_PATHS.state);
    } catch {
      return; // the daemon is away or has no control API; the banner says the former
    }
    showAudit(el, state);
    if (!formFilled) fillForm(el, state);
    formFilled = true;
  }

  async function send(path: string, body: unknown): Promise<void> {
    const message = el('control-message');
    try {
      await postControl(path, body, storedToken(storage));
      message.dataset.state = 'ok';
      message.textContent = `applied: POST /${path}`;
    } catch (err) {
      message.dataset.state = 'error';
      message.textContent =
        err instanceof ApiError && err.status === 401
          ? 'Refused (401): the token is missing or wrong. Open the URL the daemon printed at start (…#token=…) or type the token above.'
          : (err as Error).message;
    }
    await refresh();
  }

  el('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    storeToken(storage, input('token-input').value.trim());
    input('token-input').value = '';
    showTokenState();
  });
  el('trigger-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void send(CONTROL_PATHS.trigger, triggerChange(input));
  });
  el('control-pause').addEventListener('click', () => void send(CONTROL_PATHS.pause, {}));
  el('control-resume').addEventListener('click', () => void send(CONTROL_PATHS.resume, {}));
  el('control-speed-apply').addEventListener('click', () => {
    const raw = input('control-speed').value.trim();
    const change: ReplaySpeedChange = { speed: raw === '' ? null : Number(raw) };
    void send(CONTROL_PATHS.replaySpeed, change);
  });
  el('control-model-apply').addEventListener('click', () => {
    const change: ModelChange = { model: (el('control-model') as HTMLSelectElement).value };
    void send(CONTROL_PATHS.model, change);
  });
  showTokenState();
  return { refresh };
}

/** Only the fields the operator filled in are sent. */
function triggerChange(input: (id: string) => HTMLInputElement): TriggerSettingsChange {
  const change: TriggerSettingsChange = {};
  const fields: Array<[keyof TriggerSettingsChange, string]> = [
    ['threshold', 'control-threshold'],
    ['holdoffUs', 'control-holdoff'],
    ['maxRatePerS', 'control-rate'],
    ['burst', 'control-burst'],
  ];
  for (const [key, id] of fields) {
    const raw = input(id).value.trim();
    if (raw !== '') change[key] = Number(raw);
  }
  return change;
}

function fillForm(el: ElementLookup, state: ControlsState): void {
  const s = state.settings;
  (el('control-threshold') as HTMLInputElement).value = String(s.threshold);
  (el('control-holdoff') as HTMLInputElement).value = String(s.holdoffUs);
  (el('control-rate') as HTMLInputElement).value = String(s.maxRatePerS);
  (el('control-burst') as HTMLInputElement).value = String(s.burst);
  (el('control-speed') as HTMLInputElement).value = s.replaySpeed === null ? '' : String(s.replaySpeed);
  const select = el('control-model') as HTMLSelectElement;
  const doc = select.ownerDocument;
  select.replaceChildren(
    ...s.models.map((name) => {
      const option = doc.createElement('option');
      option.value = name;
      option.textContent = name;
      option.selected = name === s.model;
      return option;
    }),
  );
}

function showAudit(el: ElementLookup, state: ControlsState): void {
  el('unauthorized').textContent = formatCount(state.unauthorized);
  const rows = state.audit
    .slice()
    .reverse()
    .map((a) => [timeOfDay(a.atMs), a.who, a.action, a.changes.join('; ') || '–', a.outcome === 'applied' ? 'applied' : `refused: ${a.error ?? ''}`]);
  setRows(el('audit'), rows);
}
