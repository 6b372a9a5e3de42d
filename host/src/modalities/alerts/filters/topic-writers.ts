import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { assert } from '../../../core/assert.js';
import { type ConfigError, SinkError, isOperatingError } from '../../../core/errors.js';
import { limits } from '../../../core/limits.js';
import { JetStreamPublisher, jetStreamTargetSchema } from '../../../sinks/jetstream-publisher.js';
import { JsonlSink } from '../../../sinks/jsonl-sink.js';
import { zeroCounters, type SinkCounters } from '../../../sinks/sink.js';
import type { TimerScheduler } from '../../../sources/source.js';
import type { AlertView } from '../types.js';
import { AvroTopicFile } from './avro-topic-file.js';
import { encodeExtension, extendSchema, extensionOf } from './extension.js';
import { filtersSchema } from './filters.js';
import type { TopicRouter } from './router.js';
import type { Scores } from './scores.js';

/** Where and how topics are written (`topics:` of the pipeline config). */
export const topicWritersSchema = z
  .object({
    /** Folder of the topic files: `<topic>.<schema tag>.<run>.<part>.avro` and `<topic>.<run>.<part>.jsonl`. */
    path: z.string().min(1),
    /** Avro block codec. */
    codec: z.enum(['null', 'deflate']).default('deflate'),
    /**
     * zlib level of `deflate`. 1 by default: on the real ZTF 4.02 packets (cutouts already
     * gzip-compressed) level 1 and level 6 both keep about 91% of the bytes, and level 1
     * compresses 1.7 times faster (bench/alert-routing.ts, bench/README.md).
     */
    deflateLevel: z.number().int().min(1).max(9).default(1),
    /** A part grows to this many bytes before the next one starts. */
    fileBytesMax: z.number().int().min(1).max(limits.triggerLogFileBytesMax).default(limits.triggerLogFileBytesMax),
    /** Bytes a topic holds before its further alerts are dropped (drop-newest, counted). */
    bufferedBytesMax: z.number().int().min(0).max(limits.topicBufferedBytesMax).default(limits.topicBufferedBytesMax),
    /**
     * Also publish each topic's JSON line to JetStream on `<subject>.<topic>` with `Nats-Msg-Id`
     * `<msgIdPrefix>.<alert id>.<topic>`: once per alert and topic however often the alert is
     * decided (docs/nats.md).
     */
    nats: jetStreamTargetSchema.optional(),
  })
  .strict();
export type TopicWritersOptions = z.output<typeof topicWritersSchema>;

/** The alert routing part of a pipeline config: the filters and where their topics go. */
export const alertRoutingSchema = z.object({ filters: filtersSchema, topics: topicWritersSchema }).strict();

/** What the composition root gives the writers. */
export interface TopicWritersContext {
  /** This run's id: file names carry it, so no run overwrites another's. */
  runId: string;
  /** The transient classifier's classes, naming `Scores.probabilities`. */
  classes: readonly string[];
  resolvePath(path: string): string;
  /** Operating errors the writers survive (a failed write, a schema that cannot be extended); also counted. */
  onError(err: SinkError | ConfigError): void;
  /**
   * Schedules the flush (`limits.flushIntervalMs` after the first write since the last
   * flush). Without it the owner calls `handOff` from its own flush loop (a FrameRouter's
   * `flush` on the daemon's timer).
   */
  timers?: TimerScheduler;
}

/** Counters of one topic (monotonic). */
export interface TopicCounters {
  /** Alerts handed to the topic. */
  accepted: number;
  /** Alerts not written because the topic held `bufferedBytesMax` (drop-newest). */
  dropped: number;
  /** The Avro containers (every writer schema): records reaching the OS, bytes, errors by code. */
  avro: SinkCounters;
  jsonl: SinkCounters;
  /** With `nats`: lines published to JetStream (written: stored, bytes; errors by code). */
  nats?: SinkCounters;
}

interface Topic {
  name: string;
  /** One container per writer schema, by schema tag; null when the schema cannot be extended. */
  files: Map<string, AvroTopicFile | null>;
  jsonl: JsonlSink;
  lines: object[];
  accepted: number;
  dropped: number;
  avro: SinkCounters;
  nats: SinkCounters;
}

/** The lock bases of the topics (`<dir>/<topic>`): the composition root locks them as it locks sink bases. */
export function topicBasePaths(opts: TopicWritersOptions, topics: readonly string[], resolvePath: (p: string) => string): string[] {
  return topics.map((t) => join(resolvePath(opts.path), t));
}

/**
 * The topic files of a run: for each topic, one Avro container per writer schema holding
 * each routed packet with hairtrigger's fields appended (extension.ts), and one JSON lines
 * file with a summary line per alert. `write` only gathers (copies the record bytes, encodes
 * the few appended fields); compression and disk writes happen on the flush timer, at
 * `flush` and at `close`. Never throws an operating error: failures are counted per topic
 * and passed to `onError`.
 */
export class TopicWriters {
  private readonly topics = new Map<string, Topic>();
  private readonly opts: TopicWritersOptions;
  private readonly ctx: TopicWritersContext;
  private readonly dir: string;
  private readonly tags = new WeakMap<object, string>();
  private timer: unknown = null;
  private closed = false;
  private readonly publisher: JetStreamPublisher | null;
  private readonly encoder = new TextEncoder();

  /**
   * Opens the JSON lines file of every topic now (a file already there is a SinkError:
   * another run's); Avro containers are created as writer schemas appear. `schemas`, the
   * writer schemas known at start-up, are checked now: one that the added fields collide with
   * is a ConfigError.
   */
  constructor(opts: TopicWritersOptions, ctx: TopicWritersContext, topics: readonly string[], schemas: readonly unknown[] = []) {
    this.opts = opts;
    this.ctx = ctx;
    this.dir = ctx.resolvePath(opts.path);
    for (const s of schemas) extendSchema(s, `topics ${this.dir}`);
    for (const name of topics) {
      const jsonl = new JsonlSink(
        { path: join(this.dir, `${name}.jsonl`), fileBytesMax: opts.fileBytesMax, bufferedBytesMax: opts.bufferedBytesMax },
        { runId: ctx.runId, labels: ctx.classes, resolvePath: (p) => p, onError: ctx.onError },
      );
      this.topics.set(name, { name, files: new Map(), jsonl, lines: [], accepted: 0, dropped: 0, avro: zeroCounters(), nats: zeroCounters() });
    }
    const nats = opts.nats;
    this.publisher = nats === undefined ? null : new JetStreamPublisher(nats, `topics ${nats.subject} (${ctx.runId})`, ctx.onError);
  }

  /** Writes the alert to every topic the router's last `route` sent it to. */
  writeRouted(alert: AlertView, scores: Scores, router: TopicRouter): void {
    for (const t of router.last.topics) this.write(alert, scores, t, router.matchedFilters(t));
  }

  /** Writes `alert` to `topic` (one the writers were created with), recording the filters that matched. */
  write(alert: AlertView, scores: Scores, topic: string, filters: readonly string[]): void {
    const t = this.topics.get(topic);
    assert(t !== undefined, 'alerts are written to the topics the writers were made for');
    t.accepted++;
    if (this.closed) {
      t.dropped++;
      this.ctx.onError(new SinkError(`topic ${topic}`, `alert ${alert.id} written after close was dropped`));
      return;
    }
    const file = this.fileFor(t, alert);
    if ((file?.bufferedBytes ?? 0) > this.opts.bufferedBytesMax || !t.jsonl.ready()) {
      t.dropped++;
      return;
    }
    // The extended record is the original record's bytes followed by the appended fields'
    // encoding (a record is the concatenation of its fields): nothing is decoded or re-encoded.
    // The bytes are copied into the block (once): the decoder's buffer may be reused after this.
    if (file !== null) t.avro.accepted++;
    if (file !== null) file.add([alert.bytes, encodeExtension(extensionOf(this.ctx.runId, topic, [...filters], scores, this.ctx.classes))]);
    t.lines.push(this.line(alert, scores, topic, filters));
    this.arm();
  }

  private line(alert: AlertView, scores: Scores, topic: string, filters: readonly string[]): object {
    let p: Record<string, number> | null = null;
    if (scores.probabilities !== null) {
      p = {};
      for (let i = 0; i < this.ctx.classes.length; i++) p[this.ctx.classes[i]] = scores.probabilities[i];
    }
    return {
      topic,
      filter: filters[0] ?? null,
      filters: [...filters],
      id: alert.id.toString(),
      objectId: alert.objectId,
      jd: alert.jd,
      class: scores.class,
      score: scores.score,
      realbogus: scores.realbogus,
      p,
      survey: alert.survey,
      schema: alert.schema.name,
      schemaId: alert.schema.id,
      source: alert.source,
      index: alert.index,
      run: this.ctx.runId,
    };
  }

  /** The container for the alert's writer schema, created on first use; null when it cannot be made. */
  private fileFor(t: Topic, alert: AlertView): AvroTopicFile | null {
    const tag = this.tagOf(alert);
    let file = t.files.get(tag);
    if (file !== undefined) return file;
    const base = join(this.dir, `${t.name}.${tag}.avro`);
    try {
      file = new AvroTopicFile(
        { base, runId: this.ctx.runId, schema: extendSchema(alert.schema.json, base), codec: this.opts.codec, deflateLevel: this.opts.deflateLevel, fileBytesMax: this.opts.fileBytesMax },
        {
          onError: (err) => this.count(t, err),
          onWritten: (records, bytes) => {
            t.avro.written += records;
            t.avro.bytes += bytes;
          },
        },
      );
    } catch (err) {
      if (!isOperatingError(err)) throw err;
      // The JSON lines file still gets these alerts; the error is counted once per schema.
      this.count(t, err as SinkError | ConfigError);
      file = null;
    }
    t.files.set(tag, file);
    return file;
  }

  private count(t: Topic, err: SinkError | ConfigError): void {
    t.avro.errors[err.code] = (t.avro.errors[err.code] ?? 0) + 1;
    this.ctx.onError(err);
  }

  /** `<schema name>-<8 hex of the schema's hash>`: one file series per distinct writer schema. */
  private tagOf(alert: AlertView): string {
    // Cached by the schema object (the decoder compiles each schema once and shares its JSON).
    const key = typeof alert.schema.json === 'object' && alert.schema.json !== null ? alert.schema.json : alert.schema;
    let tag = this.tags.get(key);
    if (tag === undefined) {
      const hash = createHash('sha256').update(JSON.stringify(alert.schema.json)).digest('hex').slice(0, 8);
      tag = `${alert.schema.name.replace(/[^A-Za-z0-9_-]/g, '_')}-${hash}`;
      this.tags.set(key, tag);
    }
    return tag;
  }

  private arm(): void {
    const timers = this.ctx.timers;
    if (this.timer !== null || timers === undefined) return;
    this.timer = timers.setTimeout(() => {
      this.timer = null;
      this.handOff();
    }, limits.flushIntervalMs);
  }

  /**
   * Seals every block (its compression starts) and hands the gathered lines to the JSON lines
   * files, without waiting for the disk: what the flush timer does. Synchronous and cheap.
   */
  handOff(): void {
    for (const t of this.topics.values()) {
      for (const f of t.files.values()) f?.seal();
      if (t.lines.length === 0) continue;
      const lines = t.lines.splice(0);
      if (this.publisher !== null) this.publish(t, lines as Array<{ id: string }>);
      // The JSON lines sink writes any JSON record a line; its parameter type names the trigger log's.
      t.jsonl.write(lines as unknown as Parameters<JsonlSink['write']>[0]);
    }
  }

  private publish(t: Topic, lines: ReadonlyArray<{ id: string }>): void {
    const { subject, msgIdPrefix } = this.opts.nats!;
    for (const line of lines) {
      const data = this.encoder.encode(JSON.stringify(line));
      t.nats.accepted++;
      this.publisher!.publish(`${subject}.${t.name}`, data, `${msgIdPrefix}.${line.id}.${t.name}`, () => {
        t.nats.written++;
        t.nats.bytes += data.byteLength;
      });
    }
  }

  /** Resolves when everything written so far is on disk. */
  async flush(): Promise<void> {
    this.handOff();
    await Promise.all([...this.topics.values()].flatMap((t) => [t.jsonl.flush(), ...[...t.files.values()].map((f) => f?.flush())]));
    await this.publisher?.flush();
  }

  /** Writes everything now, synchronously (fatal exit path). */
  flushSync(): void {
    this.handOff();
    for (const t of this.topics.values()) {
      for (const f of t.files.values()) f?.flushSync();
      t.jsonl.flushSync();
    }
  }

  /** Flushes and closes every file; later writes are refused. Idempotent. */
  async close(): Promise<void> {
    if (this.timer !== null) this.ctx.timers?.clearTimeout(this.timer);
    this.timer = null;
    this.closed = true;
    this.handOff();
    await Promise.all([...this.topics.values()].flatMap((t) => [t.jsonl.close(), ...[...t.files.values()].map((f) => f?.close())]));
    await this.publisher?.close();
  }

  /** A copy of every topic's counters. */
  counters(): Record<string, TopicCounters> {
    const out: Record<string, TopicCounters> = {};
    for (const t of this.topics.values()) out[t.name] = { accepted: t.accepted, dropped: t.dropped, avro: { ...t.avro, errors: { ...t.avro.errors } }, jsonl: t.jsonl.counters(), ...(this.publisher !== null ? { nats: { ...t.nats, errors: { ...t.nats.errors } } } : {}) };
    return out;
  }
}
