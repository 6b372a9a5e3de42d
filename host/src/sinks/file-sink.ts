import { z } from 'zod';
import { SinkError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { TriggerEvent } from '../metrics/snapshot.js';
import { RotatingFiles } from './log-files.js';
import { countError, zeroCounters, type BackpressurePolicy, type Sink, type SinkContext, type SinkCounters } from './sink.js';

/** Options of every file sink (JSON lines, Arrow): a string in the config is the `path` alone. */
export const fileSinkSchema = z.union([
  z.string().min(1).transform((path) => ({ path, fileBytesMax: limits.triggerLogFileBytesMax, bufferedBytesMax: limits.sinkBufferedBytesMax })),
  z
    .object({
      /** Base path: each run writes `<stem>.<run>.<part>.<ext>` beside it (sinks/log-files.ts). */
      path: z.string().min(1),
      /** A part grows to this many bytes before the next one starts. */
      fileBytesMax: z.number().int().min(1).max(limits.triggerLogFileBytesMax).default(limits.triggerLogFileBytesMax),
      /** Bytes queued for the disk before the sink blocks the drain (policy `block`). */
      bufferedBytesMax: z.number().int().min(0).max(limits.sinkBufferedBytesMax).default(limits.sinkBufferedBytesMax),
    })
    .strict(),
]);
export type FileSinkOptions = z.output<typeof fileSinkSchema>;

/**
 * What JSON lines and Arrow share: the run's rotating files, the counters and the
 * backpressure policy `block` (a trigger log is an audit record: rather than drop inside the
 * sink, it stops the drain and lets the ring's drop-oldest count the loss).
 */
export abstract class FileSink implements Sink {
  readonly name: string;
  readonly policy: BackpressurePolicy = 'block';
  protected readonly files: RotatingFiles;
  private readonly c: SinkCounters = zeroCounters();
  private readonly bufferedBytesMax: number;
  private readonly onError: (err: SinkError) => void;
  private closing: Promise<void> | null = null;
  private finished = false;

  constructor(kind: string, opts: FileSinkOptions, ctx: SinkContext) {
    const base = ctx.resolvePath(opts.path);
    this.name = `${kind} ${base}`;
    this.bufferedBytesMax = opts.bufferedBytesMax;
    this.onError = ctx.onError;
    this.files = new RotatingFiles(base, ctx.runId, opts.fileBytesMax, {
      onError: (err) => countError(this.c, err, this.onError),
      onWritten: (records, bytes) => {
        this.c.written += records;
        this.c.bytes += bytes;
      },
    });
  }

  write(events: readonly TriggerEvent[]): void {
    if (this.finished) {
      countError(this.c, new SinkError(this.name, `${events.length} trigger records written after close were dropped`), this.onError);
      this.c.dropped += events.length;
      return;
    }
    this.c.accepted += events.length;
    if (events.length === 0) return;
    try {
      this.encode(events);
    } catch (err) {
      // A part that cannot be created (disk full, folder gone) costs those records; anything
      // else is a bug and goes on up.
      if (!(err instanceof SinkError)) throw err;
      countError(this.c, err, this.onError);
    }
  }

  ready(): boolean {
    return this.files.pendingBytes <= this.bufferedBytesMax;
  }

  flush(): Promise<void> {
    return this.files.drained();
  }

  flushSync(): void {
    this.end();
    this.files.flushSync();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.end();
      await this.files.close();
    })();
    return this.closing;
  }

  private end(): void {
    if (this.finished) return;
    this.finished = true;
    this.finish();
  }

  counters(): SinkCounters {
    return { ...this.c, errors: { ...this.c.errors } };
  }

  /** Appends `events` to `this.files`, starting new parts at the size bound. */
  protected abstract encode(events: readonly TriggerEvent[]): void;

  /** Appends what ends the current part (Arrow: end-of-stream). Called once, at close or fatal exit. */
  protected abstract finish(): void;
}
