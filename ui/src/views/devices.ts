/** The devices-and-links view: the server's own state (`/api/server`), the FPGA device, the
 * source's counters (a JetStream consumer's lag), serial and websocket link counters, and an
 * alert broker's routing. */
import type { DeviceSnapshot, Snapshot } from '../../../host/src/metrics/snapshot.js';
import type { ServerState } from '../../../host/src/server/api-types.js';
import { setRows, type ElementLookup } from '../dom.js';
import { formatCount, formatRate } from '../format.js';
import { formatIn, timeUnitFor } from '../units.js';
import { formatLatency } from './overview.js';

export function showServer(el: ElementLookup, s: ServerState): void {
  el('server-url').textContent = s.url;
  el('ws-clients').textContent = formatCount(s.wsClients);
  el('ws-dropped').textContent = formatCount(s.wsMessagesDropped);
  el('ws-refused').textContent = formatCount(s.wsClientsRefused);
  el('server-unauthorized').textContent = formatCount(s.unauthorized);
}

export function showLinks(el: ElementLookup, s: Snapshot): void {
  showDevice(el, s.device);
  showRoute(el, s.route);
  el('source').hidden = s.source === undefined;
  if (s.source !== undefined) setRows(el('source-counters'), Object.entries(s.source).map(([k, v]) => [{ th: k }, formatCount(v)]));
  el('transport').hidden = s.transport === undefined;
  if (s.transport !== undefined) showTransport(el('transport-table'), s.transport);
}

/** One column per link, one row per counter (the links' counter names may differ). */
function showTransport(table: HTMLElement, t: Record<string, Record<string, number>>): void {
  const links = Object.keys(t);
  const counters = [...new Set(links.flatMap((l) => Object.keys(t[l])))];
  const rows = setRows(table, [['counter', ...links], ...counters.map((c) => [{ th: c }, ...links.map((l) => (c in t[l] ? formatCount(t[l][c]) : '–'))])]);
  rows[0].className = 'head';
}

/** The device panel: shown only while the snapshot carries a device (the fpga backend). */
function showDevice(el: ElementLookup, d: DeviceSnapshot | undefined): void {
  el('device').hidden = d === undefined;
  if (d === undefined) return;
  const jobs = d.jobs;
  el('device-path').textContent = d.path;
  el('device-hash').textContent = d.modelHash;
  el('device-modelled-us').textContent = formatLatency(d.modelledUs);
  el('device-cycles').textContent = formatCount(d.latencyCycles);
  el('device-clock-mhz').textContent = formatRate(d.clockKhz / 1000);
  el('device-jobs').textContent = formatCount(jobs);
  // The driver's wait statistics are 0 before the first completed job: show no value then.
  const waitsUs = [d.waitNsLast, d.waitNsMean, d.waitNsMin, d.waitNsMax].map((ns) => ns / 1000);
  const unit = timeUnitFor(waitsUs);
  el('device-wait-unit').textContent = unit.name;
  (['last', 'mean', 'min', 'max'] as const).forEach((k, i) => {
    el(`device-wait-${k}`).textContent = jobs > 0 ? formatIn(waitsUs[i], unit) : '–';
  });
  el('device-timeouts').textContent = formatCount(d.timeouts);
  el('device-resets').textContent = formatCount(d.resets);
  el('device-corrupt').textContent = formatCount(d.corrupt);
  el('device-fifo-pending').textContent = formatCount(d.fifoPending);
  el('device-fifo-overflows').textContent = formatCount(d.fifoOverflows);
}

/** Every alert is in one of routed / unmatched / error; topics may overlap. */
function showRoute(el: ElementLookup, r: Snapshot['route']): void {
  el('route').hidden = r === undefined;
  if (r === undefined) return;
  const count = (k: string) => (typeof r[k] === 'number' ? formatCount(r[k]) : '–');
  el('route-routed').textContent = count('routed');
  el('route-unmatched').textContent = count('unmatched');
  el('route-error').textContent = count('error');
  const topics = typeof r.topics === 'object' ? Object.entries(r.topics) : [];
  setRows(el('route-topics'), topics.map(([name, n]) => [name, formatCount(n)]));
}
