import { LinkError } from '../core/errors.js';
import { decodePacket, packetView, seqGap, type PacketView } from './packet.js';
import { SlipDecoder } from './slip.js';

/** What one receiving end of a link counted (monotonic). */
export interface LinkCounts {
  /** Packets that passed every check. */
  packets: number;
  /** Packets whose CRC did not match (one corrupted byte costs one packet). */
  crcErrors: number;
  /** SLIP frames with a bad escape. */
  framingErrors: number;
  /** SLIP frames that grew past the packet bound before their END. */
  overruns: number;
  /** Packets lost by sequence number (the sum of the gaps). */
  seqGaps: number;
  /** Packets that repeated the previous sequence number (a retransmission). */
  duplicates: number;
  /** Packets refused for any other reason: truncated, oversize, version, type, payload. */
  malformed: number;
  /** Times the link was (re)opened after it vanished. */
  reconnects: number;
}

/** Fresh counters. */
export function linkCounts(): LinkCounts {
  return { packets: 0, crcErrors: 0, framingErrors: 0, overruns: 0, seqGaps: 0, duplicates: 0, malformed: 0, reconnects: 0 };
}

/**
 * The receiving end of a link: SLIP frames (serial, `push`) or whole packets (a websocket
 * message, `packet`) in; checked packets out to `onPacket` (the view and its bytes are
 * valid during the call only), with the sequence numbers followed: a jump is a gap (counted
 * as the packets lost, reported once as a LinkError `gap`), a repeat is a duplicate
 * (`duplicate` true: a retransmission whose first copy arrived). Every refused packet is
 * counted by cause and reported to `onError`; nothing throws.
 */
export class LinkReceiver {
  readonly counts: LinkCounts = linkCounts();
  private readonly slip: SlipDecoder;
  private readonly view: PacketView = packetView();
  private lastSeq = -1;

  constructor(
    private readonly where: string,
    private readonly payloadBytesMax: number,
    private readonly onPacket: (p: PacketView, duplicate: boolean) => void,
    private readonly onError: (err: LinkError) => void,
  ) {
    this.slip = new SlipDecoder(payloadBytesMax + 12, (bytes, length) => this.packet(bytes, 0, length));
  }

  /** Feeds bytes of a SLIP-framed stream, cut anywhere. */
  push(chunk: Uint8Array): void {
    const before = this.slip.counts.framing + this.slip.counts.overruns;
    this.slip.push(chunk);
    this.counts.framingErrors = this.slip.counts.framing;
    this.counts.overruns = this.slip.counts.overruns;
    const dropped = this.counts.framingErrors + this.counts.overruns - before;
    if (dropped > 0) {
      const why = this.slip.takeLastDrop() ?? 'framing';
      this.onError(new LinkError(this.where, why === 'overrun' ? 'overrun' : 'framing', why === 'overrun' ? `${dropped} SLIP frame(s) longer than ${this.slip.packetBytesMax} bytes dropped (a lost END or noise)` : `${dropped} SLIP frame(s) with an invalid escape dropped`));
    }
  }

  /** Checks one whole packet (a websocket message); returns whether it was accepted. */
  packet(bytes: Uint8Array, offset = 0, length = bytes.length): boolean {
    let p: PacketView;
    try {
      p = decodePacket(bytes, offset, length, this.payloadBytesMax, this.where, this.view);
    } catch (err) {
      if (!(err instanceof LinkError)) throw err;
      if (err.reason === 'crc') this.counts.crcErrors++;
      else this.counts.malformed++;
      this.onError(err);
      return false;
    }
    this.counts.packets++;
    const duplicate = this.followSeq(p.seq);
    this.onPacket(p, duplicate);
    return true;
  }

  /** The line was reopened: the next packet starts a new sequence, a partial frame is forgotten. */
  resync(): void {
    this.lastSeq = -1;
    this.slip.reset();
  }

  private followSeq(seq: number): boolean {
    const last = this.lastSeq;
    this.lastSeq = seq;
    if (last < 0) return false;
    if (seq === last) {
      this.counts.duplicates++;
      return true;
    }
    const lost = seqGap((last + 1) & 0xffff, seq);
    if (lost > 0) {
      this.counts.seqGaps += lost;
      this.onError(new LinkError(this.where, 'gap', `${lost} packet(s) lost before seq ${seq} (last was ${last})`));
    }
    return false;
  }
}
