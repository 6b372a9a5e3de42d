import { closeSync, mkdirSync, openSync, readdirSync, write as fsWrite, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { assert } from '../core/assert.js';
import { SinkError } from '../core/errors.js';

/**
 * The trigger log file rule, the same for every file sink: a configured path is a *base*
 * (`build/run/triggers.jsonl`); each run writes its own files beside it, named after the run
 * and numbered (`triggers.<run>.0000.jsonl`, `.0001`, ...), each created with exclusive create
 * (`wx`), so no run ever truncates, appends to or overwrites another run's file. A new part
 * starts when the current one would pass its size bound.
 */
export function runFilePath(base: string, runId: string, part: number): string {
  assert(/^[A-Za-z0-9_-]+$/.test(runId), 'run id is a file-name-safe token');
  assert(Number.isInteger(part) && part >= 0, 'part is a non-negative integer');
  const ext = extname(base);
  return join(dirname(base), `${basename(base, ext)}.${runId}.${String(part).padStart(4, '0')}${ext}`);
}

/**
 * Every file the rule above gives `base` (all runs, or only `runId`'s), oldest run first and
 * in part order: read them in this order and every record appears once, in write order.
 */
export function runFiles(base: string, runId?: string): string[] {
  const ext = extname(base);
  const stem = basename(base, ext);
  let names: string[];
  try {
    names = readdirSync(dirname(base));
  } catch {
    return [];
  }
  const found: Array<{ run: string; part: number; path: string }> = [];
  for (const name of names) {
    if (!name.startsWith(`${stem}.`) || !name.endsWith(ext)) continue;
    const m = /^([A-Za-z0-9_-]+)\.(\d{4,})$/.exec(name.slice(stem.length + 1, name.length - ext.length));
    if (m === null || (runId !== undefined && m[1] !== runId)) continue;
    found.push({ run: m[1], part: Number(m[2]), path: join(dirname(base), name) });
  }
  found.sort((a, b) => (a.run < b.run ? -1 : a.run > b.run ? 1 : a.part - b.part));
  return found.map((f) => f.path);
}

interface Chunk {
  bytes: Uint8Array;
  /** File offset the chunk belongs at. */
  at: number;
  /** Records that end in this chunk (counted as written when it is). */
  records: number;
}

/** Where a log file reports failed writes and completed ones. */
export interface LogFileHooks {
  onError(err: SinkError): void;
  /** `bytes` reached the OS, completing `records` records. */
  onWritten(records: number, bytes: number): void;
}

/**
 * One log file, written with positional writes (`fs.write` at an offset fixed when the chunk
 * was appended), one in flight at a time.
 *
 * Written here rather than with `fs.createWriteStream` because a WriteStream cannot be flushed
 * synchronously: at a fatal exit its queued chunks are lost. With positional writes
 * `flushSync` can write every pending chunk (the one in flight too) with `writeSync` at its
 * offset: if the asynchronous write also lands, it writes the same bytes at the same place.
 */
export class LogFile {
  readonly path: string;
  /** Bytes appended so far (the file's size once everything is written). */
  size = 0;
  private readonly fd: number;
  private readonly queue: Chunk[] = [];
  private inFlight: Chunk | null = null;
  private pending = 0;
  private waiters: Array<() => void> = [];
  private closed = false;
  /** The chunk that was in flight when `flushSync` wrote it again: its completion is not counted twice. */
  private writtenSync: Chunk | null = null;
  private readonly hooks: LogFileHooks;

  /** Creates `path` exclusively (its folder if needed); a file already there is a `SinkError` and is left untouched. */
  constructor(path: string, hooks: LogFileHooks) {
    this.path = path;
    this.hooks = hooks;
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.fd = openSync(path, 'wx');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EEXIST' ? 'exists already (another run wrote it); it is left untouched' : e.message;
      throw new SinkError(path, `cannot create trigger log file: ${why}`, { cause: err });
    }
  }

  /** Bytes appended but not yet written. */
  get pendingBytes(): number {
    return this.pending;
  }

  /** Queues `bytes` (completing `records` records) at the end of the file; the caller must not modify them afterwards. */
  append(bytes: Uint8Array, records: number): void {
    assert(!this.closed, 'append to an open log file');
    if (bytes.byteLength === 0) return;
    this.queue.push({ bytes, at: this.size, records });
    this.size += bytes.byteLength;
    this.pending += bytes.byteLength;
    this.kick();
  }

  /** Resolves when every appended byte has been written (or failed and been reported). */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((res) => this.waiters.push(res));
  }

  /** Writes every pending chunk now, synchronously (fatal exit path). */
  flushSync(): void {
    const chunks = this.inFlight === null ? this.queue : [this.inFlight, ...this.queue];
    for (const c of chunks) {
      let done = 0;
      while (done < c.bytes.byteLength) done += writeSync(this.fd, c.bytes, done, c.bytes.byteLength - done, c.at + done);
      this.hooks.onWritten(c.records, c.bytes.byteLength);
    }
    this.queue.length = 0;
    this.writtenSync = this.inFlight;
    this.pending = 0;
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits for pending writes and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.drained();
    closeSync(this.fd);
  }

  private kick(): void {
    if (this.inFlight !== null || this.queue.length === 0) return;
    const c = this.queue.shift()!;
    this.inFlight = c;
    fsWrite(this.fd, c.bytes, 0, c.bytes.byteLength, c.at, (err, n) => this.done(c, err, n));
  }

  private done(c: Chunk, err: NodeJS.ErrnoException | null, written: number): void {
    this.inFlight = null;
    if (c === this.writtenSync) {
      this.kick();
      return;
    }
    if (err !== null) {
      this.pending -= c.bytes.byteLength;
      this.hooks.onError(new SinkError(this.path, `trigger log write of ${c.bytes.byteLength} bytes at offset ${c.at} failed (${c.records} records lost): ${err.message}`, { cause: err }));
    } else if (written < c.bytes.byteLength) {
      this.pending -= written;
      this.hooks.onWritten(0, written);
      this.queue.unshift({ bytes: c.bytes.subarray(written), at: c.at + written, records: c.records });
    } else {
      this.pending -= written;
      this.hooks.onWritten(c.records, written);
    }
    this.kick();
    if (this.pending === 0) for (const w of this.waiters.splice(0)) w();
  }
}

/**
 * The current part of a run's log and the size rule: `fits(n)` says whether `n` more bytes
 * keep the part within `fileBytesMax` (an empty part takes anything, so one oversized record
 * still gets written); `next()` starts the following part.
 */
export class RotatingFiles {
  private part = 0;
  current: LogFile;
  /** Parts closed by rotation, still finishing their writes. */
  private readonly closing: Array<Promise<void>> = [];
  private rotated: LogFile[] = [];
  /** After a failed rotation: the size the current part may reach before the next attempt. */
  private overflowUntil = 0;
  private readonly base: string;
  private readonly runId: string;
  private readonly fileBytesMax: number;
  private readonly hooks: LogFileHooks;
  /** Bytes at the start of every part (the Arrow schema) that do not count as records. */
  headerBytes = 0;

  constructor(base: string, runId: string, fileBytesMax: number, hooks: LogFileHooks) {
    assert(fileBytesMax > 0, 'file size bound is positive');
    this.base = base;
    this.runId = runId;
    this.fileBytesMax = fileBytesMax;
    this.hooks = hooks;
    this.current = new LogFile(runFilePath(base, runId, 0), hooks);
  }

  /** Whether `bytes` more fit in the current part. */
  fits(bytes: number): boolean {
    const size = this.current.size + bytes;
    return this.current.size <= this.headerBytes || size <= this.fileBytesMax || size <= this.overflowUntil;
  }

  /**
   * Creates the next part, lets `seal` append what ends the current one (Arrow's end-of-stream
   * marker), then closes it (its pending writes finish in the background). Returns the part to
   * write to: the new one, or the current one if the new one could not be created.
   */
  next(seal?: (last: LogFile) => void): LogFile {
    // The next part is created first. If that fails (a file in the way, disk full) the error is
    // reported and writing goes on in this part, which takes another fileBytesMax before the
    // next attempt: no record is lost to a failed rotation, and the error is not repeated per record.
    let created: LogFile;
    try {
      created = new LogFile(runFilePath(this.base, this.runId, this.part + 1), this.hooks);
    } catch (err) {
      if (!(err instanceof SinkError)) throw err;
      this.hooks.onError(err);
      this.overflowUntil = this.current.size + this.fileBytesMax;
      return this.current;
    }
    this.overflowUntil = 0;
    const done = this.current;
    seal?.(done);
    this.closing.push(done.close().catch((err: Error) => this.hooks.onError(new SinkError(done.path, `closing a full trigger log part failed: ${err.message}`, { cause: err }))));
    this.rotated = this.rotated.filter((f) => f.pendingBytes > 0);
    this.rotated.push(done);
    this.part++;
    this.current = created;
    return created;
  }

  /** Bytes queued for the disk in every part. */
  get pendingBytes(): number {
    let n = this.current.pendingBytes;
    for (const f of this.rotated) n += f.pendingBytes;
    return n;
  }

  /** Resolves when every part's appended bytes are written. */
  async drained(): Promise<void> {
    await Promise.all([...this.rotated.map((f) => f.drained()), this.current.drained()]);
  }

  /** Writes every part's pending bytes now (fatal exit path). */
  flushSync(): void {
    for (const f of this.rotated) f.flushSync();
    this.current.flushSync();
  }

  async close(): Promise<void> {
    await Promise.all([...this.closing, this.current.close()]);
  }
}
