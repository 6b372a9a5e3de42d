/**
 * SLIP framing (RFC 1055) of the serial link: END 0xC0 ends a packet, ESC 0xDB escapes an
 * END (ESC ESC_END 0xDC) or an ESC (ESC ESC_ESC 0xDD); a sender also starts every packet
 * with END so the receiver drops line noise before it.
 *
 * Written here rather than taken from `@serialport/parser-slip-encoder` (which the tests
 * use as the reference, byte for byte): its SlipDecoder grows its buffer with one
 * `Buffer.concat` per byte (quadratic: 510 ms for one 64 KiB packet, measured), has no
 * bound (a line that never sends END grows memory without limit), and on an invalid escape
 * emits the partial packet and drops the byte silently; its SlipEncoder is a Transform
 * stream (asynchronous, one allocation per packet). This decoder reassembles across any
 * chunk boundaries into one preallocated buffer, bounds a packet, and counts what it drops.
 */
export const SLIP_END = 0xc0;
export const SLIP_ESC = 0xdb;
export const SLIP_ESC_END = 0xdc;
export const SLIP_ESC_ESC = 0xdd;

/** SLIP-encodes `packet` as END, the escaped bytes, END (the output of SlipEncoder with bluetoothQuirk). */
export function slipEncode(packet: Uint8Array): Uint8Array {
  let n = 2;
  for (let i = 0; i < packet.length; i++) n += packet[i] === SLIP_END || packet[i] === SLIP_ESC ? 2 : 1;
  const out = new Uint8Array(n);
  let j = 0;
  out[j++] = SLIP_END;
  for (let i = 0; i < packet.length; i++) {
    const b = packet[i];
    if (b === SLIP_END) {
      out[j++] = SLIP_ESC;
      out[j++] = SLIP_ESC_END;
    } else if (b === SLIP_ESC) {
      out[j++] = SLIP_ESC;
      out[j++] = SLIP_ESC_ESC;
    } else out[j++] = b;
  }
  out[j++] = SLIP_END;
  return out;
}

/** What a SLIP decoder dropped, by cause. */
export interface SlipCounts {
  /** Frames dropped for an ESC followed by anything but ESC_END or ESC_ESC. */
  framing: number;
  /** Frames dropped because they grew past the packet bound before their END (a lost END, noise). */
  overruns: number;
}

/**
 * Turns a byte stream (chunks cut anywhere, as serial `data` events come) into packets.
 * `onPacket(bytes, length)` gets the decoded packet in the decoder's own buffer, valid only
 * during the call. Empty frames (END END) are skipped. Never allocates after construction.
 */
export class SlipDecoder {
  readonly counts: SlipCounts = { framing: 0, overruns: 0 };
  private readonly buf: Uint8Array;
  private n = 0;
  private escaped = false;
  /** Dropping the rest of a bad frame, up to its END. */
  private discarding = false;
  private lastDrop: 'framing' | 'overrun' | null = null;

  constructor(
    readonly packetBytesMax: number,
    private readonly onPacket: (bytes: Uint8Array, length: number) => void,
  ) {
    this.buf = new Uint8Array(packetBytesMax);
  }

  /** Feeds one chunk of received bytes. */
  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      let b = chunk[i];
      if (b === SLIP_END) {
        const n = this.n;
        const keep = !this.discarding && !this.escaped;
        if (this.escaped && !this.discarding) this.drop('framing');
        this.reset();
        if (keep && n > 0) this.onPacket(this.buf, n);
        continue;
      }
      if (this.discarding) continue;
      if (this.escaped) {
        this.escaped = false;
        if (b === SLIP_ESC_END) b = SLIP_END;
        else if (b === SLIP_ESC_ESC) b = SLIP_ESC;
        else {
          this.drop('framing');
          continue;
        }
      } else if (b === SLIP_ESC) {
        this.escaped = true;
        continue;
      }
      if (this.n === this.buf.length) {
        this.drop('overrun');
        continue;
      }
      this.buf[this.n++] = b;
    }
  }

  /** Forgets a partial packet (the line was reopened). */
  reset(): void {
    this.n = 0;
    this.escaped = false;
    this.discarding = false;
  }

  /** What the last dropped frame was dropped for, once: for the caller's error message. */
  takeLastDrop(): 'framing' | 'overrun' | null {
    const d = this.lastDrop;
    this.lastDrop = null;
    return d;
  }

  private drop(why: 'framing' | 'overrun'): void {
    if (why === 'framing') this.counts.framing++;
    else this.counts.overruns++;
    this.lastDrop = why;
    this.discarding = true;
    this.n = 0;
  }
}
