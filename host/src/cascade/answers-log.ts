import type { SinkError } from '../core/errors.js';
import { LineFile } from '../sinks/line-file.js';

/**
 * The cascade's answers file (config `cascade.answers`): one JSON line per teacher answer,
 * written beside the trigger log and the decisions file, keyed by the frame's `seq` (nothing
 * already written is ever rewritten). Created new: a file that exists is refused. Lines are
 * gathered off the hot path and written on `flush` (the daemon's flush timer).
 */
export class AnswersLog {
  private readonly file: LineFile;

  constructor(readonly path: string, onError: (err: SinkError) => void) {
    this.file = new LineFile(path, 'a cascade answers file', onError);
  }

  /** Answer lines added so far. */
  get lines(): number {
    return this.file.lines;
  }

  /** Adds one answer line (an object made off the hot path). */
  add(line: Record<string, unknown>): void {
    this.file.add(JSON.stringify(line));
  }

  /** Writes the gathered lines; a failure is a SinkError reported once per flush. */
  flush(): void {
    this.file.flush();
  }

  /** Flushes, syncs and closes the file. Idempotent. */
  close(): void {
    this.file.close();
  }
}
