/** Entry point: takes the token out of the URL fragment, wires the websocket to the page and
 * polls the JSON API for what the current view needs. Everything lives as long as the page. */
import { takeTokenFromHash } from './api.js';
import { connect, websocketUrl } from './connection.js';
import { createDashboard } from './dashboard.js';
import './style.css';

/** How often the page re-reads health, distributions, server state and the audit log. */
const POLL_INTERVAL_MS = 2_000;

/** Stores a `#token=...` fragment and takes it out of the address bar; returns the rest. */
function takeToken(): string {
  const rest = takeTokenFromHash(window.location.hash, window.sessionStorage);
  if (rest !== window.location.hash.replace(/^#/, '')) window.history.replaceState(null, '', rest === '' ? window.location.pathname : `#${rest}`);
  return rest;
}

const rest = takeToken();
// A URL with the token pasted into an open tab changes only the fragment: no reload.
window.addEventListener('hashchange', takeToken);
const dashboard = createDashboard(document, rest, window.sessionStorage);
connect({
  url: websocketUrl(window.location),
  onState: (state) => dashboard.showConnection(state),
  onMessage(message) {
    if (message.type === 'triggers') dashboard.addTriggers(message.events);
    else dashboard.showSnapshot(message.snapshot);
  },
});
window.setInterval(() => void dashboard.poll(), POLL_INTERVAL_MS);
