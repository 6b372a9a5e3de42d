import { createReadStream } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { RecordBatchReader, type RecordBatch } from 'apache-arrow';
import { z } from 'zod';
import { CAPTURE_VERSION, META, specOf } from '../capture/arrow-capture.js';
import { CaptureFormatError, ConfigError, SourceError } from '../core/errors.js';
import { frameBytes, type FrameSpec } from '../core/frame.js';
import { ingressConfigSchema, IngressQueue, whenDrained, type IngressCounts } from './ingress.js';
import { sources, type SourceContext } from './registry.js';
import type { Source } from './source.js';

/**
 * The config of a `stream` source: frames in the capture format (an Arrow IPC stream,
 * docs/architecture.md "Captures") arriving asynchronously, from a file or FIFO (`path`:
 * durable, default policy `block`) or from TCP connections on `listen` (a live sensor,
 * default policy `drop-oldest`). The stream's frames are declared here and each connection's
 * schema is checked against them.
 */
export const streamSourceSchema = z
  .object({
    kind: z.literal('stream'),
    path: z.string().min(1).optional(),
    /** host:port to listen on (loopback unless you mean it), e.g. 127.0.0.1:9400. */
    listen: z.string().regex(/^[^:]+:\d{1,5}$/, 'listen is host:port, e.g. 127.0.0.1:9400').optional(),
    stream: z.string().min(1),
    shape: z.array(z.number().int().min(1)).min(1),
    dtype: z.enum(['uint8', 'int16', 'float32']),
    labels: z.array(z.string().min(1)).optional(),
    queue: ingressConfigSchema.partial({ policy: true }).optional(),
  })
  .strict()
  .refine((c) => (c.path === undefined) !== (c.listen === undefined), 'exactly one of path (a file or FIFO) and listen (host:port) is required');
export type StreamSourceConfig = z.infer<typeof streamSourceSchema>;

/** A `stream` source: its queue's counters are the ingress counters of the snapshot. */
export interface StreamSource extends Source {
  readonly ingress: IngressCounts;
  /** The TCP address it listens on (after start), for `listen`. */
  address(): { host: string; port: number } | null;
}

/** Builds a `stream` source (see `streamSourceSchema`). */
export function createStreamSource(cfg: StreamSourceConfig, ctx: SourceContext): StreamSource {
  const spec: FrameSpec = { stream: cfg.stream, shape: cfg.shape, dtype: cfg.dtype, labels: cfg.labels };
  const policy = cfg.queue?.policy ?? (cfg.path !== undefined ? 'block' : 'drop-oldest');
  const queue = new IngressQueue(ingressConfigSchema.parse({ ...cfg.queue, policy }), ctx.clock, ctx.timers);
  const where = cfg.path !== undefined ? ctx.at(cfg.path) : `tcp ${cfg.listen}`;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  let stopped = false;
  let listenError: Error | null = null;
  const readFrom = async (input: Readable, name: string): Promise<void> => {
    try {
      const reader = await RecordBatchReader.from(input);
      await reader.open();
      checkSchema(reader.schema.metadata, spec, name);
      for await (const batch of reader) {
        if (stopped) break;
        await offerBatch(batch, queue, name, () => stopped);
      }
    } catch (err) {
      if (!stopped) ctx.error(err instanceof CaptureFormatError || err instanceof SourceError ? err : new CaptureFormatError(name, `stream does not parse as a capture: ${(err as Error).message}`, { cause: err }));
    }
  };
  return {
    spec,
    ingress: queue.counts,
    done,
    get delivered() {
      return queue.counts.delivered;
    },
    address: () => serverAddress(server),
    health() {
      if (cfg.path !== undefined) return { up: true, detail: `reading ${where}` };
      if (listenError !== null) return { up: false, detail: `cannot listen on ${cfg.listen}: ${listenError.message}` };
      const a = serverAddress(server);
      return a === null ? { up: true, detail: `opening ${where}` } : { up: true, detail: `listening on ${a.host}:${a.port}, ${sockets.size} connection(s)` };
    },
    start(sink) {
      queue.attach(sink);
      if (cfg.path !== undefined) {
        const input = createReadStream(where);
        void readFrom(input, where).then(() => whenDrained(queue, ctx.timers, () => stopped).then(resolveDone));
        return;
      }
      const [host, port] = [cfg.listen!.slice(0, cfg.listen!.lastIndexOf(':')), Number(cfg.listen!.slice(cfg.listen!.lastIndexOf(':') + 1))];
      server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {}); // reported by the reader as a format error, or a close
        void readFrom(socket, `${where} from ${socket.remoteAddress}:${socket.remotePort}`);
      });
      server.on('error', (err) => {
        listenError = err;
        ctx.error(new SourceError(where, `cannot listen: ${err.message}`, { cause: err }));
      });
      server.listen(port, host);
    },
    async stop() {
      // No new frames, then every frame the queue accepted goes through the pipeline: a clean
      // stop (SIGTERM) decides and logs what it took in.
      stopped = true;
      for (const s of sockets) s.destroy();
      if (server !== null) await new Promise<void>((r) => server!.close(() => r()));
      queue.flushAndStop();
      resolveDone();
    },
  };
}

function checkSchema(md: Map<string, string>, spec: FrameSpec, where: string): void {
  if (md.get(META.version) !== CAPTURE_VERSION) throw new CaptureFormatError(where, `not a hairtrigger capture stream (schema metadata ${META.version}=${md.get(META.version) ?? 'missing'}, expected ${CAPTURE_VERSION})`);
  const got = specOf(md, where);
  if (got.dtype !== spec.dtype || got.shape.join(',') !== spec.shape.join(',')) {
    throw new CaptureFormatError(where, `frames [${got.shape.join(', ')}] ${got.dtype}; this source takes [${spec.shape.join(', ')}] ${spec.dtype} (config source.shape/dtype)`);
  }
}

/** Offers every row of `batch`; under `block` waits for room instead of losing a frame. */
async function offerBatch(batch: RecordBatch, queue: IngressQueue, where: string, stopped: () => boolean): Promise<void> {
  const seq = batch.getChild('seq');
  const frame = batch.getChild('frame');
  const label = batch.getChild('label');
  const time = batch.getChild('sensor_time');
  if (seq === null || frame === null || label === null || time === null) throw new CaptureFormatError(where, 'a record batch lacks one of the columns seq, sensor_time, frame, label');
  const times = time.data[0];
  const raw = times.values as unknown as BigInt64Array;
  for (let i = 0; i < batch.numRows; i++) {
    const bytes = frame.get(i) as Uint8Array | null;
    if (bytes === null) continue;
    const l = label.get(i) as number | null;
    const t = times.getValid(i) ? Number(raw[i]) : Number.NaN;
    while (!queue.offer(bytes, Number(seq.get(i) as bigint), t, l ?? -1)) {
      if (queue.counts.policy !== 'block' || stopped()) break;
      await new Promise<void>((r) => queue.onWritable(r));
    }
  }
}

/** The address a TCP server listens on, once it does (null before, or for no server). */
export function serverAddress(server: Server | null): { host: string; port: number } | null {
  const a = server?.address();
  return a && typeof a === 'object' ? { host: a.address, port: a.port } : null;
}

sources.register({
  kind: 'stream',
  summary: 'capture-format frames arriving asynchronously from a file/FIFO (path) or TCP (listen), through a bounded ingress queue',
  schema: streamSourceSchema as unknown as z.ZodType<StreamSourceConfig>,
  create(config, ctx) {
    const c = config as StreamSourceConfig;
    if (frameBytes(c) <= 0) throw new ConfigError('source.shape', 'frames must have at least one byte');
    return createStreamSource(c, ctx);
  },
});
