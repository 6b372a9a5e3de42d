import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import { encodePacket, PacketType } from '../../host/src/link/packet.js';
import { encodeHeartbeat } from '../../host/src/link/payloads.js';
import { captureFramePacket } from '../../sim/src/serial/devices.js';
import { REPO, tempDir } from '../support/fixtures.js';
import { cli, daemonTriggers, freePort, linkDaemonConfig, stop, stopAll, until } from '../../sim/src/serial/rig.js';

const CAPTURE = join(REPO, 'sim', 'recordings', 'cells-lymphocyte-1k.arrows');
const TOKEN = 'a-test-token-0123456789';

afterEach(stopAll);

/** Opens a client; resolves once open (or with the close code if the server closed it first). */
function connect(port: number, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers });
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  ws.on('error', () => {});
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
  });
}

function send(ws: WebSocket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => ws.send(bytes, { binary: true }, (err) => (err ? reject(err) : resolve())));
}

interface Snapshot {
  atMs: number;
  frames: number;
  transport: Record<string, Record<string, number>>;
}

describe('websocket ingest (real daemon, real ws clients)', () => {
  it('takes authenticated clients\' packets and closes bad token, bad frame, oversize and over-rate clients with their codes, counted per client', async () => {
    const dir = tempDir('ws-ingest');
    const [ingestPort, port] = [await freePort(), await freePort()];
    const cfgPath = linkDaemonConfig(dir, `kind: ws, listen: 127.0.0.1:${ingestPort}, token: ${TOKEN}, ratePerClientHz: 100, rateBurst: 500, authTimeoutMs: 2000, payloadBytesMax: 4096`, [], port);
    const daemon = cli(['run', '--config', cfgPath]);
    await until(() => /pipeline cells-lymphocyte/.test(daemon.err()), 'the daemon to start');
    const cap = readCapture(CAPTURE);
    const snapshot = async (): Promise<Snapshot> => (await (await fetch(`http://127.0.0.1:${port}/api/snapshot`)).json()) as Snapshot;
    await until(async () => (await fetch(`http://127.0.0.1:${ingestPort}/`).then((r) => r.status).catch(() => 0)) === 426, 'the ingest to listen');

    // A client with the header token: 400 frames (under the burst: never rate-limited, however slow the machine).
    const good = await connect(ingestPort, { authorization: `Bearer ${TOKEN}` });
    for (let i = 0; i < 400; i++) await send(good.ws, captureFramePacket(cap, i, i));
    // A client that sends the token as its first message: 50 frames.
    const second = await connect(ingestPort);
    second.ws.send(TOKEN);
    for (let i = 0; i < 50; i++) await send(second.ws, captureFramePacket(cap, 1000 + i, i));
    // A wrong token; and one that never sends one.
    const bad = await connect(ingestPort, { authorization: 'Bearer not-the-token-at-all' });
    const silent = await connect(ingestPort);
    // One good frame, then one with a flipped byte.
    const corrupt = await connect(ingestPort, { authorization: `Bearer ${TOKEN}` });
    await send(corrupt.ws, captureFramePacket(cap, 2000, 0));
    const broken = captureFramePacket(cap, 2001, 1);
    broken[100] ^= 1;
    await send(corrupt.ws, broken);
    // A message past the packet bound.
    const big = await connect(ingestPort, { authorization: `Bearer ${TOKEN}` });
    big.ws.send(new Uint8Array(4096 + 13));
    // Far over the rate: 5,000 heartbeats at once (the bucket holds 500 and refills 100 a second:
    // only a server taking 45 s to read them would not see the rate exceeded).
    const flood = await connect(ingestPort, { authorization: `Bearer ${TOKEN}` });
    for (let i = 0; i < 5000; i++) flood.ws.send(encodePacket(PacketType.heartbeat, i, encodeHeartbeat(i, i)));

    expect((await bad.closed).code).toBe(4001);
    expect(await silent.closed).toEqual({ code: 4001, reason: 'no token within 2000 ms' });
    expect((await corrupt.closed).code).toBe(4002);
    expect((await big.closed).code).toBe(1009);
    expect(await flood.closed).toEqual({ code: 4003, reason: 'rate exceeded' });
    // A snapshot built after every close (they are published every 250 ms).
    const closedAtMs = Date.now();
    let snap = await snapshot();
    await until(async () => (snap = await snapshot()).frames === 451 && snap.atMs > closedAtMs, 'the 451 good frames');
    const byClient = (n: number) => Object.entries(snap.transport).find(([k]) => k.startsWith(`ws 127.0.0.1:${ingestPort} client ${n} `))![1];
    expect(byClient(1)).toMatchObject({ framesOffered: 400, crcErrors: 0, rateExceeded: 0 });
    expect(byClient(2)).toMatchObject({ framesOffered: 50, badToken: 0 });
    expect(byClient(3)).toMatchObject({ badToken: 1, framesOffered: 0 });
    expect(byClient(4)).toMatchObject({ badToken: 1 });
    expect(byClient(5)).toMatchObject({ framesOffered: 1, crcErrors: 1 });
    expect(byClient(6)).toMatchObject({ oversize: 1 });
    expect(byClient(7).rateExceeded).toBe(1);
    good.ws.close();
    second.ws.close();
    expect(await stop(daemon)).toBe(0);
    expect(daemonTriggers(dir).length).toBeGreaterThan(0);
  }, 180_000);
});
