import { crc32 as zlibCrc32 } from 'node:zlib';
import { SlipDecoder as LibSlipDecoder, SlipEncoder as LibSlipEncoder } from '@serialport/parser-slip-encoder';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinkError } from '../core/errors.js';
import { decodePacket, encodePacket, linkCrc, packetView, PacketType, PACKET_OVERHEAD_BYTES } from './packet.js';
import { dataHead, encodeDataFrame, encodeTrigger, readDataFrame, readTrigger } from './payloads.js';
import { LinkReceiver } from './receiver.js';
import { SlipDecoder, slipEncode } from './slip.js';

const TYPES = Object.values(PacketType);
const packetArb = fc.record({ type: fc.constantFrom(...TYPES), seq: fc.integer({ min: 0, max: 0xffff }), payload: fc.uint8Array({ maxLength: 300 }) });

/** The library's encoder, run to completion (the reference for our synchronous one). */
async function libEncode(packet: Uint8Array): Promise<Uint8Array> {
  const enc = new LibSlipEncoder({ bluetoothQuirk: true });
  const out: Buffer[] = [];
  enc.on('data', (b: Buffer) => out.push(b));
  enc.end(Buffer.from(packet));
  await new Promise((r) => enc.on('end', r));
  return Buffer.concat(out);
}

describe('link CRC', () => {
  it('is CRC-32/ISO-HDLC: the catalogue check value and zlib agree', () => {
    expect(linkCrc(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => linkCrc(b) === zlibCrc32(b)));
  });
});

describe('packets', () => {
  it('round-trip every type, sequence number and payload', () => {
    fc.assert(
      fc.property(packetArb, ({ type, seq, payload }) => {
        const bytes = encodePacket(type, seq, payload);
        const p = decodePacket(bytes, 0, bytes.length, 1024, 'test', packetView());
        expect([p.type, p.seq, p.payloadLength]).toEqual([type, seq, payload.length]);
        expect(bytes.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength)).toEqual(payload);
      }),
    );
  });

  it('rejects any one corrupted byte by its CRC', () => {
    fc.assert(
      fc.property(packetArb, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ type, seq, payload }, where, flip) => {
        const bytes = encodePacket(type, seq, payload);
        bytes[where % bytes.length] ^= flip;
        expect(() => decodePacket(bytes, 0, bytes.length, 1024, 'test', packetView())).toThrow(expect.objectContaining({ reason: 'crc' }));
      }),
    );
  });

  it('names truncated and oversize packets with where and the byte offset', () => {
    const bytes = encodePacket(PacketType.data, 7, new Uint8Array(100));
    for (let cut = 0; cut < PACKET_OVERHEAD_BYTES; cut++) {
      expect(() => decodePacket(bytes, 0, cut, 1024, '/dev/pts/9', packetView())).toThrow(/E_LINK at \/dev\/pts\/9: truncated: packet of \d+ bytes at byte 0/);
    }
    expect(() => decodePacket(bytes, 0, bytes.length, 99, 'ws client 1', packetView())).toThrow(/E_LINK at ws client 1: oversize: packet of 112 bytes at byte 0; a payload is at most 99/);
    // Cut anywhere past the header: the CRC no longer matches, the packet is refused.
    fc.assert(fc.property(fc.integer({ min: PACKET_OVERHEAD_BYTES, max: bytes.length - 1 }), (cut) => {
      expect(() => decodePacket(bytes, 0, cut, 1024, 'x', packetView())).toThrow(LinkError);
    }));
  });

  it('carries a data frame and a trigger command field for field (64-bit ids above 2^53)', () => {
    const id = 2n ** 60n + 12345n;
    const payload = encodeDataFrame({ kind: 2, frameSeq: 4_000_000_000, sensorNs: 1.7e18, label: 3, id }, Uint8Array.of(9, 8, 7));
    const p = decodePacket(encodePacket(PacketType.data, 1, payload), 0, payload.length + 12, 1024, 'x', packetView());
    const h = readDataFrame(p, 'x', dataHead());
    expect([h.kind, h.frameSeq, h.label, h.idKnown, BigInt(h.idHi) * 2n ** 32n + BigInt(h.idLo), h.frameLength]).toEqual([2, 4_000_000_000, 3, true, id, 3]);
    expect(h.sensorNs).toBe(Number(BigInt(1.7e18)));
    const t = { frameSeq: 17, classIndex: 2, score: 0.75, sensorNs: 123456789, id };
    const tp = encodePacket(PacketType.trigger, 2, encodeTrigger(t));
    expect(readTrigger(decodePacket(tp, 0, tp.length, 1024, 'x', packetView()), 'x')).toEqual(t);
  });
});

describe('SLIP', () => {
  it('encodes as the serialport SlipEncoder does (leading and trailing END)', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (b) => {
      expect(slipEncode(b)).toEqual(new Uint8Array(await libEncode(b)));
    }), { numRuns: 50 });
  });

  it('decodes what the serialport SlipDecoder decodes, with the stream cut anywhere', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 100 }), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), (packets, cuts) => {
        const stream = Buffer.concat(packets.map(slipEncode));
        const ours: Buffer[] = [];
        const dec = new SlipDecoder(100, (b, n) => ours.push(Buffer.from(b.subarray(0, n))));
        let at = 0;
        for (const c of [...cuts.map((c) => c % (stream.length + 1)).sort((a, b) => a - b), stream.length]) {
          dec.push(stream.subarray(at, Math.max(at, c)));
          at = Math.max(at, c);
        }
        const lib: Buffer[] = [];
        const ref = new LibSlipDecoder();
        ref.on('data', (b: Buffer) => lib.push(b));
        ref.write(stream);
        expect(ours).toEqual(lib);
        expect(ours).toEqual(packets.map((p) => Buffer.from(p)));
      }),
    );
  });

  it('counts an overrun and a bad escape, and recovers at the next END', () => {
    const got: number[] = [];
    const dec = new SlipDecoder(4, (b, n) => got.push(n));
    dec.push(Uint8Array.of(0xc0, 1, 2, 3, 4, 5, 6, 0xc0, 0xc0, 1, 0xdb, 0x01, 2, 0xc0, 0xc0, 1, 2, 0xc0));
    expect(dec.counts).toEqual({ framing: 1, overruns: 1 });
    expect(got).toEqual([2]);
  });
});

describe('link receiver', () => {
  it('one corrupted byte anywhere in a SLIP stream costs exactly one packet, counted', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 60 }), { minLength: 2, maxLength: 12 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (payloads, where, flip) => {
        const stream = Buffer.concat(payloads.map((p, i) => slipEncode(encodePacket(PacketType.data, i, p))));
        stream[where % stream.length] ^= flip;
        const seqs: number[] = [];
        const errors: LinkError[] = [];
        const rx = new LinkReceiver('test', 64, (p) => seqs.push(p.seq), (e) => errors.push(e));
        rx.push(stream);
        // The next packet's leading END: without it a corrupted final END leaves the last
        // packet unterminated (pending, not yet lost).
        rx.push(Uint8Array.of(0xc0));
        expect(seqs.length).toBe(payloads.length - 1);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        const c = rx.counts;
        expect(c.crcErrors + c.framingErrors + c.overruns + c.malformed).toBeGreaterThanOrEqual(1);
        expect(errors.length).toBeGreaterThanOrEqual(1);
      }),
    );
  });

  it('counts sequence gaps across the 16-bit wrap and flags a retransmission as a duplicate', () => {
    const dup: boolean[] = [];
    const rx = new LinkReceiver('test', 64, (_p, d) => dup.push(d), () => {});
    for (const seq of [65533, 65534, 65534, 1, 2]) rx.push(slipEncode(encodePacket(PacketType.heartbeat, seq)));
    expect(rx.counts.seqGaps).toBe(2); // 65535 and 0 lost
    expect(rx.counts.duplicates).toBe(1);
    expect(dup).toEqual([false, false, true, false, false]);
  });
});
