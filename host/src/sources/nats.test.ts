import { AckPolicy, type NatsConnection } from 'nats';
import { describe, expect, it } from 'vitest';
import { hasNatsServer, natsServerForSuite, type NatsServer } from '../../../test/support/nats-server.js';
import { monotonicClock } from '../core/clock.js';
import type { HairtriggerError } from '../core/errors.js';
import { FrameRing } from '../core/frame.js';
import { sources } from './registry.js';
import { realTimers } from './source.js';
import type { NatsSource } from './nats.js';
import './builtins.js';

/** A message body that says which message it is: `msg-<k>` padded to a varying length. */
function body(k: number): Uint8Array {
  return new TextEncoder().encode(`msg-${k}:${'x'.repeat(k % 50)}`);
}

async function publishAll(nc: NatsConnection, subject: string, n: number): Promise<void> {
  const js = nc.jetstream();
  for (let k = 0; k < n; k += 64) await Promise.all(Array.from({ length: Math.min(64, n - k) }, (_, i) => js.publish(subject, body(k + i))));
}

/** Until `cond` holds (polled every 20 ms) or `ms` pass; the caller's assertion then says what did not happen. */
async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
}

interface Running {
  source: NatsSource;
  /** Message bodies the pipeline got, in order. */
  got: string[];
  errors: HairtriggerError[];
}

/** A `nats` source feeding a stand-in pipeline that records each frame's bytes; `commitEveryPush` acknowledges as the daemon would after a flush. */
function run(server: NatsServer, cfg: Record<string, unknown>, commitEveryPush: boolean): Running {
  const errors: HairtriggerError[] = [];
  const ctx = { clock: monotonicClock, timers: realTimers, at: (p: string) => p, log: () => {}, error: (e: HairtriggerError) => errors.push(e) };
  const source = sources.create({ kind: 'nats', servers: [server.url], jetStream: 'IN', ...cfg }, ctx, 'source') as NatsSource;
  const ring = new FrameRing(1, 1, 1024);
  const got: string[] = [];
  const dec = new TextDecoder();
  source.start({
    acquire: () => ring.acquire(),
    push: (s) => {
      got.push(dec.decode(s.raw.subarray(s.rawOffset, s.rawOffset + s.rawLength)));
      // The daemon commits from its flush loop; here after each frame, once the frame is counted delivered.
      if (commitEveryPush) setImmediate(() => void source.commit(source.delivered));
    },
  });
  return { source, got, errors };
}

describe.runIf(hasNatsServer())('nats source', () => {
  const nats = natsServerForSuite();

  async function freshStream(): Promise<void> {
    const jsm = await nats.client.jetstreamManager();
    await jsm.streams.delete('IN').catch(() => {});
    await jsm.streams.add({ name: 'IN', subjects: ['in.>'] });
  }

  it('two daemons on one durable consumer share the stream: every message handled by exactly one, all acknowledged', { timeout: 90_000 }, async () => {
    await freshStream();
    const n = 3000;
    const a = run(nats.server, { durable: 'shared' }, true);
    const b = run(nats.server, { durable: 'shared' }, true);
    await publishAll(nats.client, 'in.alerts', n);
    await until(() => a.got.length + b.got.length >= n && a.source.nats.acked + b.source.nats.acked >= n);
    const info = await (await nats.client.jetstreamManager()).consumers.info('IN', 'shared');
    for (const r of [a, b]) {
      await r.source.stop();
      await r.source.close();
    }
    const all = [...a.got, ...b.got].sort();
    expect(all).toEqual(Array.from({ length: n }, (_, k) => new TextDecoder().decode(body(k))).sort());
    expect(a.got.length).toBeGreaterThan(0);
    expect(b.got.length).toBeGreaterThan(0);
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
    expect(info.config.ack_policy).toBe(AckPolicy.Explicit);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('never holds more than maxAckPending unacknowledged, exports the lag, and a daemon that dies before its commit has its messages redelivered to another', { timeout: 90_000 }, async () => {
    await freshStream();
    const n = 500;
    await publishAll(nats.client, 'in.alerts', n);
    // A never commits: it stands for a daemon that dies before its decisions are written.
    const a = run(nats.server, { durable: 'crash', maxAckPending: 100, ackWaitMs: 8000 }, false);
    await until(() => a.got.length >= 100 && a.source.nats.numAckPending > 0);
    await new Promise((r) => setTimeout(r, 300)); // room for a 101st delivery, which must not come
    expect(a.got.length).toBe(100);
    const info = await (await nats.client.jetstreamManager()).consumers.info('IN', 'crash');
    expect(info.num_ack_pending).toBe(100);
    expect(info.num_pending).toBe(n - 100);
    await until(() => a.source.nats.numPending === n - 100);
    expect(a.source.counters()).toMatchObject({ received: 100, acked: 0, numAckPending: 100, numPending: n - 100 });
    // The crash: A stops taking messages and never acknowledges (no close: no nak either).
    await a.source.stop();
    const b = run(nats.server, { durable: 'crash', maxAckPending: 100, ackWaitMs: 8000 }, true);
    await until(() => b.source.nats.acked >= n);
    await b.source.stop();
    await b.source.close();
    await a.source.close();
    expect([...new Set(b.got)].sort()).toEqual(Array.from({ length: n }, (_, k) => new TextDecoder().decode(body(k))).sort());
    // What A held came back to B as redeliveries after ackWaitMs.
    expect(b.source.nats.redelivered).toBeGreaterThanOrEqual(100);
    expect(b.got.filter((m) => a.got.includes(m)).length).toBe(100);
  });
});
