import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { tableFromIPC } from 'apache-arrow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArrowSink } from './arrow-sink.js';
import { fileSinkSchema } from './file-sink.js';
import { JsonlSink } from './jsonl-sink.js';
import { runFiles } from './log-files.js';
import type { SinkContext } from './sink.js';
import { TriggerLog } from './trigger-log.js';
import { noPayload, TriggerRing, type TriggerNames } from './trigger-ring.js';
import { FrameRing, STAMP, type FrameSlot } from '../core/frame.js';

const LABELS = ['RBC', 'WBC', 'Platelets'];
const NAMES: TriggerNames = { run: 'r1', streams: ['cells'], labels: LABELS, describePayload: noPayload };
const frames = new FrameRing(4, LABELS.length, 1);

/** A slot decided as class `cls` with ground truth `truth`, ingested at `ingestNs`. */
function decided(seq: number, cls: number, truth: number, score: number, ingestNs: number, e2eUs: number): FrameSlot {
  const s = frames.acquire();
  s.seq = seq;
  s.predicted = cls;
  s.label = truth;
  s.score = score;
  s.probs.fill(0);
  s.probs[cls] = score;
  s.stampsNs[0] = ingestNs;
  s.dueNs = ingestNs;
  s.stampsNs[STAMP.emit] = ingestNs + e2eUs * 1000;
  s.triggered = true;
  return s;
}

describe('trigger ring', () => {
  it('hands every record over exactly once, in order, across wrap-around', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 60 }), (bursts) => {
        const ring = new TriggerRing(LABELS.length, 8);
        let seq = 0;
        const seen: number[] = [];
        for (const b of bursts) {
          for (let i = 0; i < b; i++) ring.push(decided(seq++, 1, -1, 0.9, 0, 5));
          seen.push(...ring.drain(NAMES).map((e) => e.seq));
        }
        expect(seen).toEqual(Array.from({ length: seq }, (_, i) => i));
        expect(ring.overflows).toBe(0);
      }),
    );
  });

  it("carries a stream-time stream's sensor time as streamMs (a keyword's end in the stream), else null", () => {
    const ring = new TriggerRing(LABELS.length, 8);
    const s = decided(0, 1, -1, 0.9, 0, 5);
    s.sensorNs = 1_170_000_000; // the window that fired ends 1.17 s into the stream
    ring.push(s);
    expect(ring.drain({ ...NAMES, streamTime: true })[0]).toMatchObject({ sensorNs: 1.17e9, streamMs: 1170 });
    ring.push(s);
    expect(ring.drain(NAMES)[0]).toMatchObject({ sensorNs: 1.17e9, streamMs: null });
    s.sensorNs = Number.NaN;
    ring.push(s);
    expect(ring.drain({ ...NAMES, streamTime: true })[0]).toMatchObject({ sensorNs: null, streamMs: null });
  });

  it('drops the oldest records when the reader falls a whole ring behind, and counts them', () => {
    const ring = new TriggerRing(LABELS.length, 8);
    for (let i = 0; i < 20; i++) ring.push(decided(i, 0, 0, 1, 0, 1));
    const got = ring.drain(NAMES);
    expect(got.map((e) => e.seq)).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
    expect(ring.overflows).toBe(12);
  });
});

describe('trigger log', () => {
  const ctx = (run: string, errors: Error[]): SinkContext => ({ runId: run, labels: LABELS, resolvePath: (p) => p, onError: (e) => errors.push(e) });

  it('writes the same triggers to JSON lines, Arrow and listeners, and closes with all of them on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-tlog-'));
    const ring = new TriggerRing(LABELS.length, 64);
    const errors: Error[] = [];
    const [jsonl, arrow] = [join(dir, 'sub', 't.jsonl'), join(dir, 'sub', 't.arrows')];
    const sinks = [new JsonlSink(fileSinkSchema.parse(jsonl), ctx('r1', errors)), new ArrowSink(fileSinkSchema.parse(arrow), ctx('r1', errors))];
    const log = new TriggerLog(ring, NAMES, sinks, (e) => errors.push(e));
    const heard: number[] = [];
    const off = log.subscribe((evs) => heard.push(...evs.map((e) => e.seq)));
    for (let i = 0; i < 50; i++) {
      ring.push(decided(i, i % 3, i % 2 === 0 ? i % 3 : -1, 0.5 + i / 100, 1000 * i, 20 + i));
      if (i % 7 === 0) log.flush();
    }
    off();
    await log.close();
    expect(errors).toEqual([]);
    expect(heard.length).toBeGreaterThan(0);
    const lines = runFiles(jsonl, 'r1').flatMap((f) => readFileSync(f, 'utf8').trim().split('\n')).map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(lines[4]).toMatchObject({ kind: 'trigger', run: 'r1', stream: 'cells', seq: 4, classIndex: 1, class: 'WBC', truthIndex: 1, truth: 'WBC', e2eUs: 24 });
    const t = tableFromIPC(readFileSync(runFiles(arrow, 'r1')[0]));
    expect(t.numRows).toBe(50);
    expect(t.getChild('class')!.get(4)).toBe('WBC');
    expect(t.getChild('truth')!.get(3)).toBeNull();
    expect(t.getChild('truth')!.get(4)).toBe('WBC');
    expect(t.schema.metadata.get('hairtrigger.labels')).toBe(JSON.stringify(LABELS));
    expect(log.sinkCounters()[sinks[1].name]).toMatchObject({ accepted: 50, written: 50, dropped: 0 });
  });

  it('stops draining while a blocking sink is over its bound, so the ring drops the oldest and counts them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-tlog-'));
    const ring = new TriggerRing(LABELS.length, 8);
    const errors: Error[] = [];
    const jsonl = join(dir, 't.jsonl');
    const sink = new JsonlSink(fileSinkSchema.parse({ path: jsonl, bufferedBytesMax: 0 }), ctx('r1', errors));
    const log = new TriggerLog(ring, NAMES, [sink], (e) => errors.push(e));
    for (let i = 0; i < 4; i++) ring.push(decided(i, 1, -1, 0.9, i, 1));
    log.flush();
    // The four records are queued for the disk: over a bound of 0 bytes until written.
    expect(sink.ready()).toBe(false);
    for (let i = 4; i < 16; i++) ring.push(decided(i, 1, -1, 0.9, i, 1));
    log.flush();
    expect(log.blockedFlushes).toBe(1);
    expect(log.written).toBe(4);
    await sink.flush();
    log.flush();
    expect(ring.overflows).toBe(4);
    await log.close();
    expect(errors).toEqual([]);
    const seqs = readFileSync(runFiles(jsonl, 'r1')[0], 'utf8').trim().split('\n').map((l) => JSON.parse(l).seq);
    expect(seqs).toEqual([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('flushSync (the fatal-bug path) puts the ring and every queued write on disk before it returns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-tlog-'));
    const ring = new TriggerRing(LABELS.length, 64);
    const errors: Error[] = [];
    const [jsonl, arrow] = [join(dir, 't.jsonl'), join(dir, 't.arrows')];
    const log = new TriggerLog(ring, NAMES, [new JsonlSink(fileSinkSchema.parse(jsonl), ctx('r1', errors)), new ArrowSink(fileSinkSchema.parse(arrow), ctx('r1', errors))], (e) => errors.push(e));
    for (let i = 0; i < 20; i++) ring.push(decided(i, 1, -1, 0.9, i, 1));
    log.flush();
    for (let i = 20; i < 30; i++) ring.push(decided(i, 2, -1, 0.8, i, 1));
    log.flushSync();
    // Nothing asynchronous has run since: what is in the files was written synchronously.
    const lines = readFileSync(runFiles(jsonl, 'r1')[0], 'utf8').trim().split('\n').map((l) => JSON.parse(l).seq);
    expect(lines).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const t = tableFromIPC(readFileSync(runFiles(arrow, 'r1')[0]));
    expect(Array.from(t.getChild('seq')!.toArray() as BigInt64Array, Number)).toEqual(lines);
    expect(errors).toEqual([]);
  });

  it('reports a listener that throws as a sink error and keeps logging', async () => {
    const ring = new TriggerRing(LABELS.length, 8);
    const errors: Error[] = [];
    const log = new TriggerLog(ring, NAMES, [], (e) => errors.push(e));
    log.subscribe(() => {
      throw new Error('boom');
    });
    ring.push(decided(1, 1, -1, 1, 0, 1));
    log.flush();
    expect(errors[0].message).toMatch(/E_SINK.*listener threw: boom/);
    expect(log.written).toBe(1);
    await log.close();
  });
});

describe('trigger log without sinks or listeners', () => {
  it('counts every trigger and overflow without building records, and hands later ones to a listener that joins', () => {
    const ring = new TriggerRing(LABELS.length, 8);
    const log = new TriggerLog(ring, NAMES, [], () => {});
    for (let i = 0; i < 5; i++) ring.push(decided(i, 1, -1, 0.9, i, 1));
    log.flush();
    expect(log.written).toBe(5);
    for (let i = 5; i < 20; i++) ring.push(decided(i, 1, -1, 0.9, i, 1));
    log.flush();
    expect(log.written).toBe(5 + 8);
    expect(ring.overflows).toBe(7);
    const seen: number[] = [];
    log.subscribe((events) => seen.push(...events.map((e) => e.seq)));
    ring.push(decided(20, 0, -1, 0.8, 20, 1));
    log.flush();
    expect(seen).toEqual([20]);
    expect(log.written).toBe(14);
  });
});
