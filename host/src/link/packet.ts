/**
 * The packet layout of the serial link and the websocket ingest (docs/serial-protocol.md):
 *
 *   version u8 | type u8 | seq u16 | length u32 | payload (length bytes) | crc32 u32
 *
 * little-endian; the CRC is CRC-32/ISO-HDLC (the zlib/Ethernet CRC: poly 0x04C11DB7,
 * init 0xFFFFFFFF, reflected in and out, xorout 0xFFFFFFFF, check 0xCBF43926) over the
 * header and payload, computed by the npm `crc` package. On the serial link every packet is
 * SLIP-framed (link/slip.ts); on a websocket a binary message is one packet.
 */
import crc32 from 'crc/calculators/crc32';
import { LinkError } from '../core/errors.js';

export const LINK_VERSION = 1;
export const HEADER_BYTES = 8;
export const CRC_BYTES = 4;
/** Bytes a packet adds around its payload. */
export const PACKET_OVERHEAD_BYTES = HEADER_BYTES + CRC_BYTES;

/** Packet types (the `type` byte). */
export const PacketType = {
  data: 0x01,
  trigger: 0x02,
  ack: 0x03,
  heartbeat: 0x04,
  status: 0x05,
  error: 0x06,
} as const;
export type PacketTypeName = keyof typeof PacketType;
const TYPE_NAMES: Record<number, PacketTypeName> = Object.fromEntries(Object.entries(PacketType).map(([k, v]) => [v, k])) as Record<number, PacketTypeName>;

/** The name of a type byte, or null for one this version does not define. */
export function packetTypeName(type: number): PacketTypeName | null {
  return TYPE_NAMES[type] ?? null;
}

/** A decoded packet: its header and where its payload lies in the caller's buffer (no copy). */
export interface PacketView {
  version: number;
  type: number;
  seq: number;
  bytes: Uint8Array;
  payloadOffset: number;
  payloadLength: number;
}

/** A fresh view to decode into (one per decoder: decoding writes it, never allocates one). */
export function packetView(): PacketView {
  return { version: 0, type: 0, seq: 0, bytes: new Uint8Array(0), payloadOffset: 0, payloadLength: 0 };
}

/** CRC-32/ISO-HDLC of `bytes[from, to)`. */
export function linkCrc(bytes: Uint8Array, from = 0, to = bytes.length): number {
  // No second argument: the calculator starts from init 0xFFFFFFFF only then (0 would start from 0).
  return crc32(bytes.subarray(from, to)) >>> 0;
}

/**
 * Builds one packet (header, a copy of `payload`, CRC). `seq` is taken modulo 2^16. Off the
 * hot path: senders (the serial sink, the virtual devices, tests) allocate.
 */
export function encodePacket(type: number, seq: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(PACKET_OVERHEAD_BYTES + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, LINK_VERSION);
  dv.setUint8(1, type);
  dv.setUint16(2, seq & 0xffff, true);
  dv.setUint32(4, payload.length, true);
  out.set(payload, HEADER_BYTES);
  dv.setUint32(HEADER_BYTES + payload.length, linkCrc(out, 0, HEADER_BYTES + payload.length), true);
  return out;
}

/**
 * Checks one whole packet in `bytes[offset, offset + length)` (a SLIP frame or a websocket
 * message: its length is known) and writes its header into `out` (the payload stays in
 * `bytes`). The CRC is the frame's last four bytes and is checked first, so a corrupted
 * byte anywhere, the length field included, is a `crc` error. Throws a `LinkError` naming
 * `where`, the packet's offset and the field at fault: `oversize` (longer than a packet of
 * `payloadBytesMax`), `truncated` (shorter than a header and CRC), `crc`, `length` (the
 * length field disagrees with the frame), `version`, `type`.
 */
export function decodePacket(bytes: Uint8Array, offset: number, length: number, payloadBytesMax: number, where: string, out: PacketView): PacketView {
  if (length > payloadBytesMax + PACKET_OVERHEAD_BYTES) throw new LinkError(where, 'oversize', `packet of ${length} bytes at byte ${offset}; a payload is at most ${payloadBytesMax} bytes (${payloadBytesMax + PACKET_OVERHEAD_BYTES} with header and CRC)`);
  if (length < PACKET_OVERHEAD_BYTES) throw new LinkError(where, 'truncated', `packet of ${length} bytes at byte ${offset} is shorter than a header and CRC (${PACKET_OVERHEAD_BYTES} bytes)`);
  const crcAt = offset + length - CRC_BYTES;
  const crc = readU32(bytes, crcAt);
  const computed = linkCrc(bytes, offset, crcAt);
  if (crc !== computed) throw new LinkError(where, 'crc', `packet of ${length} bytes at byte ${offset}: CRC 0x${hex32(crc)} in the packet, 0x${hex32(computed)} computed`);
  const payloadLength = readU32(bytes, offset + 4);
  if (payloadLength !== length - PACKET_OVERHEAD_BYTES) throw new LinkError(where, 'length', `packet at byte ${offset} has ${length - PACKET_OVERHEAD_BYTES} payload bytes; its length field says ${payloadLength}`);
  if (bytes[offset] !== LINK_VERSION) throw new LinkError(where, 'version', `packet at byte ${offset} has version ${bytes[offset]}; this host speaks ${LINK_VERSION}`);
  if (packetTypeName(bytes[offset + 1]) === null) throw new LinkError(where, 'type', `packet at byte ${offset} has unknown type 0x${bytes[offset + 1].toString(16)}`);
  out.version = bytes[offset];
  out.type = bytes[offset + 1];
  out.seq = bytes[offset + 2] | (bytes[offset + 3] << 8);
  out.bytes = bytes;
  out.payloadOffset = offset + HEADER_BYTES;
  out.payloadLength = payloadLength;
  return out;
}

/** Reads an unsigned 32-bit little-endian integer (no DataView: none is allocated per packet). */
export function readU32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** Reads an unsigned 64-bit little-endian integer as a number (exact below 2^53). */
export function readU64(b: Uint8Array, at: number): number {
  return readU32(b, at + 4) * 4294967296 + readU32(b, at);
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** How many packets were lost between `expected` and `got` (16-bit sequence numbers, wrapping). */
export function seqGap(expected: number, got: number): number {
  return (got - expected) & 0xffff;
}
