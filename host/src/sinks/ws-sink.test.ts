import { once } from 'node:events';
import { describe } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { TriggerEvent } from '../metrics/snapshot.js';
import { createWsHub, type WsHub, type WsMessage } from '../server/ws-hub.js';
import { createFakeView } from '../server/testing.js';
import { contractEvents, sinkContract, type SinkHarness } from './contract.js';

/** 64 classes: a record is about 1.3 kB of JSON, so a stall batch outgrows the kernel's socket buffers. */
const LABELS = Array.from({ length: 64 }, (_, i) => `c${i}`);
/** Bytes a stall batch must exceed: loopback send plus receive buffers at their largest (tcp_wmem, tcp_rmem maxima here 4 + 32 MiB). */
const STALL_BYTES = 48 * 1024 * 1024;

/**
 * The websocket sink as the dashboard sees it: a real `ws` server whose connections the hub
 * admits, and a real `ws` client that parses every message it receives.
 */
function wsHarness(): SinkHarness {
  const perRecord = Buffer.byteLength(JSON.stringify(contractEvents(100, { run: 'x', labels: LABELS })[99])) + 1;
  let server: WebSocketServer | null = null;
  let hub: WsHub | null = null;
  let client: WebSocket | null = null;
  const received: TriggerEvent[] = [];
  let bytes = 0;
  return {
    labels: LABELS,
    stallRecords: Math.ceil(STALL_BYTES / perRecord),
    async open(o) {
      hub = createWsHub(createFakeView(), { clientsMax: 4, bufferedBytesMax: o.bufferedBytesMax ?? 4 * 1024 * 1024, snapshotIntervalMs: 60_000, slowTicksMax: 8, onError: (err) => { throw err; } });
      server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1 << 30 });
      server.on('connection', (socket) => hub!.admit(socket));
      await once(server, 'listening');
      const { port } = server.address() as { port: number };
      client = new WebSocket(`ws://127.0.0.1:${port}/`, { maxPayload: 1 << 30 });
      const hello = new Promise<void>((res) => client!.once('message', () => res()));
      client.on('message', (data: Buffer) => {
        const m = JSON.parse(data.toString('utf8')) as WsMessage;
        if (m.type !== 'triggers') return;
        received.push(...m.events);
        bytes += data.byteLength;
      });
      await hello;
      return hub.triggers;
    },
    async readBack(runId) {
      const want = hub!.triggers.counters().bytes;
      while (bytes < want) await new Promise((res) => setTimeout(res, 10));
      return { events: received.filter((e) => e.run === runId), bytes };
    },
    files: () => null,
    async cleanup() {
      client?.terminate();
      hub?.close();
      if (server !== null) await new Promise((res) => server!.close(res));
    },
  };
}

describe('websocket sink', () => {
  sinkContract('websocket', wsHarness, { writesFiles: false });
});
