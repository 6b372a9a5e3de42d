import { SinkError } from '../../../core/errors.js';
import { limits } from '../../../core/limits.js';
import { RotatingFiles, type LogFileHooks } from '../../../sinks/log-files.js';
import { compressBlock, compressBlockSync, containerBlock, containerHeader, syncMarker, type TopicCodec } from './container.js';

interface Block {
  records: number;
  raw: Buffer;
  /** The compressed records, once compression is done; null before. */
  data: Buffer | null;
  failed: Error | null;
}

/** Where one (topic, writer schema) container goes and how. */
export interface AvroTopicFileOptions {
  /** Base path (`<dir>/<topic>.<schema tag>.avro`): parts are named by the run rule of sinks/log-files.ts. */
  base: string;
  runId: string;
  /** The extended schema every record of the file is written with. */
  schema: unknown;
  codec: TopicCodec;
  /** zlib level of the deflate codec. */
  deflateLevel: number;
  fileBytesMax: number;
}

/**
 * One Avro container file series of a topic, for one writer schema: records are gathered into
 * a block of up to `limits.topicBlockBytesMax` (or until a flush), compressed on zlib's thread pool,
 * then framed and appended in order. Each part of the run (size rotation) starts with its
 * own header, so every part is a complete container file.
 */
export class AvroTopicFile {
  /** The block being gathered: records are copied in (the decoder's buffers may be reused).
   * Allocated at the first record after a seal, so an idle topic holds none. */
  private buf: Buffer | null = null;
  private rawBytes = 0;
  private records = 0;
  /** Sealed blocks, in file order, waiting for compression or for the ones before them. */
  private readonly blocks: Block[] = [];
  private compressing = 0;
  private idle: Array<() => void> = [];
  private readonly files: RotatingFiles;
  private readonly header: Buffer;
  private readonly sync: Buffer;
  private readonly codec: TopicCodec;
  private readonly level: number;
  private readonly onError: (err: SinkError) => void;
  private readonly path: string;

  /** Creates the first part (exclusive create: a SinkError if it exists) and queues its header. */
  constructor(opts: AvroTopicFileOptions, hooks: LogFileHooks) {
    this.codec = opts.codec;
    this.level = opts.deflateLevel;
    this.sync = syncMarker(`${opts.runId} ${opts.base}`);
    this.header = containerHeader(opts.schema, opts.codec, this.sync);
    this.onError = hooks.onError;
    this.path = opts.base;
    this.files = new RotatingFiles(opts.base, opts.runId, opts.fileBytesMax, hooks);
    this.files.headerBytes = this.header.length;
    this.files.current.append(this.header, 0);
  }

  /**
   * Adds one record, given as its parts (original bytes, appended fields), copied into the
   * block; a record that does not fit ends the block first (one larger than a block makes
   * a block alone).
   */
  add(parts: readonly Uint8Array[]): void {
    let n = 0;
    for (const p of parts) n += p.length;
    if (this.rawBytes + n > limits.topicBlockBytesMax) this.seal();
    this.buf ??= Buffer.allocUnsafe(Math.max(n, limits.topicBlockBytesMax));
    for (const p of parts) {
      this.buf.set(p, this.rawBytes);
      this.rawBytes += p.length;
    }
    this.records++;
  }

  /** Bytes held: gathered, compressing, or queued for the disk. */
  get bufferedBytes(): number {
    let n = this.rawBytes + this.files.pendingBytes;
    for (const b of this.blocks) n += b.raw.length;
    return n;
  }

  /** Ends the current block and starts compressing it. */
  seal(): void {
    if (this.records === 0) return;
    const b: Block = { records: this.records, raw: this.buf!.subarray(0, this.rawBytes), data: null, failed: null };
    this.buf = null;
    this.rawBytes = 0;
    this.records = 0;
    this.blocks.push(b);
    this.compressing++;
    compressBlock(this.codec, this.level, b.raw, (err, data) => {
      this.compressing--;
      // flushSync may have compressed and written the block already: the same bytes, kept once.
      if (b.data === null && b.failed === null) {
        if (err !== null) b.failed = err;
        else b.data = data;
      }
      this.pump();
      if (this.compressing === 0) for (const w of this.idle.splice(0)) w();
    });
  }

  /** Appends the blocks at the head of the queue that are ready, starting parts at the size bound. */
  private pump(): void {
    while (this.blocks.length > 0 && (this.blocks[0].data !== null || this.blocks[0].failed !== null)) {
      const b = this.blocks.shift()!;
      if (b.failed !== null) {
        this.onError(new SinkError(this.path, `compressing a block of ${b.records} alerts failed (they are lost): ${b.failed.message}`, { cause: b.failed }));
        continue;
      }
      const frame = containerBlock(b.records, b.data!, this.sync);
      if (!this.files.fits(frame.length)) {
        const before = this.files.current;
        if (this.files.next() !== before) this.files.current.append(this.header, 0);
      }
      this.files.current.append(frame, b.records);
    }
  }

  /** Seals the current block and resolves when every block is compressed and on disk. */
  async flush(): Promise<void> {
    this.seal();
    if (this.compressing > 0) await new Promise<void>((res) => this.idle.push(res));
    await this.files.drained();
  }

  /** Compresses and writes everything now, synchronously (fatal exit path). */
  flushSync(): void {
    this.seal();
    for (const b of this.blocks) if (b.data === null && b.failed === null) b.data = compressBlockSync(this.codec, this.level, b.raw);
    this.pump();
    this.files.flushSync();
  }

  /** Flushes and closes the files. */
  async close(): Promise<void> {
    await this.flush();
    await this.files.close();
  }
}
