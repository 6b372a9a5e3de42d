/** Entry point: wires the websocket to the page. The socket lives as long as the page. */
import { connect, websocketUrl } from './connection.js';
import { createDashboard } from './dashboard.js';
import './style.css';

const dashboard = createDashboard(document);
connect({
  url: websocketUrl(window.location),
  onState: (state) => dashboard.showConnection(state),
  onMessage(message) {
    if (message.type === 'triggers') dashboard.addTriggers(message.events);
    else dashboard.showSnapshot(message.snapshot);
  },
});
