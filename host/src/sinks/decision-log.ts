import type { SinkError } from '../core/errors.js';
import { frameIdString, type FrameSlot } from '../core/frame.js';
import { LineFile } from './line-file.js';
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
  private readonly file: LineFile;

  constructor(readonly path: string, private readonly names: DecisionNames, onError: (err: SinkError) => void) {
    this.file = new LineFile(path, 'a decisions file', onError);
  }

  /** Decision lines added so far. */
  get lines(): number {
    return this.file.lines;
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
    this.file.add(JSON.stringify(line));
  }

  /** Writes the gathered lines. A write failure is a SinkError reported once per flush. */
  flush(): void {
    this.file.flush();
  }

  /**
   * Writes the gathered lines and waits until they are on the disk (fdatasync): what a durable
   * source acknowledges after. A failure is a SinkError thrown to the caller (nothing may be
   * acknowledged then).
   */
  sync(): void {
    this.file.sync();
  }

  /** Flushes, syncs and closes the file. Idempotent. */
  close(): void {
    this.file.close();
  }
}

/** Probabilities to 6 significant digits: float32 precision, shorter lines. */
function round(x: number): number {
  return Number(x.toPrecision(6));
}
