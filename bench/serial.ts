// Link transports (`node build/bench/serial.js`, and part of `make bench` through run.ts):
// - serial: the daemon (`hairtrigger run`, cells-lymphocyte student on sim, every frame a
//   trigger) between two socat pty pairs; this process is the sensor and the sorter. Round
//   trip: a data frame written on the sensor's pty to its trigger command read on the
//   sorter's, one frame in flight at a time (p50/p99); frames/s: frames written back to back,
//   first write to last trigger command, at most 256 frames in flight.
// - ws: the same daemon with the websocket ingest; one client pushes frames as fast as its
//   socket takes them; frames/s: frames classified over the time from the first send to the
//   snapshot that counts every frame classified or dropped (a snapshot is up to 250 ms old).
// Needs socat and `make build`. BENCH_LINK_FRAMES sets the frames of the throughput runs.
// Alone it writes bench/results/links.{json,md}; `make bench` puts the runs in latest.json.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import WebSocket from 'ws';
import { readCapture } from '../host/src/capture/arrow-capture.js';
import { encodePacket, PacketType } from '../host/src/link/packet.js';
import { AckStatus, encodeAck, readTrigger } from '../host/src/link/payloads.js';
import { LinkReceiver } from '../host/src/link/receiver.js';
import { slipEncode } from '../host/src/link/slip.js';
import { captureFramePacket } from '../sim/src/serial/devices.js';
import { cli, freePort, linkDaemonConfig, ptyPair, stop, stopAll, until } from '../sim/src/serial/rig.js';

const REPO = join(import.meta.dirname, '..', '..');
const CAPTURE = join(REPO, 'sim', 'recordings', 'cells-lymphocyte-1k.arrows');
const FRAMES = Number(process.env.BENCH_LINK_FRAMES ?? 20_000);
const ROUND_TRIPS = 2_000;
/** Serial frames in flight at most in the throughput run. */
const WINDOW = 256;
/** Every class a target at threshold 0: every frame is a trigger, so every frame has a round trip. */
const EVERY_FRAME = { targets: '[B, T4, T8]', threshold: 0 };

/** One transport run, as bench/results/latest.json carries it. */
export interface LinkRunResult {
  source: 'serial' | 'ws';
  pipeline: string;
  backend: string;
  frames: number;
  fps: number;
  roundTripUs?: { p50: number; p99: number; samples: number };
  /** ws: frames the daemon's live queue dropped (the client sent faster than it classifies). */
  dropped?: number;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] * 10) / 10;
}

function openPort(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const p = new SerialPort({ path, baudRate: 921_600 }, (err) => (err ? reject(err) : resolve(p)));
  });
}

/** The serial run: round trips, then throughput. */
export async function benchSerial(): Promise<LinkRunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ht-bench-serial-'));
  const [sensor, sensorDev, sorter, sorterDev] = ['sensor', 'sensor-dev', 'sorter', 'sorter-dev'].map((n) => join(dir, n));
  await ptyPair(sensor, sensorDev);
  await ptyPair(sorter, sorterDev);
  const port = await freePort();
  const cfg = linkDaemonConfig(dir, `kind: serial, path: ${sensor}, heartbeatMs: 0, silenceMs: 0`, [`serial: { path: ${sorter}, ackTimeoutMs: 200, sendsMax: 10, heartbeatMs: 0, silenceMs: 0 }`], port, EVERY_FRAME);
  const daemon = cli(['run', '--config', cfg]);
  try {
    await until(() => /sensor open/.test(daemon.err()) && /sorter open/.test(daemon.err()), 'the daemon to open both lines');
    const [out, back] = [await openPort(sensorDev), await openPort(sorterDev)];
    const cap = readCapture(CAPTURE);
    const arrived = new Map<number, number>();
    let waiting: ((seq: number) => void) | null = null;
    let ackSeq = 0;
    const rx = new LinkReceiver('bench sorter', 1024, (p) => {
      if (p.type !== PacketType.trigger) return;
      const t = readTrigger(p, 'bench');
      arrived.set(t.frameSeq, performance.now());
      back.write(Buffer.from(slipEncode(ackPacket(p.seq, ackSeq++))));
      waiting?.(t.frameSeq);
    }, () => {});
    back.on('data', (c: Buffer) => rx.push(c));
    const rttUs: number[] = [];
    let seq = 0;
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const got = new Promise<number>((r) => (waiting = r));
      const t0 = performance.now();
      out.write(Buffer.from(slipEncode(captureFramePacket(cap, i, seq++))));
      await got;
      rttUs.push((arrived.get(i)! - t0) * 1000);
    }
    waiting = null;
    // Throughput with at most WINDOW frames in flight (the daemon's live-sensor queue drops
    // what does not fit; a window keeps every frame).
    const first = ROUND_TRIPS;
    const t0 = performance.now();
    for (let i = first; i < first + FRAMES; i++) {
      while (i - first >= WINDOW && !arrived.has(i - WINDOW)) await new Promise<number>((r) => (waiting = r));
      out.write(Buffer.from(slipEncode(captureFramePacket(cap, i, seq++))));
    }
    await until(() => arrived.has(first + FRAMES - 1), 'the last trigger command', 600_000);
    const fps = Math.round(FRAMES / ((arrived.get(first + FRAMES - 1)! - t0) / 1000));
    await Promise.all([out, back].map((p) => new Promise((r) => p.close(r))));
    return { source: 'serial', pipeline: 'cells-lymphocyte', backend: 'sim', frames: FRAMES, fps, roundTripUs: { p50: quantile(rttUs, 0.5), p99: quantile(rttUs, 0.99), samples: rttUs.length } };
  } finally {
    await stop(daemon);
    stopAll();
  }
}

function ackPacket(ackedSeq: number, seq: number): Uint8Array {
  return encodePacket(PacketType.ack, seq, encodeAck(ackedSeq, PacketType.trigger, AckStatus.ok));
}

/** The websocket run: one client, frames/s into the daemon. */
export async function benchWs(): Promise<LinkRunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ht-bench-ws-'));
  const [ingestPort, port] = [await freePort(), await freePort()];
  const token = 'bench-token-0123456789';
  const cfg = linkDaemonConfig(dir, `kind: ws, listen: 127.0.0.1:${ingestPort}, token: ${token}, ratePerClientHz: 10000000, rateBurst: 1000000`, [], port, EVERY_FRAME);
  const daemon = cli(['run', '--config', cfg]);
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${ingestPort}/`).then((r) => r.status).catch(() => 0)) === 426, 'the ingest to listen');
    const cap = readCapture(CAPTURE);
    const ws = new WebSocket(`ws://127.0.0.1:${ingestPort}/`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((r) => ws.once('open', r));
    const packets = Array.from({ length: cap.count }, (_, i) => captureFramePacket(cap, i, i));
    const t0 = performance.now();
    for (let i = 0; i < FRAMES; i++) {
      ws.send(packets[i % cap.count]);
      if (ws.bufferedAmount > 4 << 20) await new Promise((r) => setTimeout(r, 1)); // the client's own backpressure
    }
    // Done when every frame was classified or dropped by the live queue (drop-newest), as the
    // snapshot (published every 250 ms) counts them.
    let frames = 0;
    let dropped = 0;
    await until(async () => {
      const snap = (await (await fetch(`http://127.0.0.1:${port}/api/snapshot`)).json()) as { frames: number; transport: Record<string, Record<string, number>> };
      frames = snap.frames;
      dropped = snap.transport[`ws 127.0.0.1:${ingestPort}`]?.framesDropped ?? 0;
      return frames + dropped >= FRAMES;
    }, 'every frame classified or dropped', 600_000);
    const fps = Math.round(frames / ((performance.now() - t0) / 1000));
    ws.close();
    return { source: 'ws', pipeline: 'cells-lymphocyte', backend: 'sim', frames, fps, dropped };
  } finally {
    await stop(daemon);
    stopAll();
  }
}

/** Both runs, in this order. */
export async function benchLinks(): Promise<LinkRunResult[]> {
  return [await benchSerial(), await benchWs()];
}

/** The runs as a markdown table. */
export function linksMarkdown(runs: readonly LinkRunResult[]): string {
  const rows = runs.map((r) => `| ${r.source} | ${r.pipeline} | ${r.backend} | ${r.frames}${r.dropped ? ` (${r.dropped} dropped)` : ''} | ${r.fps} | ${r.roundTripUs ? `${r.roundTripUs.p50} / ${r.roundTripUs.p99} (${r.roundTripUs.samples})` : '—'} |`);
  return ['', '## Link transports', '', '| source | pipeline | backend | frames | frames/s | round trip p50 / p99 us (samples) |', '| --- | --- | --- | --- | --- | --- |', ...rows, ''].join('\n');
}

if (import.meta.filename === process.argv[1]) {
  const runs = await benchLinks();
  const os = await import('node:os');
  const meta = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadAvg1m: os.loadavg()[0] };
  writeFileSync(join(REPO, 'bench', 'results', 'links.json'), JSON.stringify({ meta, links: runs }, null, 2) + '\n');
  const md = `# Link transports (node build/bench/serial.js, ${meta.date}, load average ${meta.loadAvg1m.toFixed(1)} on ${meta.cpus} cores)\n` + linksMarkdown(runs);
  writeFileSync(join(REPO, 'bench', 'results', 'links.md'), md);
  process.stdout.write(md);
}
