import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AckPolicy, nanos, type JetStreamManager, type NatsConnection } from 'nats';
import { publishFeed, ztfAlertFeed } from '../sim/src/alert-feed.js';
import { hasNatsServer, natsClient, startNatsServer } from '../sim/src/nats-server.js';

/**
 * JetStream alerts/s (issue 12 "Performance"): one file-backed nats-server, a stream of
 * `alerts` real ZTF packets (sim/src/alert-feed.ts: cutouts left out, distinct candids), read
 * again by each run through a fresh durable consumer: the bare consume-and-ack rate of nats.js
 * in this process; the same plus a decision line per alert, an fdatasync and the acks once per
 * 100 ms (what a daemon's durable commit does, without the model); then 1, 2 and 3
 * `hairtrigger run` daemons side by side on one consumer (alerts-nats pipeline: transient
 * student on sim, triggers published to JetStream). Every rate is the consumer's ack floor
 * over time, read from the server, from when every reader is consuming to 95% of the stream.
 */
export interface NatsRunResult {
  source: 'nats';
  /** `bare` (consume + ack), `durable-write` (+ decision line, fdatasync and batched acks), `daemons`. */
  kind: 'bare' | 'durable-write' | 'daemons';
  daemons: number;
  alerts: number;
  messageBytesMean: number;
  alertsPerS: number;
  /** Wall time per alert (1e6 / alertsPerS): all readers together. */
  usPerAlert: number;
  /** Share of the bare rate. */
  ofBare: number;
}

export interface NatsBench {
  runs: NatsRunResult[];
  /** Publishing the stream with acks, 64 in flight. */
  publishPerS: number;
  /** durable-write only: mean fdatasync of a 100 ms batch, ms. */
  fdatasyncMsMean: number;
}

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Alerts/s of durable `name` from the moment `ready()` holds until 95% of `total` are acknowledged. */
async function ackRate(jsm: JetStreamManager, name: string, total: number, ready: () => boolean): Promise<number> {
  while (!ready()) await sleep(20);
  const floor = async () => (await jsm.consumers.info('ALERTS', name)).ack_floor.stream_seq;
  const t0 = performance.now();
  const a0 = await floor();
  let a = a0;
  while (a < total * 0.95) {
    await sleep(20);
    a = await floor();
  }
  return ((a - a0) / (performance.now() - t0)) * 1000;
}

async function addConsumer(jsm: JetStreamManager, name: string): Promise<void> {
  await jsm.consumers.add('ALERTS', { durable_name: name, ack_policy: AckPolicy.Explicit, max_ack_pending: 10_000, ack_wait: nanos(60_000) });
}

/** nats.js consume-and-ack in this process; with `durableDir`, a decision line per alert and fdatasync + acks every 100 ms. */
async function bareRun(nc: NatsConnection, name: string, total: number, durableDir: string | null, fsyncMs: number[]): Promise<number> {
  const jsm = await nc.jetstreamManager();
  await addConsumer(jsm, name);
  const messages = await (await nc.jetstream().consumers.get('ALERTS', name)).consume({ max_messages: 1024 });
  const fd = durableDir === null ? -1 : openSync(join(durableDir, `${name}.jsonl`), 'wx');
  const held: Array<{ ack(): void }> = [];
  let lines = '';
  const commit = () => {
    const t = performance.now();
    writeSync(fd, lines);
    lines = '';
    fdatasyncSync(fd);
    fsyncMs.push(performance.now() - t);
    for (const m of held.splice(0)) m.ack();
  };
  const timer = fd < 0 ? null : setInterval(commit, 100);
  let seen = 0;
  const reading = (async () => {
    for await (const m of messages) {
      if (fd < 0) m.ack();
      else {
        lines += `{"seq":${m.seq},"class":"SN Ia","score":0.5,"trigger":false}\n`;
        held.push(m);
      }
      if (++seen >= total) break;
    }
  })();
  const rate = await ackRate(jsm, name, total, () => true);
  if (timer !== null) {
    clearInterval(timer);
    commit();
    closeSync(fd);
  }
  messages.stop(); // (close() never settles once the loop has left the iterator)
  await reading;
  return rate;
}

/** `n` hairtrigger daemons on durable `name`; resolves with their rate once they have acknowledged 95%, and stops them. */
async function daemonsRun(jsm: JetStreamManager, url: string, dir: string, name: string, n: number, total: number): Promise<number> {
  const config = join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify({
    pipeline: name, model: join(REPO, 'models', 'zoo', 'alerts-transient'), backend: 'sim', firmware: join(REPO, 'hls', 'build', 'alerts_transient_student'), budgetUs: 60e6,
    source: { kind: 'nats', servers: [url], jetStream: 'ALERTS', durable: name, maxAckPending: 10_000, ackWaitMs: 60_000 },
    decoder: { kind: 'confluent', ztfSchemas: join(REPO, '..', 'shared', 'data', 'alerts', 'ztf-avro-alert', 'schema') },
    trigger: { threshold: 0.3 },
    sinks: { nats: { servers: [url], subject: `triggers.bench.${name}`, msgIdPrefix: name } },
    server: { enabled: false },
  }));
  const children: Array<{ child: ChildProcess; log: string }> = [];
  for (let i = 0; i < n; i++) {
    // The young-generation size `make bench` gives every run (alerts allocate: avsc decodes objects).
    const child = spawn(process.execPath, ['--max-semi-space-size=64', join(REPO, 'bin', 'hairtrigger.js'), 'run', '-c', config, '--decisions', join(dir, `${name}-${i}.jsonl`), '--progress-ms', '0'], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    const c = { child, log: '' };
    child.stderr!.on('data', (b: Buffer) => (c.log += b.toString()));
    children.push(c);
  }
  try {
    return await ackRate(jsm, name, total, () => {
      const dead = children.find((c) => c.child.exitCode !== null);
      if (dead !== undefined) throw new Error(`a bench daemon exited: ${dead.log.slice(-2000)}`);
      return children.every((c) => /consuming/.test(c.log));
    });
  } finally {
    await Promise.all(children.map((c) => new Promise((r) => (c.child.exitCode !== null ? r(null) : (c.child.once('exit', r), c.child.kill('SIGTERM'))))));
  }
}

/** The whole NATS bench (null when nats-server is not installed). */
export async function benchNats(alerts = Number(process.env.BENCH_NATS_ALERTS ?? 50_000)): Promise<NatsBench | null> {
  if (!hasNatsServer()) return null;
  const server = await startNatsServer();
  const nc = await natsClient(server);
  const dir = mkdtempSync(join(tmpdir(), 'ht-bench-nats-'));
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'ALERTS', subjects: ['alerts.>'] });
    await jsm.streams.add({ name: 'TRIGGERS', subjects: ['triggers.bench.>'], duplicate_window: nanos(600_000) });
    const feed = ztfAlertFeed(join(REPO, '..', 'shared', 'data', 'alerts', 'ztf-4.02-2023-10'), join(REPO, '..', 'shared', 'data', 'alerts', 'ztf-avro-alert', 'schema'));
    const t = performance.now();
    await publishFeed(nc, 'alerts.ztf', feed, 0, alerts);
    const publishPerS = Math.round((alerts / (performance.now() - t)) * 1000);
    const messageBytesMean = Math.round((await jsm.streams.info('ALERTS')).state.bytes / alerts);
    const fsyncMs: number[] = [];
    const rates: Array<[NatsRunResult['kind'], number, number]> = [];
    rates.push(['bare', 0, await bareRun(nc, 'bare', alerts, null, fsyncMs)]);
    rates.push(['durable-write', 0, await bareRun(nc, 'durable', alerts, dir, fsyncMs)]);
    for (const n of [1, 2, 3]) rates.push(['daemons', n, await daemonsRun(jsm, server.url, dir, `daemons${n}`, n, alerts)]);
    const bare = rates[0][2];
    const runs = rates.map(([kind, daemons, r]): NatsRunResult => ({ source: 'nats', kind, daemons, alerts, messageBytesMean, alertsPerS: Math.round(r), usPerAlert: Number((1e6 / r).toFixed(2)), ofBare: Number((r / bare).toFixed(3)) }));
    return { runs, publishPerS, fdatasyncMsMean: Number((fsyncMs.reduce((a, b) => a + b, 0) / Math.max(1, fsyncMs.length)).toFixed(3)) };
  } finally {
    await nc.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bench's section of latest.md. */
export function natsMarkdown(b: NatsBench | null): string {
  if (b === null) return '\n## NATS JetStream\n\nnats-server is not installed (make apt-test): not measured.\n';
  const rows = b.runs.map((r) => `| ${r.kind} | ${r.daemons} | ${r.alertsPerS.toLocaleString('en-US')} | ${r.usPerAlert} | ${(r.ofBare * 100).toFixed(0)}% |`);
  const [bare, durable] = b.runs;
  return [
    '',
    `## NATS JetStream (${b.runs[0].alerts.toLocaleString('en-US')} ZTF alerts of ${b.runs[0].messageBytesMean} B mean, one file-backed nats-server)`,
    '',
    '| run | daemons | alerts/s | us/alert | of bare |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Publishing the stream with acks, 64 in flight: ${b.publishPerS.toLocaleString('en-US')}/s. Durable write and ack (a decision line per alert, fdatasync and the acks every 100 ms): ${(durable.usPerAlert - bare.usPerAlert).toFixed(2)} us/alert over bare consume-and-ack; one fdatasync ${b.fdatasyncMsMean} ms.`,
    '',
  ].join('\n');
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const b = await benchNats();
  const out = join(REPO, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'nats.json'), JSON.stringify({ date: new Date().toISOString(), ...b }, null, 2) + '\n');
  writeFileSync(join(out, 'nats.md'), natsMarkdown(b));
  process.stdout.write(natsMarkdown(b));
}
