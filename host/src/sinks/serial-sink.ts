import { z } from 'zod';
import { LinkError, SinkError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { encodePacket, PacketType } from '../link/packet.js';
import { encodeHeartbeat, encodeTrigger, readAck } from '../link/payloads.js';
import { LinkReceiver } from '../link/receiver.js';
import { SerialLine, serialLineSchema, type PortFactory } from '../link/serial-link.js';
import { slipEncode } from '../link/slip.js';
import type { TriggerEvent } from '../metrics/snapshot.js';
import { realTimers, type TimerScheduler } from '../sources/source.js';
import { countError, zeroCounters, type BackpressurePolicy, type Sink, type SinkContext, type SinkCounters } from './sink.js';

/** A `serial` sink: trigger commands to an actuator (a sorter) over a serial line, acknowledged. */
export const serialSinkSchema = serialLineSchema
  .extend({
    /** A command not acknowledged within this time is sent again (same sequence number). */
    ackTimeoutMs: z.number().int().min(1).max(60_000).default(50),
    /** Sends of one command at most (the first and the retransmissions); then it is given up and counted. */
    sendsMax: z.number().int().min(1).max(100).default(4),
  })
  .strict();
export type SerialSinkOptions = z.output<typeof serialSinkSchema>;

interface Pending {
  seq: number;
  frame: Uint8Array;
  sends: number;
  sentAtMs: number;
}

/**
 * Sends every `trigger` record (not `missed` ones: nothing to actuate) as a trigger command
 * (docs/serial-protocol.md), one sequence number each, and keeps it until the device
 * acknowledges it; a command unacknowledged after `ackTimeoutMs` is sent again with the same
 * sequence number (the device acts on a sequence number once), at most `sendsMax` times,
 * then given up (counted as dropped, reported as E_SINK). Commands wait while the line is
 * gone and are sent again, in order, when it is back. Policy `block`: at
 * `serialPendingTriggersMax` unacknowledged commands `ready()` is false, so the trigger
 * ring's drop-oldest decides and counts what is lost, never this sink silently.
 */
export class SerialSink implements Sink {
  readonly name: string;
  readonly policy: BackpressurePolicy = 'block';
  readonly urgent = true;
  retransmits = 0;
  private readonly c: SinkCounters = zeroCounters();
  private readonly pending = new Map<number, Pending>();
  private readonly line: SerialLine;
  private readonly rx: LinkReceiver;
  private seq = 0;
  private timer: unknown = null;
  private closed = false;
  // Ack timeouts are milliseconds off the hot path, and a sink's context carries no clock: the
  // monotonic performance clock, never the wall clock (a clock step must not fire retransmissions).
  private readonly startedMs = performance.now();

  constructor(
    private readonly opts: SerialSinkOptions,
    private readonly ctx: SinkContext,
    private readonly timers: TimerScheduler = realTimers,
    ports?: PortFactory,
  ) {
    this.name = `serial ${opts.path}`;
    this.rx = new LinkReceiver(this.name, 1024, (p) => {
      if (p.type === PacketType.ack) this.acked(readAck(p, this.name).ackedSeq);
    }, (e: LinkError) => ctx.log?.(e.message));
    this.line = new SerialLine(opts, { onData: (c) => this.rx.push(c), onOpen: () => this.resendAll(), log: (l) => ctx.log?.(l) }, timers, ports);
    this.line.start();
    this.tick();
  }

  write(events: readonly TriggerEvent[]): void {
    for (const e of events) {
      if (e.kind !== 'trigger') continue;
      this.c.accepted++;
      if (this.closed) {
        this.c.dropped++;
        continue;
      }
      const seq = this.seq;
      this.seq = (this.seq + 1) & 0xffff;
      const id = e.id !== null && /^\d+$/.test(e.id) ? BigInt(e.id) : null;
      const frame = slipEncode(encodePacket(PacketType.trigger, seq, encodeTrigger({ frameSeq: e.seq, classIndex: e.classIndex, score: e.score, sensorNs: e.sensorNs, id })));
      const p: Pending = { seq, frame, sends: 0, sentAtMs: 0 };
      this.pending.set(seq, p);
      this.send(p);
    }
  }

  ready(): boolean {
    return this.pending.size < limits.serialPendingTriggersMax;
  }

  /** Resolves when every command sent so far is acknowledged or given up. */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.pending.size === 0) resolve();
        else this.timers.setTimeout(check, 5);
      };
      check();
    });
  }

  flushSync(): void {}

  async close(): Promise<void> {
    if (this.closed) return;
    // Waits for the acks (bounded: every command is given up after sendsMax timeouts while the line is open).
    await Promise.race([this.flush(), new Promise<void>((r) => this.timers.setTimeout(r, this.opts.ackTimeoutMs * this.opts.sendsMax + 1000))]);
    this.closed = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.c.dropped += this.pending.size;
    this.pending.clear();
    await this.line.stop();
  }

  counters(): SinkCounters {
    return { ...this.c, errors: { ...this.c.errors } };
  }

  /** The link's counters, for the snapshot's `transport`. */
  transportCounters(): Record<string, Record<string, number>> {
    return { [this.name]: { ...this.rx.counts, reconnects: this.line.reconnects, writesRefused: this.line.writesRefused, retransmits: this.retransmits } };
  }

  private send(p: Pending): void {
    if (!this.line.isOpen || !this.line.write(p.frame)) return; // sent again on open or on the next tick
    if (p.sends > 0) this.retransmits++;
    p.sends++;
    p.sentAtMs = performance.now();
    this.c.bytes += p.frame.length;
  }

  private acked(seq: number): void {
    if (!this.pending.delete(seq)) return; // a late ack of a retransmitted command
    this.c.written++;
  }

  private resendAll(): void {
    for (const p of this.pending.values()) this.send(p);
  }

  /** Retransmits overdue commands, gives up exhausted ones, and sends a heartbeat. */
  private readonly tick = (): void => {
    const now = performance.now();
    if (this.line.isOpen) {
      for (const p of this.pending.values()) {
        if (p.sends > 0 && now - p.sentAtMs < this.opts.ackTimeoutMs) continue;
        if (p.sends >= this.opts.sendsMax) {
          this.pending.delete(p.seq);
          this.c.dropped++;
          countError(this.c, new SinkError(this.name, `trigger command seq ${p.seq} not acknowledged after ${p.sends} sends ${this.opts.ackTimeoutMs} ms apart; given up`), this.ctx.onError);
        } else this.send(p);
      }
      if (this.opts.heartbeatMs > 0 && this.pending.size === 0) this.heartbeatIfDue(now);
    }
    this.timer = this.timers.setTimeout(this.tick, Math.max(1, Math.min(this.opts.ackTimeoutMs, 50)));
  };

  private lastBeatMs = 0;
  private heartbeatIfDue(now: number): void {
    if (now - this.lastBeatMs < this.opts.heartbeatMs) return;
    this.lastBeatMs = now;
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    this.line.write(slipEncode(encodePacket(PacketType.heartbeat, seq, encodeHeartbeat(now - this.startedMs, seq))));
  }
}

/** Factory for the registry. */
export function createSerialSink(opts: SerialSinkOptions, ctx: SinkContext): SerialSink {
  return new SerialSink(opts, ctx);
}
