import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { SourceError } from '../../../core/errors.js';

/** What the watch source knows of one file: which version it saw and how far it got. */
export interface JournalEntry {
  /** Path relative to the watched folder. */
  file: string;
  size: number;
  mtimeMs: number;
  /** Alerts of the file delivered, in its observation order. */
  done: number;
  /** Alerts the file holds (readable ones). */
  total: number;
}

/**
 * The watch source's journal: an append-only JSONL file, one line each time a file's
 * progress changes, fsync'd before the source goes on, so a restart knows every file it
 * finished and how far it got in the one it was reading. The last line of a file wins.
 */
export class WatchJournal {
  private readonly fd: number;
  private readonly entries = new Map<string, JournalEntry>();

  /** Opens (creates) the journal at `path` and reads what it holds. A SourceError when it cannot. */
  constructor(readonly path: string) {
    try {
      if (existsSync(path)) {
        const text = readFileSync(path, 'utf8');
        // A torn last line (the process died while writing it) is cut off, so the next
        // line starts on a line of its own; that batch is then delivered again (at least once).
        const whole = text.lastIndexOf('\n') + 1;
        if (whole < text.length) truncateSync(path, Buffer.byteLength(text.slice(0, whole)));
        this.read(text.slice(0, whole));
      }
      this.fd = openSync(path, 'a');
    } catch (err) {
      throw new SourceError(path, `cannot open the alerts-watch journal: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The latest entry of `file`, if any. */
  get(file: string): JournalEntry | undefined {
    return this.entries.get(file);
  }

  /** True when `file`, at this size and mtime, was delivered completely. */
  finished(file: string, size: number, mtimeMs: number): boolean {
    const e = this.entries.get(file);
    return e !== undefined && e.size === size && e.mtimeMs === mtimeMs && e.done >= e.total;
  }

  /** Alerts of `file` (at this size and mtime) already delivered: where to resume. */
  resumeAt(file: string, size: number, mtimeMs: number): number {
    const e = this.entries.get(file);
    return e !== undefined && e.size === size && e.mtimeMs === mtimeMs ? e.done : 0;
  }

  /** Appends `e` and fsyncs it. A SourceError when the disk refuses. */
  record(e: JournalEntry): void {
    try {
      writeSync(this.fd, `${JSON.stringify(e)}\n`);
      fsyncSync(this.fd);
    } catch (err) {
      throw new SourceError(this.path, `cannot write the alerts-watch journal: ${(err as Error).message}`, { cause: err });
    }
    this.entries.set(e.file, { ...e });
  }

  close(): void {
    closeSync(this.fd);
  }

  private read(text: string): void {
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      let e: JournalEntry;
      try {
        e = JSON.parse(line) as JournalEntry;
      } catch (err) {
        throw new SourceError(`${this.path} line ${i + 1}`, `not a journal line (${(err as Error).message}); move the journal away to start over`);
      }
      if (typeof e.file !== 'string' || ![e.size, e.mtimeMs, e.done, e.total].every(Number.isFinite)) {
        throw new SourceError(`${this.path} line ${i + 1}`, 'a journal line needs file, size, mtimeMs, done and total; move the journal away to start over');
      }
      this.entries.set(e.file, e);
    });
  }
}
