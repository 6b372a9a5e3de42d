import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { isOperatingError, SourceError } from '../../../core/errors.js';
import { ingressConfigSchema, IngressQueue, whenDrained } from '../../../sources/ingress.js';
import type { FrameSink } from '../../../sources/source.js';
import { serverAddress, type StreamSource } from '../../../sources/stream.js';
import { sources, type SourceContext } from '../../../sources/registry.js';
import { pcmFields, pcmFrameSpec, streamNsAt } from './pcm.js';

/**
 * The config of a `pcm` source: live raw PCM, signed 16-bit little-endian mono at `rateHz`
 * (`arecord -f S16_LE -c 1 -r 16000 -t raw`), from standard input (`path: "-"`), a file or
 * FIFO (`path`), or one TCP connection at a time on `listen`. Chunked as the `wav` source
 * chunks a file, through a bounded ingress queue (default policy `block` for stdin, files and
 * FIFOs: nothing is lost, the producer waits; `drop-oldest` for TCP).
 */
export const pcmSourceSchema = z
  .object({
    kind: z.literal('pcm'),
    path: z.string().min(1).optional(),
    /** host:port to listen on (loopback unless you mean it), e.g. 127.0.0.1:9500. */
    listen: z.string().regex(/^[^:]+:\d{1,5}$/, 'listen is host:port, e.g. 127.0.0.1:9500').optional(),
    ...pcmFields,
    queue: ingressConfigSchema.partial({ policy: true }).optional(),
  })
  .strict()
  .refine((c) => (c.path === undefined) !== (c.listen === undefined), 'exactly one of path (a file, a FIFO, or - for standard input) and listen (host:port) is required');
export type PcmSourceConfig = z.infer<typeof pcmSourceSchema>;

/** A `pcm` source is shaped as a `stream` source: its queue's counters are the ingress counters of the snapshot. */
export type PcmSource = StreamSource;

/**
 * Cuts a byte stream of s16le samples into chunks of `chunkSamples` and offers each to the
 * queue (copied there, so the chunk buffer is reused at once). The stream's sample count runs
 * on across inputs (successive TCP connections continue one stream), so `sensorNs` is the
 * stream time at the end of each chunk's last sample.
 */
export class PcmChunker {
  private readonly chunk: Uint8Array;
  private fill = 0;
  private samples = 0;
  private chunks = 0;

  constructor(
    private readonly queue: IngressQueue,
    chunkSamples: number,
    private readonly rateHz: number,
  ) {
    this.chunk = new Uint8Array(chunkSamples * 2);
  }

  /** Offers every whole chunk of `input` (waiting for room under `block`), then what is left at its end. */
  async read(input: Readable, where: string, stopped: () => boolean): Promise<void> {
    for await (const data of input as AsyncIterable<Buffer>) {
      let at = 0;
      while (at < data.length) {
        const n = Math.min(data.length - at, this.chunk.length - this.fill);
        this.chunk.set(data.subarray(at, at + n), this.fill);
        this.fill += n;
        at += n;
        if (this.fill === this.chunk.length) await this.offer(stopped);
        if (stopped()) return;
      }
    }
    const odd = this.fill & 1;
    this.fill -= odd;
    if (this.fill > 0) await this.offer(stopped);
    if (odd === 1) throw new SourceError(where, 'the stream ends inside a sample (an odd number of bytes of s16le PCM): the last byte was dropped');
  }

  private async offer(stopped: () => boolean): Promise<void> {
    const bytes = this.chunk.subarray(0, this.fill);
    const samples = this.samples + this.fill / 2;
    while (!this.queue.offer(bytes, this.chunks, streamNsAt(samples, this.rateHz), -1)) {
      if (this.queue.counts.policy !== 'block' || stopped()) break;
      await new Promise<void>((r) => this.queue.onWritable(r));
    }
    this.samples = samples;
    this.chunks++;
    this.fill = 0;
  }
}

/** Builds a `pcm` source (see `pcmSourceSchema`). */
export function createPcmSource(cfg: PcmSourceConfig, ctx: SourceContext): PcmSource {
  const policy = cfg.queue?.policy ?? (cfg.path !== undefined ? 'block' : 'drop-oldest');
  const queue = new IngressQueue(ingressConfigSchema.parse({ ...cfg.queue, policy }), ctx.clock, ctx.timers);
  const chunker = new PcmChunker(queue, cfg.chunkSamples, cfg.rateHz);
  const where = cfg.path === '-' ? 'standard input' : cfg.path !== undefined ? ctx.at(cfg.path) : `tcp ${cfg.listen}`;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let server: Server | null = null;
  let input: Readable | null = null;
  let active: Socket | null = null;
  let stopped = false;
  const read = (from: Readable, name: string): Promise<void> =>
    chunker.read(from, name, () => stopped).catch((err: unknown) => {
      if (stopped) return;
      ctx.error(isOperatingError(err) ? err : new SourceError(name, `cannot read PCM: ${(err as Error).message}`, { cause: err }));
    });
  return {
    spec: pcmFrameSpec(cfg.stream, cfg.chunkSamples),
    ingress: queue.counts,
    done,
    get delivered() {
      return queue.counts.delivered;
    },
    address: () => serverAddress(server),
    start(sink) {
      queue.attach(paceOf(cfg.path === '-' || cfg.path === undefined ? null : where, sink));
      if (cfg.path !== undefined) {
        // Standard input as the process holds it: /dev/stdin cannot be opened when it is a
        // socket (how Node and some supervisors pipe a child's stdin).
        input = cfg.path === '-' ? process.stdin : createReadStream(where);
        void read(input, where).then(() => whenDrained(queue, ctx.timers, () => stopped).then(resolveDone));
        return;
      }
      const cut = cfg.listen!.lastIndexOf(':');
      server = createServer((socket) => {
        socket.on('error', () => {}); // a reset peer ends its read; the stream goes on with the next
        if (active !== null) {
          ctx.error(new SourceError(where, `refused a second connection from ${socket.remoteAddress}:${socket.remotePort}: one PCM stream at a time`));
          socket.destroy();
          return;
        }
        active = socket;
        void read(socket, `${where} from ${socket.remoteAddress}:${socket.remotePort}`).then(() => (active = null));
      });
      server.on('error', (err) => ctx.error(new SourceError(where, `cannot listen: ${err.message}`, { cause: err })));
      server.listen(Number(cfg.listen!.slice(cut + 1)), cfg.listen!.slice(0, cut));
    },
    async stop() {
      stopped = true;
      queue.stop();
      input?.destroy();
      active?.destroy();
      if (server !== null) await new Promise<void>((r) => server!.close(() => r()));
      resolveDone();
    },
  };
}

/**
 * The sink a `pcm` source's queue feeds: `sink` itself for a live stream (standard input, a
 * FIFO, TCP: samples arrive in real time, so a window inside a chunk was due before the chunk
 * came), or for a regular file `path` (read as fast as it comes, like a `wav` source at `max`)
 * one that marks each chunk's samples as arriving with the chunk (`wallNsPerStreamNs` 0).
 */
function paceOf(path: string | null, sink: FrameSink): FrameSink {
  if (path === null || statSync(path, { throwIfNoEntry: false })?.isFile() !== true) return sink;
  return {
    acquire() {
      const slot = sink.acquire();
      slot.wallNsPerStreamNs = 0;
      return slot;
    },
    push: (slot) => sink.push(slot),
  };
}

sources.register({
  kind: 'pcm',
  summary: 'live raw PCM (s16le mono at rateHz) from standard input (path -), a file or FIFO (path), or TCP (listen), in chunks through a bounded ingress queue',
  schema: pcmSourceSchema as unknown as z.ZodType<PcmSourceConfig>,
  create: (config, ctx) => createPcmSource(config as PcmSourceConfig, ctx),
});
