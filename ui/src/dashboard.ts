/**
 * The page: binds the views to index.html, feeds them snapshots and trigger batches from the
 * websocket and documents from the JSON API, and keeps the history (history.ts). What each
 * view draws lives in views/*.ts; this file decides when.
 */
import type { HealthReport } from '../../host/src/metrics/health.js';
import type { Snapshot, TriggerEvent } from '../../host/src/metrics/snapshot.js';
import type { HistoryColumns, LatencyDistribution, ModelView, PipelineSummary, ServerState } from '../../host/src/server/api-types.js';
import { ApiError, getJson } from './api.js';
import type { ConnState } from './connection.js';
import { elementLookup, type ElementLookup } from './dom.js';
import { HistoryStore } from './history.js';
import { createTabs, type Tabs, type ViewName } from './tabs.js';
import { createControls } from './views/controls.js';
import { createDetailView } from './views/detail.js';
import { showLinks, showServer } from './views/devices.js';
import { createLatencyView } from './views/latency.js';
import { showAgreement, showModel, showModelError, showSelection } from './views/model.js';
import { createCascadeView } from './views/cascade.js';
import { createOverview, type OverviewView } from './views/overview.js';
import { createTriggersView } from './views/triggers.js';
import { createPipelinesView, type PipelinesView } from './views/pipelines.js';

/** The latency view re-reads `/api/history` (for the heatmap) every this many polls. */
const HISTORY_REFETCH_POLLS = 5;

export interface Dashboard {
  showSnapshot(snapshot: Snapshot): void;
  addTriggers(events: readonly TriggerEvent[]): void;
  showConnection(state: ConnState): void;
  /** Re-reads what the current view takes from the JSON API (health, distributions, model,
   * server, controls); the caller runs it on a timer. */
  poll(): Promise<void>;
}

/** Binds to the elements of index.html (a missing one is a bug in the page: it throws). */
export function createDashboard(doc: Document, initialView: string, storage: Storage): Dashboard {
  const el = elementLookup(doc);
  const store = new HistoryStore();
  const overview = createOverview(el);
  const latency = createLatencyView(el);
  const detail = createDetailView(el);
  const triggers = createTriggersView(el, (e) => void detail.open(e));
  const controls = createControls(el, storage);
  const pipelines = createPipelinesView(el, doc.defaultView!);
  const cascade = createCascadeView(el);
  let live = false;
  let polls = 0;
  /** The model in force the page last asked `/api/model` about (a switch re-asks at once). */
  let modelAsked = '';
  let everLive = false;
  const drawHistory = (view: ViewName) => {
    if (view === 'overview') overview.showHistory(store.rows);
    if (view === 'latency') latency.showHistory(store);
    if (view === 'triggers') triggers.showHistory(store.rows);
  };
  const tabs: Tabs = createTabs(el('tabs'), initialView, (view) => {
    drawHistory(view);
    if (live) void fetchForView(el, view, latency, controls.refresh);
  });

  async function loadHistory(): Promise<void> {
    try {
      store.load(await getJson<HistoryColumns>('api/history'));
    } catch {
      return; // a daemon without history: live rows still accumulate
    }
    drawHistory(tabs.current());
  }

  return {
    showSnapshot(s) {
      overview.showSnapshot(s);
      latency.showSnapshot(s);
      triggers.showSnapshot(s);
      showAgreement(el, s);
      cascade.showSnapshot(s);
      showSelection(el, s);
      showLinks(el, s);
      // The selector or the control API put another model in force: its card, now, not at the next poll.
      if (live && s.model !== modelAsked && modelAsked !== '' && tabs.current() === 'model') void fetchForView(el, 'model', latency, controls.refresh);
      modelAsked = s.model;
      if (store.append(s)) drawHistory(tabs.current());
    },
    addTriggers: (events) => triggers.addTriggers(events),
    showConnection(state) {
      const wasLive = live;
      live = state.kind === 'live';
      everLive ||= live;
      showConnection(el, doc.body, state, everLive);
      // On load and after every reconnect: the past from the daemon, then live rows.
      if (live && !wasLive) {
        void loadHistory();
        void fetchHealth(overview);
        void fetchPipelines(pipelines);
        void fetchForView(el, tabs.current(), latency, controls.refresh);
        void getJson<ModelView>('api/model').then((m) => showModel(el, m), (err: Error) => showModelError(el, modelMessage(err)));
      }
    },
    async poll() {
      if (!live) return;
      polls += 1;
      await Promise.all([fetchHealth(overview), fetchPipelines(pipelines), fetchForView(el, tabs.current(), latency, controls.refresh)]);
      // The heatmap comes only with the whole history (an hour of rows: megabytes), so the
      // latency view re-reads it every few polls, not every one.
      if (tabs.current() === 'latency' && polls % HISTORY_REFETCH_POLLS === 0) await loadHistory();
    },
  };
}

/** What a view takes from the JSON API beside the snapshot. Failures leave the last values. */
async function fetchForView(el: ElementLookup, view: ViewName, latency: ReturnType<typeof createLatencyView>, refreshControls: () => Promise<void>): Promise<void> {
  try {
    if (view === 'latency') latency.showDistribution(await getJson<LatencyDistribution>('api/latency'));
    if (view === 'devices') showServer(el, await getJson<ServerState>('api/server'));
    if (view === 'overview') await refreshControls();
    if (view === 'model') showModel(el, await getJson<ModelView>('api/model'));
  } catch (err) {
    if (view === 'model') showModelError(el, modelMessage(err as Error));
  }
}

/** `/healthz` answers 503 with the same report when a pipeline is down: read the body either way. */
async function fetchHealth(overview: OverviewView): Promise<void> {
  try {
    const res = await fetch(new URL('healthz', document.baseURI), { cache: 'no-store' });
    overview.showHealth((await res.json()) as HealthReport);
  } catch {
    overview.showHealth(null);
  }
}

/** Every pipeline of the daemon (selector and overview table; hidden with one). A daemon
 * without the route (older) has one pipeline: nothing to show. */
async function fetchPipelines(view: PipelinesView): Promise<void> {
  try {
    view.show((await getJson<{ pipelines: PipelineSummary[] }>('api/pipelines')).pipelines);
  } catch {
    return; // the next poll asks again
  }
}

function modelMessage(err: Error): string {
  return err instanceof ApiError && err.status === 404 ? 'This daemon has no model view (/api/model).' : err.message;
}

/** The banner shows from the first loss of a live link until it is back (not while first connecting). */
function showConnection(el: ElementLookup, body: HTMLElement, state: ConnState, everLive: boolean): void {
  const conn = el('conn');
  conn.dataset.state = state.kind;
  body.classList.toggle('stale', state.kind !== 'live');
  el('disconnected').hidden = state.kind === 'live' || (state.kind === 'connecting' && !everLive);
  if (state.kind === 'live') conn.textContent = 'live';
  else if (state.kind === 'connecting') conn.textContent = 'connecting…';
  else conn.textContent = `${state.reason}; retrying in ${(state.retryInMs / 1000).toFixed(1)} s`;
  if (state.kind === 'waiting') el('disconnected-detail').textContent = `${state.reason}; retrying in ${(state.retryInMs / 1000).toFixed(1)} s.`;
}
