import { closeSync, fdatasyncSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { SinkError } from '../core/errors.js';
import { frameIdString, type FrameSlot } from '../core/frame.js';
import { limits } from '../core/limits.js';
import type { AuxOutputs } from '../trigger/routers.js';

/** What a decision line is made of besides the slot. */
export interface DecisionNames {
  labels: readonly string[];
  aux: readonly AuxOutputs[];
  /** The modality's payload as fields (an alert's objectId). */
  describePayload(bytes: Uint8Array): Record<string, string | number>;
}

/**
 * One JSON line per decided frame (`--decisions`): `{"seq","id",<payload fields>,"class",
 * "score","probs","trigger",<extra model>: probs...,"late"}`, `id` the sensor's id as a
 * decimal string. The file is created new: one that exists is refused (SinkError), never
 * overwritten. Lines are gathered in memory and written on `flush` (the daemon's flush timer),
 * or at once when `limits.decisionBufferedBytesMax` is reached. Meant for replays and audits:
 * it formats JSON per frame, which the trigger logs avoid.
 */
export class DecisionLog {
  private readonly fd: number;
  private text = '';
  private closed = false;
  /** A write failed since the last `sync`: lines were lost, so nothing may be acknowledged. */
  private lostSinceSync = false;
  lines = 0;

  constructor(readonly path: string, private readonly names: DecisionNames, private readonly onError: (err: SinkError) => void) {
    try {
      this.fd = openSync(path, 'wx');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EEXIST' ? 'exists: a decisions file is never overwritten; choose a new path' : e.message;
      throw new SinkError(path, why, { cause: err });
    }
  }

  /** Adds the decision of `slot` (after the policy and the router). */
  record(slot: FrameSlot): void {
    const { labels, aux } = this.names;
    const line: Record<string, unknown> = { seq: slot.seq, id: frameIdString(slot) };
    if (slot.payloadLength > 0) Object.assign(line, this.names.describePayload(slot.payload.subarray(0, slot.payloadLength)));
    line.class = slot.predicted >= 0 ? labels[slot.predicted] : null;
    line.score = round(slot.score);
    line.probs = Array.from(slot.probs, round);
    line.trigger = slot.triggered;
    for (const a of aux) line[a.name] = Array.from(slot.aux.subarray(a.offset, a.offset + a.labels.length), round);
    line.late = slot.late;
    this.text += JSON.stringify(line) + '\n';
    this.lines++;
    if (this.text.length >= limits.decisionBufferedBytesMax) this.flush();
  }

  /** Writes the gathered lines. A write failure is a SinkError reported once per flush. */
  flush(): void {
    if (this.text.length === 0 || this.closed) return;
    const buf = Buffer.from(this.text);
    this.text = '';
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off);
    } catch (err) {
      this.lostSinceSync = true;
      this.onError(new SinkError(this.path, `write failed: ${(err as Error).message}`, { cause: err }));
    }
  }

  /**
   * Writes the gathered lines and waits until they are on the disk (fdatasync): what a durable
   * source acknowledges after. A failure is a SinkError thrown to the caller (nothing may be
   * acknowledged then).
   */
  sync(): void {
    this.flush();
    if (this.closed) return;
    const lost = this.lostSinceSync;
    this.lostSinceSync = false;
    if (lost) throw new SinkError(this.path, 'decision lines were lost to a failed write since the last sync; not acknowledging');
    try {
      fdatasyncSync(this.fd);
    } catch (err) {
      throw new SinkError(this.path, `fdatasync failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Flushes, syncs and closes the file. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    try {
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }
}

/** Probabilities to 6 significant digits: float32 precision, shorter lines. */
function round(x: number): number {
  return Number(x.toPrecision(6));
}
