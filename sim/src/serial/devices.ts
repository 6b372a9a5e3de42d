/**
 * Virtual serial devices (docs/serial-protocol.md), for tests and demos over a socat pty
 * pair: a sensor that streams a capture as data-frame packets, and a sorter that takes
 * trigger commands, acknowledges each and records its arrival (JSON lines). Both keep their
 * line open through the host's SerialLine (a pty that vanishes is reopened when it is back).
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { readCapture, type Capture } from '../../../host/src/capture/arrow-capture.js';
import { encodePacket, PacketType, type PacketView } from '../../../host/src/link/packet.js';
import { AckStatus, DeviceState, encodeAck, encodeDataFrame, encodeHeartbeat, encodeStatus, FrameKind, readTrigger } from '../../../host/src/link/payloads.js';
import { LinkReceiver } from '../../../host/src/link/receiver.js';
import { SerialLine, serialLineSchema } from '../../../host/src/link/serial-link.js';
import { slipEncode } from '../../../host/src/link/slip.js';
import { realTimers } from '../../../host/src/sources/source.js';

/** The data-frame packet (unframed) of capture frame `sent % count`, frame seq `sent`, link seq `seq`. */
export function captureFramePacket(cap: Capture, sent: number, seq: number): Uint8Array {
  const i = sent % cap.count;
  return encodePacket(PacketType.data, seq, encodeDataFrame({ kind: FrameKind.frame, frameSeq: sent, sensorNs: Math.round(performance.now() * 1e6), label: cap.labels[i] }, cap.frames.subarray(cap.offsets[i], cap.offsets[i + 1])));
}

/** Options of `hairtrigger sim-sensor`. */
export interface SimSensorOptions {
  device: string;
  capture: string;
  rateHz: number;
  /** Frames to send in all (the capture loops); default one pass. */
  frames?: number;
  /** Flip one byte in the packet of this frame index (a corrupted byte on the line). */
  corruptFrame?: number;
  baudRate?: number;
  /** Keeps the line open after the last frame until this settles (a pty closed with bytes the
   * other side has not read yet may lose them; a test holds it open until the host has them all). */
  hold?: Promise<void>;
}

/** Streams a capture over a serial line; resolves when every frame was sent. */
export async function runSimSensor(o: SimSensorOptions, log: (line: string) => void): Promise<{ sent: number }> {
  const cap = readCapture(o.capture);
  const total = o.frames ?? cap.count;
  let seq = 0;
  let sent = 0;
  const line = new SerialLine(serialLineSchema.parse({ path: o.device, baudRate: o.baudRate, reconnectMinMs: 50, reconnectMaxMs: 500, heartbeatMs: 0, silenceMs: 0 }), { onData: () => {}, onOpen: () => line.write(frameOf(PacketType.status, encodeStatus({ state: DeviceState.streaming, queueDepth: 0, framesSent: sent, triggersDone: 0 }))), log }, realTimers);
  const frameOf = (type: number, payload: Uint8Array): Uint8Array => slipEncode(encodePacket(type, seq++, payload));
  line.start();
  const periodMs = 1000 / o.rateHz;
  const t0 = performance.now();
  let lastBeat = 0;
  while (sent < total) {
    const due = t0 + sent * periodMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (!line.isOpen) {
      await new Promise((r) => setTimeout(r, 10)); // the device is unplugged: hold the frame
      continue;
    }
    const bytes = slipEncode(captureFramePacket(cap, sent, seq++));
    if (sent === o.corruptFrame) bytes[bytes.length >> 1] ^= 0x5a;
    if (!line.write(bytes)) continue;
    sent++;
    if (performance.now() - lastBeat > 1000) {
      lastBeat = performance.now();
      line.write(frameOf(PacketType.heartbeat, encodeHeartbeat(lastBeat, seq)));
    }
  }
  // Let the last bytes leave the process, then the pty (bounded: a vanished device holds them).
  for (let waited = 0; line.writableLength > 0 && waited < 30_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 200));
  log(`sim-sensor: ${sent} frames sent to ${o.device}`);
  if (o.hold !== undefined) await o.hold;
  await line.stop();
  return { sent };
}

/** Options of `hairtrigger sim-sorter`. */
export interface SimSorterOptions {
  device: string;
  /** JSON lines of the trigger commands acted on: frameSeq, classIndex, score, id, linkSeq, arrivalNs. */
  out: string;
  baudRate?: number;
}

/** Receives trigger commands until `stop()`; each new sequence number is recorded and acted on once. */
export function startSimSorter(o: SimSorterOptions, log: (line: string) => void): { stop(): Promise<void>; counts: () => Record<string, number> } {
  writeFileSync(o.out, '');
  let seq = 0;
  let done = 0;
  const seen = new Set<number>();
  const order: number[] = [];
  const reply = (type: number, payload: Uint8Array) => line.write(slipEncode(encodePacket(type, seq++, payload)));
  const rx = new LinkReceiver(`sorter ${o.device}`, 1024, (p: PacketView) => {
    if (p.type !== PacketType.trigger) return;
    if (seen.has(p.seq)) return void reply(PacketType.ack, encodeAck(p.seq, p.type, AckStatus.duplicate));
    const t = readTrigger(p, o.device);
    const arrivalNs = Number(process.hrtime.bigint());
    appendFileSync(o.out, JSON.stringify({ frameSeq: t.frameSeq, classIndex: t.classIndex, score: t.score, id: t.id?.toString() ?? null, linkSeq: p.seq, arrivalNs }) + '\n');
    // Remember the last 4,096 sequence numbers: a retransmission comes within a few of its first copy.
    seen.add(p.seq);
    order.push(p.seq);
    if (order.length > 4096) seen.delete(order.shift()!);
    done++;
    reply(PacketType.ack, encodeAck(p.seq, p.type, AckStatus.ok));
  }, (e) => log(e.message));
  const line = new SerialLine(serialLineSchema.parse({ path: o.device, baudRate: o.baudRate, reconnectMinMs: 50, reconnectMaxMs: 500, heartbeatMs: 0, silenceMs: 0 }), { onData: (c) => rx.push(c), onOpen: () => rx.resync(), log }, realTimers);
  line.start();
  const beat = setInterval(() => line.isOpen && reply(PacketType.heartbeat, encodeHeartbeat(performance.now(), seq)), 1000);
  return {
    counts: () => ({ ...rx.counts, triggers: done }),
    async stop() {
      clearInterval(beat);
      await line.stop();
    },
  };
}
