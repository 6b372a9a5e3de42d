/**
 * The payloads of each packet type (docs/serial-protocol.md "Payloads"), little-endian.
 * Encoders allocate (senders are off the hot path); the data-frame reader writes a
 * preallocated head and leaves the frame's bytes where they are.
 */
import { LinkError } from '../core/errors.js';
import { readU32, readU64, type PacketView } from './packet.js';

/** What a data frame carries (the `kind` byte): the modality's frame format. */
export const FrameKind = {
  /** Fixed-size frame bytes in the stream's dtype (a cells crop, a feature vector). */
  frame: 1,
  /** One Confluent-framed Avro alert message (alerts). */
  alert: 2,
  /** A chunk of s16le mono PCM (audio). */
  pcm: 3,
} as const;
export type FrameKindName = keyof typeof FrameKind;

export const DATA_HEAD_BYTES = 24;
export const TRIGGER_BYTES = 28;
export const ACK_BYTES = 4;
export const HEARTBEAT_BYTES = 8;
export const STATUS_BYTES = 12;
export const ERROR_HEAD_BYTES = 4;

const FLAG_ID = 1;
const FLAG_LABEL = 2;
const FLAG_SENSOR_TIME = 4;

/** The head of a data frame; `idHi`/`idLo` are the 64-bit id's halves (exact above 2^53). */
export interface DataHead {
  kind: number;
  frameSeq: number;
  /** Sensor time in ns, NaN when the sensor gave none. */
  sensorNs: number;
  /** Ground truth class index, -1 when none. */
  label: number;
  idKnown: boolean;
  idHi: number;
  idLo: number;
  frameOffset: number;
  frameLength: number;
}

/** A fresh head to read data frames into. */
export function dataHead(): DataHead {
  return { kind: 0, frameSeq: 0, sensorNs: Number.NaN, label: -1, idKnown: false, idHi: 0, idLo: 0, frameOffset: 0, frameLength: 0 };
}

/** A data frame's payload: the head and a copy of `frame`. `id` is the sensor's 64-bit id. */
export function encodeDataFrame(h: { kind: number; frameSeq: number; sensorNs?: number; label?: number; id?: bigint }, frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(DATA_HEAD_BYTES + frame.length);
  const dv = new DataView(out.buffer);
  const flags = (h.id !== undefined ? FLAG_ID : 0) | (h.label !== undefined && h.label >= 0 ? FLAG_LABEL : 0) | (h.sensorNs !== undefined && Number.isFinite(h.sensorNs) ? FLAG_SENSOR_TIME : 0);
  dv.setUint8(0, h.kind);
  dv.setUint8(1, flags);
  dv.setInt16(2, flags & FLAG_LABEL ? h.label! : -1, true);
  dv.setUint32(4, h.frameSeq >>> 0, true);
  dv.setBigUint64(8, flags & FLAG_SENSOR_TIME ? BigInt(Math.round(h.sensorNs!)) : 0n, true);
  dv.setBigUint64(16, h.id ?? 0n, true);
  out.set(frame, DATA_HEAD_BYTES);
  return out;
}

/** Reads a data frame's head from a decoded packet into `out`; a payload shorter than the head is a LinkError. */
export function readDataFrame(p: PacketView, where: string, out: DataHead): DataHead {
  const b = p.bytes;
  const at = p.payloadOffset;
  if (p.payloadLength < DATA_HEAD_BYTES) throw new LinkError(where, 'payload', `data frame seq ${p.seq} has ${p.payloadLength} payload bytes; its head alone is ${DATA_HEAD_BYTES}`);
  const flags = b[at + 1];
  out.kind = b[at];
  out.label = flags & FLAG_LABEL ? (b[at + 2] | (b[at + 3] << 8)) << 16 >> 16 : -1;
  out.frameSeq = readU32(b, at + 4);
  out.sensorNs = flags & FLAG_SENSOR_TIME ? readU64(b, at + 8) : Number.NaN;
  out.idKnown = (flags & FLAG_ID) !== 0;
  out.idLo = readU32(b, at + 16);
  out.idHi = readU32(b, at + 20);
  out.frameOffset = at + DATA_HEAD_BYTES;
  out.frameLength = p.payloadLength - DATA_HEAD_BYTES;
  return out;
}

/** A trigger command: which frame (its sequence number and id), the class and score. */
export interface TriggerCommand {
  frameSeq: number;
  classIndex: number;
  score: number;
  sensorNs: number | null;
  id: bigint | null;
}

/** A trigger command's payload. */
export function encodeTrigger(t: TriggerCommand): Uint8Array {
  const out = new Uint8Array(TRIGGER_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, t.frameSeq >>> 0, true);
  dv.setUint8(4, t.classIndex);
  dv.setUint8(5, (t.id !== null ? FLAG_ID : 0) | (t.sensorNs !== null ? FLAG_SENSOR_TIME : 0));
  dv.setFloat32(8, t.score, true);
  dv.setBigUint64(12, t.sensorNs !== null ? BigInt(Math.round(t.sensorNs)) : 0n, true);
  dv.setBigUint64(20, t.id ?? 0n, true);
  return out;
}

/** Reads a trigger command (a device's side of the link; allocates). */
export function readTrigger(p: PacketView, where: string): TriggerCommand {
  need(p, TRIGGER_BYTES, 'trigger', where);
  const dv = new DataView(p.bytes.buffer, p.bytes.byteOffset + p.payloadOffset, TRIGGER_BYTES);
  const flags = dv.getUint8(5);
  return {
    frameSeq: dv.getUint32(0, true),
    classIndex: dv.getUint8(4),
    score: dv.getFloat32(8, true),
    sensorNs: flags & FLAG_SENSOR_TIME ? Number(dv.getBigUint64(12, true)) : null,
    id: flags & FLAG_ID ? dv.getBigUint64(20, true) : null,
  };
}

/** Ack status: done, a repeat of a command already done (not acted on again), refused. */
export const AckStatus = { ok: 0, duplicate: 1, refused: 2 } as const;

/** An acknowledgement of the packet `ackedSeq` of type `ackedType`. */
export function encodeAck(ackedSeq: number, ackedType: number, status: number): Uint8Array {
  return Uint8Array.of(ackedSeq & 0xff, (ackedSeq >> 8) & 0xff, ackedType, status);
}

/** Reads an ack: the acknowledged sequence number, its packet type and the status. */
export function readAck(p: PacketView, where: string): { ackedSeq: number; ackedType: number; status: number } {
  need(p, ACK_BYTES, 'ack', where);
  const b = p.bytes;
  const at = p.payloadOffset;
  return { ackedSeq: b[at] | (b[at + 1] << 8), ackedType: b[at + 2], status: b[at + 3] };
}

/** A heartbeat: the sender's uptime and packets sent so far (both wrap at 2^32). */
export function encodeHeartbeat(uptimeMs: number, packetsSent: number): Uint8Array {
  const out = new Uint8Array(HEARTBEAT_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, uptimeMs >>> 0, true);
  dv.setUint32(4, packetsSent >>> 0, true);
  return out;
}

/** Device states of a status packet. */
export const DeviceState = { idle: 0, streaming: 1, fault: 2 } as const;

/** A device status: state, its send queue's depth, frames sent and triggers done. */
export function encodeStatus(s: { state: number; queueDepth: number; framesSent: number; triggersDone: number }): Uint8Array {
  const out = new Uint8Array(STATUS_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, s.state);
  dv.setUint16(2, Math.min(s.queueDepth, 0xffff), true);
  dv.setUint32(4, s.framesSent >>> 0, true);
  dv.setUint32(8, s.triggersDone >>> 0, true);
  return out;
}

/** Error codes of an error packet. */
export const LinkErrorCode = { crc: 1, framing: 2, overrun: 3, gap: 4, unsupported: 5 } as const;

/** An error report: its code, the sequence number it refers to, and a UTF-8 message. */
export function encodeErrorReport(code: number, refSeq: number, message: string): Uint8Array {
  const text = new TextEncoder().encode(message);
  const out = new Uint8Array(ERROR_HEAD_BYTES + text.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, code, true);
  dv.setUint16(2, refSeq & 0xffff, true);
  out.set(text, ERROR_HEAD_BYTES);
  return out;
}

/** Reads an error report. */
export function readErrorReport(p: PacketView, where: string): { code: number; refSeq: number; message: string } {
  need(p, ERROR_HEAD_BYTES, 'error', where);
  const b = p.bytes;
  const at = p.payloadOffset;
  return { code: b[at] | (b[at + 1] << 8), refSeq: b[at + 2] | (b[at + 3] << 8), message: new TextDecoder().decode(b.subarray(at + ERROR_HEAD_BYTES, at + p.payloadLength)) };
}

function need(p: PacketView, bytes: number, what: string, where: string): void {
  if (p.payloadLength < bytes) throw new LinkError(where, 'payload', `${what} packet seq ${p.seq} has ${p.payloadLength} payload bytes; it needs ${bytes}`);
}
