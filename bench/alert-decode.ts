// Decode time (CPU) per alert packet: the real ZTF 4.02 and Rubin 9.0 packets of ../shared/data/alerts,
// each file's bytes already in memory, read ROUNDS times over (after one warm-up round).
// Run: `node build/bench/alert-decode.js` after `make build` (ALERT_BENCH_ROUNDS, default 20).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeConfluent, frameConfluent } from '../host/src/modalities/alerts/avro/confluent.js';
import { readAlertBuffer } from '../host/src/modalities/alerts/avro/container.js';
import { SchemaRegistry } from '../host/src/modalities/alerts/avro/registry.js';

const ALERTS = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'alerts');
const ROUNDS = Number(process.env.ALERT_BENCH_ROUNDS ?? 20);

function load(folder: string): { name: string; buf: Buffer }[] {
  const dir = join(ALERTS, folder);
  return readdirSync(dir).filter((f) => f.endsWith('.avro')).sort().map((f) => ({ name: join(dir, f), buf: readFileSync(join(dir, f)) }));
}

/** CPU time of this process, microseconds: on a shared 2-core VM, wall time mostly measures
 * the neighbours. */
function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Median over rounds of the CPU time per packet, microseconds, for `work` over every packet
 * (and the wall-clock median beside it). */
function measure(count: number, work: () => number): { usPerPacket: number; packetsPerS: number; wallUsPerPacket: number } {
  let sink = work(); // warm-up
  const per: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    const c0 = cpuUs();
    sink += work();
    per.push((cpuUs() - c0) / count);
    wall.push(((performance.now() - t0) * 1000) / count);
  }
  wall.sort((a, b) => a - b);
  per.sort((a, b) => a - b);
  const us = per[per.length >> 1];
  if (sink === -1) console.log('unreachable');
  return { usPerPacket: Number(us.toFixed(1)), packetsPerS: Math.round(1e6 / us), wallUsPerPacket: Number(wall[wall.length >> 1].toFixed(1)) };
}

function decodeAll(files: { name: string; buf: Buffer }[], points: boolean): () => number {
  return () => {
    let n = 0;
    for (const f of files) {
      for (const a of readAlertBuffer(f.buf, f.name).alerts) n += points ? a.points.count : 1;
    }
    return n;
  };
}

const ztf = load('ztf-4.02-2023-10');
const rubin = load('rubin-9.0-2025-09');
const registry = new SchemaRegistry();
registry.loadRubin(join(ALERTS, 'rubin-schemas'));
const sample = readAlertBuffer(readFileSync(join(ALERTS, 'rubin-schemas', '9', '0', 'sample_data', 'fakeAlert.avro')), 'sample').alerts[0];
const framed = Array.from({ length: 1000 }, () => frameConfluent(900, sample.bytes));

const results = {
  rounds: ROUNDS,
  ztf402: { packets: ztf.length, meanBytes: Math.round(ztf.reduce((s, f) => s + f.buf.length, 0) / ztf.length), decode: measure(ztf.length, decodeAll(ztf, false)), decodeAndPoints: measure(ztf.length, decodeAll(ztf, true)) },
  rubin90: { packets: rubin.length, meanBytes: Math.round(rubin.reduce((s, f) => s + f.buf.length, 0) / rubin.length), decode: measure(rubin.length, decodeAll(rubin, false)), decodeAndPoints: measure(rubin.length, decodeAll(rubin, true)) },
  rubinConfluent900: {
    packets: framed.length,
    decodeAndPoints: measure(framed.length, () => framed.reduce((n, m, i) => n + decodeConfluent(m, registry, 'bench', i).points.count, 0)),
  },
};
console.log(JSON.stringify(results, null, 2));
