import { SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { SinkError } from '../core/errors.js';
import { encodePacket, PacketType, type PacketView } from '../link/packet.js';
import { AckStatus, encodeAck, readTrigger, type TriggerCommand } from '../link/payloads.js';
import { LinkReceiver } from '../link/receiver.js';
import { slipEncode } from '../link/slip.js';
import type { TriggerEvent } from '../metrics/snapshot.js';
import { realTimers } from '../sources/source.js';
import { SerialSink, serialSinkSchema } from './serial-sink.js';

const Mock = SerialPortMock.binding;
afterEach(() => Mock.reset());

function trigger(seq: number, over: Partial<TriggerEvent> = {}): TriggerEvent {
  return { kind: 'trigger', run: 'r', stream: 's', seq, id: '1152921504606859191', classIndex: 1, class: 'T4', truthIndex: -1, truth: null, score: 0.8125, probs: [0.1, 0.8125, 0.0875], sensorNs: 5_000_000, streamMs: null, dueNs: 0, ingestNs: 0, e2eUs: 1, late: false, payload: {}, ...over };
}

async function until(cond: () => boolean): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > 30_000) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A sink on a mock device; `device()` is what the device side reads, `reply` what it sends back. */
async function rig(over: Record<string, unknown> = {}) {
  Mock.createPort('/dev/ttyMOCKS', { echo: false, record: true });
  let port: SerialPortMock | null = null;
  const errors: SinkError[] = [];
  const opts = serialSinkSchema.parse({ path: '/dev/ttyMOCKS', ackTimeoutMs: 20, heartbeatMs: 0, ...over });
  const sink = new SerialSink(opts, { runId: 'r', labels: ['B', 'T4', 'T8'], resolvePath: (p) => p, onError: (e) => errors.push(e) }, realTimers, (c) => (port = new SerialPortMock({ path: c.path, baudRate: c.baudRate, autoOpen: false })));
  await until(() => port?.isOpen === true);
  const got: Array<{ seq: number; cmd: TriggerCommand }> = [];
  const rx = new LinkReceiver('device', 1024, (p: PacketView) => p.type === PacketType.trigger && got.push({ seq: p.seq, cmd: readTrigger(p, 'device') }), () => {});
  let readUpTo = 0;
  const device = () => {
    const rec = (port!.port as unknown as { recording: Buffer }).recording;
    rx.push(rec.subarray(readUpTo));
    readUpTo = rec.length;
    return got;
  };
  const reply = (seq: number, ackSeq: number) => (port!.port as unknown as { emitData(b: Buffer): void }).emitData(Buffer.from(slipEncode(encodePacket(PacketType.ack, ackSeq, encodeAck(seq, PacketType.trigger, AckStatus.ok)))));
  return { sink, device, reply, errors };
}

describe('serial sink', () => {
  it('sends each trigger as a command, retransmits it with the same seq until acknowledged, and sends no missed records', async () => {
    const { sink, device, reply } = await rig();
    sink.write([trigger(41), trigger(42, { kind: 'missed' })]);
    await until(() => device().length >= 2); // sent, then sent again: no ack within 20 ms
    const [first, again] = device();
    expect(again.seq).toBe(first.seq);
    expect(first.cmd).toEqual({ frameSeq: 41, classIndex: 1, score: 0.8125, sensorNs: 5_000_000, id: 1152921504606859191n });
    reply(first.seq, 0);
    await sink.flush();
    expect(sink.counters()).toMatchObject({ accepted: 1, written: 1, dropped: 0 });
    expect(sink.retransmits).toBeGreaterThanOrEqual(1);
    await sink.close();
  });

  it('gives a command up after sendsMax sends, counted and reported', async () => {
    const { sink, device, errors } = await rig({ sendsMax: 2 });
    sink.write([trigger(7)]);
    await sink.flush();
    expect(device().map((d) => d.cmd.frameSeq)).toEqual([7, 7]);
    expect(sink.counters()).toMatchObject({ accepted: 1, written: 0, dropped: 1, errors: { E_SINK: 1 } });
    expect(errors[0].message).toMatch(/trigger command seq 0 not acknowledged after 2 sends 20 ms apart; given up/);
    await sink.close();
  });
});
