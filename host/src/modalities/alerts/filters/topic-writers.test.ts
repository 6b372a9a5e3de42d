import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, SinkError } from '../../../core/errors.js';
import { limits } from '../../../core/limits.js';
import { manualTimers } from '../../../core/manual-timers.js';
import { lockOutputs } from '../../../sinks/lock.js';
import { runFiles } from '../../../sinks/log-files.js';
import { compileWriterSchema } from '../avro/schema.js';
import type { AlertView } from '../types.js';
import { EXTENSION_FIELDS } from './extension.js';
import { compileFilters } from './filters.js';
import { TopicRouter } from './router.js';
import { CLASSES, madeUpScores, REPLAY_FILTERS, replayAlerts, replayCatalogues, testAlert } from './testing.js';
import { emptyScores, type Scores } from './scores.js';
import { topicBasePaths, TopicWriters, topicWritersSchema, type TopicWritersOptions } from './topic-writers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ht-topics-'));
  dirs.push(d);
  return d;
}

/** Every record of a container file, read by avsc's own decoder (the writer schema from the header, longs as bigint). */
async function readBack(path: string): Promise<{ records: Record<string, unknown>[]; codec: string; schema: { fields: Array<{ name: string }> } }> {
  const records: Record<string, unknown>[] = [];
  let codec = '';
  let schema: { fields: Array<{ name: string }> } = { fields: [] };
  await new Promise<void>((res, rej) => {
    avro
      .createFileDecoder(path, { parseHook: (s: unknown) => compileWriterSchema(s).type } as never)
      .on('metadata', (_t: unknown, c: string, header: { meta: Record<string, Buffer> }) => {
        codec = c;
        schema = JSON.parse(header.meta['avro.schema'].toString()) as typeof schema;
      })
      .on('data', (r: Record<string, unknown>) => records.push(r))
      .on('error', rej)
      .on('end', () => res());
  });
  return { records, codec, schema };
}

/** A record as JSON text (bigint and bytes spelled out): compared as strings, because vitest's
 * deep equality walks 100 kB cutouts byte by byte and takes seconds per alert. */
function plain(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Buffer.from(x).toString('base64') : isBufferJson(x) ? Buffer.from(x.data).toString('base64') : x));
}
function isBufferJson(x: unknown): x is { data: number[] } {
  return typeof x === 'object' && x !== null && (x as { type?: unknown }).type === 'Buffer' && Array.isArray((x as { data?: unknown }).data);
}

function splitRecord(r: Record<string, unknown>): { original: Record<string, unknown>; added: Record<string, unknown> } {
  const original: Record<string, unknown> = {};
  const added: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) (k.startsWith('hairtrigger_') ? added : original)[k] = v;
  return { original, added };
}

function writers(dir: string, runId: string, opts: Partial<TopicWritersOptions>, topics: readonly string[], schemas: unknown[] = []) {
  const errors: Array<SinkError | ConfigError> = [];
  const t = manualTimers();
  const w = new TopicWriters(topicWritersSchema.parse({ path: dir, ...opts }), { runId, classes: CLASSES, resolvePath: (p) => p, onError: (e) => errors.push(e), timers: t.timers }, topics, schemas);
  return { w, t, errors };
}

interface Sent {
  alert: AlertView;
  filters: string[];
  scores: Scores;
}

describe('TopicWriters on a real replay', () => {
  it('writes each topic as Avro containers (one per writer schema) whose records are the packets plus the routed fields, and JSON lines', async () => {
    const dir = tempDir();
    const router = new TopicRouter(compileFilters(REPLAY_FILTERS, { catalogues: replayCatalogues(), classes: CLASSES }));
    const { w, t, errors } = writers(dir, 'run1', {}, router.topics);
    const sent = new Map<string, Sent[]>();
    const scores = emptyScores();
    for (const a of replayAlerts()) {
      router.route(a, madeUpScores(a, scores));
      w.writeRouted(a, scores, router);
      for (const topic of router.last.topics) sent.set(topic, [...(sent.get(topic) ?? []), { alert: a, filters: router.matchedFilters(topic), scores: { ...scores } }]);
      if (t.pending() !== null) expect(t.pending()!.ms).toBe(limits.flushIntervalMs);
    }
    t.run(); // the flush timer: blocks sealed and compressing, lines handed to the JSON lines files
    await w.close();
    expect(errors).toEqual([]);
    expect(new Set(sent.keys())).toEqual(new Set(['bright', 'ztf-real', 'sn', 'rubin', 'history']));
    for (const [topic, expected] of sent) await checkTopic(dir, topic, expected, 'deflate');
    const c = w.counters();
    for (const [topic, expected] of sent) expect(c[topic]).toMatchObject({ accepted: expected.length, dropped: 0, avro: { accepted: expected.length, written: expected.length }, jsonl: { written: expected.length } });
  }, 180_000); // ~700 real packets deflated, written and read back: seconds, more beside two CPU hogs
});

/** Reads a topic's files back and holds them against what was sent, in order. */
async function checkTopic(dir: string, topic: string, expected: Sent[], codec: string): Promise<void> {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${topic}.`) && f.endsWith('.avro'));
  const bySchema = new Map<string, Sent[]>();
  for (const s of expected) bySchema.set(s.alert.schema.name + JSON.stringify(s.alert.schema.json), [...(bySchema.get(s.alert.schema.name + JSON.stringify(s.alert.schema.json)) ?? []), s]);
  expect(files.length, topic).toBe(bySchema.size);
  for (const f of files) {
    const back = await readBack(join(dir, f));
    expect(back.codec).toBe(codec);
    // The schema is the writer's, extended: its own fields, then hairtrigger's at the end.
    const own = back.schema.fields.length - EXTENSION_FIELDS.length;
    expect(back.schema.fields.slice(own)).toEqual(EXTENSION_FIELDS);
    const writer = JSON.stringify({ ...back.schema, fields: back.schema.fields.slice(0, own) });
    const group = expected.filter((s) => JSON.stringify(s.alert.schema.json) === writer);
    expect(back.records.length, f).toBe(group.length);
    back.records.forEach((r, i) => {
      const { original, added } = splitRecord(r);
      const s = group[i];
      expect(plain(original), `${f} record ${i}`).toBe(plain(s.alert.value));
      expect(added).toEqual({
        hairtrigger_run: 'run1',
        hairtrigger_topic: topic,
        hairtrigger_filters: s.filters,
        hairtrigger_class: s.scores.class,
        hairtrigger_score: s.scores.score,
        hairtrigger_realbogus: s.scores.realbogus,
        hairtrigger_probabilities: Object.fromEntries(CLASSES.map((c, k) => [c, s.scores.probabilities![k]])),
      });
    });
  }
  const lines = runFiles(join(dir, `${topic}.jsonl`), 'run1').flatMap((p) => readFileSync(p, 'utf8').trim().split('\n')).map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.map((l) => [l.topic, l.filter, l.id, l.objectId, l.jd, l.class, l.score, l.realbogus])).toEqual(
    expected.map((s) => [topic, s.filters[0], s.alert.id.toString(), s.alert.objectId, s.alert.jd, s.scores.class, s.scores.score, s.scores.realbogus]),
  );
}

// A small schema for the cases that do not need real packets.
const SMALL = {
  type: 'record',
  name: 'ztf.alert',
  fields: [
    { name: 'objectId', type: 'string' },
    { name: 'candid', type: 'long' },
    { name: 'candidate', type: { type: 'record', name: 'candidate', fields: [{ name: 'jd', type: 'double' }, { name: 'drb', type: ['null', 'float'] }, { name: 'blob', type: 'bytes' }] } },
  ],
};
const small = (i: number) => testAlert(SMALL, { objectId: `ZTF${i}`, candid: 2485226160015015000n + BigInt(i), candidate: { jd: 2460000 + i, drb: i % 2 === 0 ? null : 0.5, blob: Buffer.alloc(2000, i) } }, i);

describe('TopicWriters files', () => {
  it('starts a new part at the size bound, each part a whole container (codec null)', async () => {
    const dir = tempDir();
    const { w } = writers(dir, 'r2', { codec: 'null', fileBytesMax: 20_000 }, ['t']);
    const scores = emptyScores();
    for (let i = 0; i < 60; i++) {
      w.write(small(i), scores, 't', ['f']);
      if (i % 7 === 6) await w.flush(); // several blocks
    }
    await w.close();
    const parts = readdirSync(dir).filter((f) => f.endsWith('.avro')).sort();
    expect(parts.length).toBeGreaterThan(3);
    const ids: bigint[] = [];
    for (const p of parts) for (const r of (await readBack(join(dir, p))).records) ids.push(r.candid as bigint);
    expect(ids).toEqual(Array.from({ length: 60 }, (_x, i) => 2485226160015015000n + BigInt(i)));
  });

  it('never writes over another run: the same run id again is a SinkError, a new run writes beside it', async () => {
    const dir = tempDir();
    const first = writers(dir, 'r3', {}, ['t']);
    first.w.write(small(1), emptyScores(), 't', ['f']);
    await first.w.close();
    const before = new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]));
    expect(() => writers(dir, 'r3', {}, ['t'])).toThrow(SinkError);
    const second = writers(dir, 'r4', {}, ['t']);
    second.w.write(small(2), emptyScores(), 't', ['f']);
    await second.w.close();
    for (const [f, bytes] of before) expect(readFileSync(join(dir, f)).equals(bytes), f).toBe(true);
    expect(readdirSync(dir).length).toBe(2 * before.size);
  });

  it('gives the composition root one lock base a topic: a second daemon on the same topics is refused', () => {
    const dir = tempDir();
    const opts = topicWritersSchema.parse({ path: 'topics' });
    const bases = topicBasePaths(opts, ['sn', 'bright'], (p) => join(dir, p));
    expect(bases).toEqual([join(dir, 'topics', 'sn'), join(dir, 'topics', 'bright')]);
    const held = lockOutputs(bases, { pid: 1000, alive: () => true });
    expect(() => lockOutputs([bases[1]], { pid: 2000, alive: () => true })).toThrow(/in use by process 1000/);
    for (const l of held) l.release();
  });

  it('refuses a writer schema that already has a hairtrigger_ field: at start-up, and counted once when one arrives', async () => {
    const clash = { ...SMALL, name: 'clash', fields: [...SMALL.fields, { name: 'hairtrigger_class', type: 'string' }] };
    expect(() => writers(tempDir(), 'r5', {}, ['t'], [clash])).toThrow(/hairtrigger_class.*collide/);
    const dir = tempDir();
    const { w, errors } = writers(dir, 'r6', {}, ['t']);
    const v = { objectId: 'ZTF1', candid: 1n, candidate: { jd: 1, drb: null, blob: Buffer.alloc(1) }, hairtrigger_class: 'x' };
    w.write(testAlert(clash, v), emptyScores(), 't', ['f']);
    w.write(testAlert(clash, v), emptyScores(), 't', ['f']);
    await w.close();
    expect(errors.map((e) => e.code)).toEqual(['E_CONFIG']);
    expect(w.counters().t).toMatchObject({ accepted: 2, avro: { accepted: 0, errors: { E_CONFIG: 1 } }, jsonl: { written: 2 } });
  });

  it('writes nothing during write(): the flush timer hands the alerts to the files', async () => {
    const dir = tempDir();
    const { w, t } = writers(dir, 'r9', {}, ['t']);
    for (let i = 0; i < 5; i++) w.write(small(i), emptyScores(), 't', ['f']);
    await new Promise((res) => setTimeout(res, 20)); // any write the caller's turn started would land now
    const avroFile = join(dir, readdirSync(dir).find((f) => f.endsWith('.avro'))!);
    const jsonlFile = join(dir, readdirSync(dir).find((f) => f.endsWith('.jsonl'))!);
    expect((await readBack(avroFile)).records.length).toBe(0);
    expect(readFileSync(jsonlFile, 'utf8')).toBe('');
    expect(t.pending()).toMatchObject({ kind: 'timeout', ms: limits.flushIntervalMs });
    t.run();
    await w.flush();
    expect((await readBack(avroFile)).records.length).toBe(5);
    expect(readFileSync(jsonlFile, 'utf8').trim().split('\n').length).toBe(5);
    await w.close();
  });

  it('without timers, the owner hands the alerts to the files (handOff on its flush loop)', async () => {
    const dir = tempDir();
    const w = new TopicWriters(topicWritersSchema.parse({ path: dir }), { runId: 'r10', classes: CLASSES, resolvePath: (p) => p, onError: (e) => { throw e; } }, ['t']);
    for (let i = 0; i < 3; i++) w.write(small(i), emptyScores(), 't', ['f']);
    const avroFile = join(dir, readdirSync(dir).find((f) => f.endsWith('.avro'))!);
    w.handOff();
    // No flush(): the blocks handOff sealed reach the disk by themselves.
    while (w.counters().t.avro.written < 3 || w.counters().t.jsonl.written < 3) await new Promise((res) => setTimeout(res, 5));
    expect((await readBack(avroFile)).records.map((r) => r.candid)).toEqual([0, 1, 2].map((i) => 2485226160015015000n + BigInt(i)));
    await w.close();
  });

  it('flushSync writes everything at once (fatal exit) into complete files', async () => {
    const dir = tempDir();
    const { w } = writers(dir, 'r7', {}, ['t']);
    for (let i = 0; i < 5; i++) w.write(small(i), emptyScores(), 't', ['f']);
    w.flushSync();
    const avroFile = readdirSync(dir).find((f) => f.endsWith('.avro'))!;
    expect((await readBack(join(dir, avroFile))).records.length).toBe(5);
    expect(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.jsonl'))!), 'utf8').trim().split('\n').length).toBe(5);
    await w.close();
    expect((await readBack(join(dir, avroFile))).records.length).toBe(5);
  });

  it('drops the newest alerts of a topic over its buffer bound and counts them', async () => {
    const dir = tempDir();
    const { w } = writers(dir, 'r8', { bufferedBytesMax: 10_000 }, ['t']);
    for (let i = 0; i < 20; i++) w.write(small(i), emptyScores(), 't', ['f']);
    await w.close();
    const c = w.counters().t;
    expect(c.dropped).toBeGreaterThan(0);
    expect(c.avro.written + c.dropped).toBe(20);
    expect((await readBack(join(dir, readdirSync(dir).find((f) => f.endsWith('.avro'))!))).records.length).toBe(c.avro.written);
  });
});
