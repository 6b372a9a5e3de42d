import { encodePacket, PacketType } from './packet.js';
import { AckStatus, DeviceState, encodeAck, encodeDataFrame, encodeErrorReport, encodeHeartbeat, encodeStatus, encodeTrigger, FrameKind, LinkErrorCode } from './payloads.js';
import { slipEncode } from './slip.js';

/**
 * One packet of each type, as docs/serial-protocol.md prints them in hex (its test checks
 * the document against these and decodes them). The data frame's bytes include 0xC0 and
 * 0xDB so its SLIP form shows both escapes.
 */
export function protocolExamples(): Array<{ name: string; bytes: Uint8Array }> {
  const data = encodePacket(PacketType.data, 0, encodeDataFrame({ kind: FrameKind.frame, frameSeq: 7, sensorNs: 1_000_000, label: 0 }, Uint8Array.of(0x10, 0x20, 0xc0, 0xdb)));
  return [
    { name: 'data', bytes: data },
    { name: 'trigger', bytes: encodePacket(PacketType.trigger, 1, encodeTrigger({ frameSeq: 7, classIndex: 0, score: 0.875, sensorNs: 1_000_000, id: null })) },
    { name: 'ack', bytes: encodePacket(PacketType.ack, 0, encodeAck(1, PacketType.trigger, AckStatus.ok)) },
    { name: 'heartbeat', bytes: encodePacket(PacketType.heartbeat, 2, encodeHeartbeat(1000, 3)) },
    { name: 'status', bytes: encodePacket(PacketType.status, 1, encodeStatus({ state: DeviceState.streaming, queueDepth: 0, framesSent: 8, triggersDone: 0 })) },
    { name: 'error', bytes: encodePacket(PacketType.error, 3, encodeErrorReport(LinkErrorCode.crc, 5, 'crc')) },
    { name: 'data-slip', bytes: slipEncode(data) },
  ];
}

/** Bytes as the document writes them: two hex digits each, 16 a line. */
export function hexLines(bytes: Uint8Array): string {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) out.push([...bytes.subarray(i, i + 16)].map((b) => b.toString(16).padStart(2, '0')).join(' '));
  return out.join('\n');
}
