import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { SinkError } from '../core/errors.js';
import { limits } from '../core/limits.js';

/**
 * The cascade's answers file (config `cascade.answers`): one JSON line per teacher answer,
 * written beside the trigger log and the decisions file, keyed by the frame's `seq` (nothing
 * already written is ever rewritten). Created new: a file that exists is refused. Lines are
 * gathered off the hot path and written on `flush` (the daemon's flush timer) or once
 * `limits.decisionBufferedBytesMax` is gathered.
 */
export class AnswersLog {
  private readonly fd: number;
  private text = '';
  private closed = false;
  lines = 0;

  constructor(readonly path: string, private readonly onError: (err: SinkError) => void) {
    try {
      this.fd = openSync(path, 'wx');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new SinkError(path, e.code === 'EEXIST' ? 'exists: a cascade answers file is never overwritten; choose a new path' : e.message, { cause: err });
    }
  }

  /** Adds one answer line (an object made off the hot path). */
  add(line: Record<string, unknown>): void {
    if (this.closed) return;
    this.text += JSON.stringify(line) + '\n';
    this.lines++;
    if (this.text.length >= limits.decisionBufferedBytesMax) this.flush();
  }

  /** Writes the gathered lines; a failure is a SinkError reported once per flush. */
  flush(): void {
    if (this.text.length === 0 || this.closed) return;
    const buf = Buffer.from(this.text);
    this.text = '';
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off);
    } catch (err) {
      this.onError(new SinkError(this.path, `write failed: ${(err as Error).message}`, { cause: err }));
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
