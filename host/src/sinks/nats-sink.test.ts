import { AckPolicy, DeliverPolicy, type NatsConnection } from 'nats';
import { describe, expect, it } from 'vitest';
import { hasNatsServer, natsClient, natsServerForSuite, startNatsServer, type NatsServer } from '../../../test/support/nats-server.js';
import type { TriggerEvent } from '../metrics/snapshot.js';
import { contractEvents, sinkContract, type SinkHarness } from './contract.js';
import { NatsSink, natsMsgId, natsSinkSchema } from './nats-sink.js';
import type { SinkContext } from './sink.js';

const LABELS = ['SN Ia', 'SN II', 'AGN'];

/** Every message of `stream`, read back with a plain JetStream consumer (not the sink's code): subject, Msg-Id header, record. */
async function readStream(nc: NatsConnection, stream: string): Promise<Array<{ subject: string; msgId: string | undefined; event: TriggerEvent; bytes: number }>> {
  const jsm = await nc.jetstreamManager();
  const n = (await jsm.streams.info(stream)).state.messages;
  const name = `reader${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  await jsm.consumers.add(stream, { name, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
  const consumer = await nc.jetstream().consumers.get(stream, name);
  const out: Array<{ subject: string; msgId: string | undefined; event: TriggerEvent; bytes: number }> = [];
  while (out.length < n) {
    const batch = await consumer.fetch({ max_messages: Math.min(1000, n - out.length), expires: 2000 });
    for await (const m of batch) out.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), event: JSON.parse(new TextDecoder().decode(m.data)) as TriggerEvent, bytes: m.data.byteLength });
  }
  await jsm.consumers.delete(stream, name);
  return out;
}

function context(runId: string, errors: Error[]): SinkContext {
  return { runId, labels: LABELS, resolvePath: (p) => p, onError: (e) => errors.push(e) };
}

/** The sink over a real nats-server: each harness its own server and stream; records read back with a JetStream consumer. */
function natsHarness(): SinkHarness {
  let server: NatsServer | null = null;
  let client: NatsConnection | null = null;
  const errors: Error[] = [];
  return {
    labels: LABELS,
    stallRecords: 200,
    async open(o) {
      server ??= await startNatsServer();
      client ??= await natsClient(server);
      const opts = natsSinkSchema.parse({ servers: [server.url], subject: 'triggers.contract', msgIdPrefix: 'contract', createStream: { name: 'TRIGGERS' }, ...(o.bufferedBytesMax === 0 ? { queueEventsMax: 1 } : {}) });
      return new NatsSink(opts, context(o.runId, errors));
    },
    async readBack(runId) {
      const got = (await readStream(client!, 'TRIGGERS')).filter((m) => m.event.run === runId);
      for (const m of got) {
        expect(m.subject).toBe(`triggers.contract.${m.event.kind}`);
        expect(m.msgId).toBe(natsMsgId('contract', m.event));
      }
      return { events: got.map((m) => m.event), bytes: got.reduce((n, m) => n + m.bytes, 0) };
    },
    files: () => null,
    async cleanup() {
      await client?.close();
      await server?.stop();
      if (errors.length > 0) throw new Error(`sink reported errors: ${errors.map((e) => e.message).join('; ')}`);
    },
  };
}

describe.runIf(hasNatsServer())('NATS sink', () => {
  sinkContract('nats', natsHarness, { writesFiles: false });

  describe('de-duplication and connection loss', () => {
    const nats = natsServerForSuite();

    it('a frame decided again (another daemon, another run) stores its record once; frames without an id are not merged', { timeout: 60_000 }, async () => {
      const errors: Error[] = [];
      const opts = natsSinkSchema.parse({ servers: [nats.server.url], subject: 'triggers.dedup', msgIdPrefix: 'alerts-ztf', createStream: { name: 'DEDUP', duplicateWindowS: 120 } });
      const first = contractEvents(300, { run: 'daemon-a', labels: LABELS, seed: 21 });
      // The same frames (same ids) decided by a second daemon after a redelivery: another run id.
      const again = first.slice(100, 250).map((e) => ({ ...e, run: 'daemon-b' }));
      const a = new NatsSink(opts, context('daemon-a', errors));
      a.write(first);
      await a.close();
      const b = new NatsSink(opts, context('daemon-b', errors));
      b.write(again);
      await b.close();
      const withoutId = again.filter((e) => e.id === null).length;
      expect(errors).toEqual([]);
      // JetStream answered the repeats with ids as duplicates; the stream holds one record per id.
      expect(b.duplicates).toBe(again.length - withoutId);
      const stored = await readStream(nats.client, 'DEDUP');
      expect(stored.length).toBe(first.length + withoutId);
      expect(stored.slice(0, first.length).map((m) => m.event)).toEqual(first);
      const ids = stored.filter((m) => m.event.id !== null).map((m) => m.event.id);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('keeps the records while the server is down and publishes each once when it is back; flush waits for the acks', { timeout: 60_000 }, async () => {
      const errors: Error[] = [];
      const opts = natsSinkSchema.parse({ servers: [nats.server.url], subject: 'triggers.outage', msgIdPrefix: 'outage', createStream: { name: 'OUTAGE' } });
      const events = contractEvents(200, { run: 'r', labels: LABELS, seed: 5 });
      const sink = new NatsSink(opts, context('r', errors));
      sink.write(events.slice(0, 50));
      await sink.flush();
      await nats.client.close();
      await nats.server.stop({ keepStore: true });
      sink.write(events.slice(50));
      let flushed = false;
      const flushing = sink.flush().then(() => (flushed = true));
      await new Promise((r) => setTimeout(r, 500));
      expect(flushed).toBe(false); // nothing can be acknowledged while the server is gone
      nats.server = await startNatsServer({ port: nats.server.port, storeDir: nats.server.storeDir });
      nats.client = await natsClient(nats.server);
      await flushing;
      await sink.close();
      const stored = await readStream(nats.client, 'OUTAGE');
      // Retries after the outage may reorder records; each is stored exactly once (a retry of one
      // the server had stored before it died is a duplicate: the window survives the restart).
      expect(stored.map((m) => m.event).sort((x, y) => x.seq - y.seq)).toEqual(events);
      expect(sink.counters()).toMatchObject({ accepted: 200, written: 200, dropped: 0 });
      expect(sink.counters().errors.E_SINK).toBeGreaterThan(0); // the failed publishes were counted
    });
  });
});
