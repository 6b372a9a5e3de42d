import { closeSync, fdatasyncSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { SinkError } from '../core/errors.js';
import { limits } from '../core/limits.js';

/**
 * A file of JSON lines written off the hot path (the decisions file, the cascade's answers):
 * created new (one that exists is refused with a SinkError saying `what` is never
 * overwritten), lines gathered in memory and written on `flush` (the daemon's flush timer) or
 * at once when `limits.decisionBufferedBytesMax` is gathered.
 */
export class LineFile {
  private readonly fd: number;
  private text = '';
  private closed = false;
  /** A write failed since the last `sync`: lines were lost, so nothing may be acknowledged. */
  private lostSinceSync = false;
  lines = 0;

  constructor(readonly path: string, what: string, private readonly onError: (err: SinkError) => void) {
    try {
      this.fd = openSync(path, 'wx');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EEXIST' ? `exists: ${what} is never overwritten; choose a new path` : e.message;
      throw new SinkError(path, why, { cause: err });
    }
  }

  /** Adds one line (its text, without the newline). Ignored once closed. */
  add(line: string): void {
    if (this.closed) return;
    this.text += line + '\n';
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
    if (lost) throw new SinkError(this.path, 'lines were lost to a failed write since the last sync; not acknowledging');
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
