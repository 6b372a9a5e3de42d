import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { encodePacket, PacketType, type PacketView } from '../../../host/src/link/packet.js';
import { encodeTrigger, readAck } from '../../../host/src/link/payloads.js';
import { LinkReceiver } from '../../../host/src/link/receiver.js';
import { slipEncode } from '../../../host/src/link/slip.js';
import { tempDir } from '../../../test/support/fixtures.js';
import { startSimSorter } from './devices.js';
import { ptyPair, stopAll, until } from './rig.js';

afterEach(stopAll);

describe('virtual sorter', () => {
  it('acts on each trigger sequence number once: a retransmission is acknowledged as a duplicate and not recorded', async () => {
    const dir = tempDir('sorter');
    const [host, dev] = [join(dir, 'host'), join(dir, 'dev')];
    await ptyPair(host, dev);
    const out = join(dir, 'sorted.jsonl');
    const sorter = startSimSorter({ device: dev, out }, () => {});
    const port = await new Promise<SerialPort>((resolve, reject) => {
      const p = new SerialPort({ path: host, baudRate: 921_600 }, (err) => (err ? reject(err) : resolve(p)));
    });
    const acks: Array<[number, number]> = [];
    const rx = new LinkReceiver('host', 1024, (p: PacketView) => {
      if (p.type === PacketType.ack) acks.push([readAck(p, 'host').ackedSeq, readAck(p, 'host').status]);
    }, () => {});
    port.on('data', (c: Buffer) => rx.push(c));
    const cmd = (seq: number, frameSeq: number) => slipEncode(encodePacket(PacketType.trigger, seq, encodeTrigger({ frameSeq, classIndex: 0, score: 0.5, sensorNs: null, id: null })));
    // The sorter opens its end on its own schedule: resend the first command until it answers.
    await until(async () => {
      port.write(Buffer.from(cmd(0, 100)));
      await new Promise((r) => setTimeout(r, 50));
      return acks.length > 0;
    }, 'the sorter to answer');
    port.write(Buffer.from(cmd(0, 100))); // a retransmission
    port.write(Buffer.from(cmd(1, 101)));
    await until(() => acks.some(([s]) => s === 1), 'the ack of seq 1');
    expect(acks[0]).toEqual([0, 0]);
    expect(acks.filter(([s]) => s === 0).slice(1).every(([, status]) => status === 1)).toBe(true);
    expect(acks.find(([s]) => s === 1)).toEqual([1, 0]);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { frameSeq: number; linkSeq: number });
    expect(lines.map((l) => [l.frameSeq, l.linkSeq])).toEqual([[100, 0], [101, 1]]);
    await new Promise((r) => port.close(r));
    await sorter.stop();
  });
});
