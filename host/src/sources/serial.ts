import { z } from 'zod';
import { ConfigError, LinkError } from '../core/errors.js';
import { frameBytes, type FrameSpec } from '../core/frame.js';
import { limits } from '../core/limits.js';
import { encodePacket, PacketType, type PacketView } from '../link/packet.js';
import { dataHead, encodeHeartbeat, FrameKind, readDataFrame, readErrorReport, type FrameKindName } from '../link/payloads.js';
import { LinkReceiver, type LinkCounts } from '../link/receiver.js';
import { SerialLine, serialLineSchema, type PortFactory } from '../link/serial-link.js';
import { slipEncode } from '../link/slip.js';
import { ingressConfigSchema, IngressQueue, type IngressCounts } from './ingress.js';
import { sources, type SourceContext } from './registry.js';
import type { Source } from './source.js';

/** The frame declaration every link source shares (serial, websocket): what its data frames carry. */
export const linkFramesSchema = z.object({
  stream: z.string().min(1),
  shape: z.array(z.number().int().min(1)).min(1),
  dtype: z.enum(['uint8', 'int16', 'float32']),
  labels: z.array(z.string().min(1)).optional(),
  /** The data frames' kind byte this source takes: frame (fixed bytes), alert (Confluent message), pcm (s16le chunk). */
  frameKind: z.enum(['frame', 'alert', 'pcm']).default('frame'),
  /** Largest packet payload accepted (a longer SLIP frame is an overrun, a longer message oversize). */
  payloadBytesMax: z.number().int().min(64).max(limits.linkPayloadBytesMax).default(limits.linkPayloadBytesMax),
  /** A link cannot be paused without losing what is in flight (a device keeps sending): `block` is refused; drop-newest or drop-oldest, counted. */
  queue: ingressConfigSchema
    .partial({ policy: true })
    .refine((q) => q.policy !== 'block', 'a link source (serial, ws) takes policy drop-newest or drop-oldest: a device keeps sending, so a refused frame would be lost uncounted')
    .optional(),
});

/** A `serial` source: data-frame packets (docs/serial-protocol.md) from a serial device, SLIP-framed. */
export const serialSourceSchema = serialLineSchema.extend({ kind: z.literal('serial') }).extend(linkFramesSchema.shape).strict();
export type SerialSourceConfig = z.output<typeof serialSourceSchema>;

/** What a link source exports beside its frames: per component, flat counters (snapshot `transport`). */
export interface TransportCounted {
  transportCounters(): Record<string, Record<string, number>>;
}

/** A `serial` source: its queue's and link's counters. */
export interface SerialSource extends Source, TransportCounted {
  readonly ingress: IngressCounts;
  readonly link: LinkCounts;
}

/**
 * Hands a link's data frames to an ingress queue: checks the kind byte, maps the frame's
 * sequence number, sensor time and label. Shared by the serial and websocket sources.
 */
export function dataFrameOffer(kind: FrameKindName, queue: IngressQueue, where: string, error: (e: LinkError) => void): (p: PacketView) => void {
  const head = dataHead();
  const want = FrameKind[kind];
  return (p) => {
    if (p.type !== PacketType.data) return;
    try {
      readDataFrame(p, where, head);
    } catch (err) {
      return error(err as LinkError);
    }
    if (head.kind !== want) return error(new LinkError(where, 'kind', `data frame seq ${p.seq} carries kind ${head.kind}; this source takes ${kind} (${want})`));
    queue.offer(p.bytes.subarray(head.frameOffset, head.frameOffset + head.frameLength), head.frameSeq, head.sensorNs, head.label);
  };
}

/** Builds a `serial` source (see `serialSourceSchema`); `ports` is injected by tests. */
export function createSerialSource(cfg: SerialSourceConfig, ctx: SourceContext, ports?: PortFactory): SerialSource {
  const spec: FrameSpec = { stream: cfg.stream, shape: cfg.shape, dtype: cfg.dtype, labels: cfg.labels };
  const queue = new IngressQueue(ingressConfigSchema.parse({ ...cfg.queue, policy: cfg.queue?.policy ?? 'drop-oldest' }), ctx.clock, ctx.timers);
  const where = `serial ${cfg.path}`;
  const offer = dataFrameOffer(cfg.frameKind, queue, where, (e) => ctx.error(e));
  const rx = new LinkReceiver(where, cfg.payloadBytesMax, (p) => {
    if (p.type === PacketType.error) {
      const r = readErrorReport(p, where);
      ctx.error(new LinkError(where, 'device', `the device reports error ${r.code} about its seq ${r.refSeq}: ${r.message}`));
    } else offer(p);
  }, (e) => ctx.error(e));
  let seq = 0;
  let heartbeat: unknown = null;
  const startedNs = ctx.clock.nowNs();
  const line = new SerialLine(cfg, { onData: (c) => rx.push(c), onOpen: () => rx.resync(), log: ctx.log }, ctx.timers, ports);
  // Host heartbeats: a write is what makes a vanished pty or USB device show (serialport #2043).
  const beat = (): void => {
    if (line.isOpen) line.write(slipEncode(encodePacket(PacketType.heartbeat, seq++, encodeHeartbeat((ctx.clock.nowNs() - startedNs) / 1e6, seq))));
    heartbeat = ctx.timers.setTimeout(beat, cfg.heartbeatMs > 0 ? cfg.heartbeatMs : 1000);
  };
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  return {
    spec,
    ingress: queue.counts,
    link: rx.counts,
    done,
    get delivered() {
      return queue.counts.delivered;
    },
    transportCounters: () => ({ [where]: { ...rx.counts, reconnects: line.reconnects, writesRefused: line.writesRefused, framesAccepted: queue.counts.accepted, framesDropped: queue.counts.droppedNewest + queue.counts.droppedOldest + queue.counts.oversize } }),
    start(sink) {
      queue.attach(sink);
      line.start();
      if (cfg.heartbeatMs > 0) beat();
    },
    async stop() {
      if (heartbeat !== null) ctx.timers.clearTimeout(heartbeat);
      await line.stop();
      // The line offers nothing more: what the queue accepted is decided before the logs close.
      queue.flushAndStop();
      rx.counts.reconnects = line.reconnects;
      resolveDone();
    },
  };
}

sources.register({
  kind: 'serial',
  summary: 'data-frame packets (docs/serial-protocol.md) from a serial device, SLIP-framed, with reconnect and link counters',
  schema: serialSourceSchema as unknown as z.ZodType<SerialSourceConfig>,
  create(config, ctx) {
    const c = config as SerialSourceConfig;
    if (frameBytes(c) <= 0) throw new ConfigError('source.shape', 'frames must have at least one byte');
    return createSerialSource(c, ctx);
  },
});
