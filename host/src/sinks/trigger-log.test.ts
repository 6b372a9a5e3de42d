import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { tableFromIPC } from 'apache-arrow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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

  it('drops the oldest records when the reader falls a whole ring behind, and counts them', () => {
    const ring = new TriggerRing(LABELS.length, 8);
    for (let i = 0; i < 20; i++) ring.push(decided(i, 0, 0, 1, 0, 1));
    const got = ring.drain(NAMES);
    expect(got.map((e) => e.seq)).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
    expect(ring.overflows).toBe(12);
  });
});

describe('trigger log', () => {
  it('writes the same triggers to JSON lines, Arrow and listeners, and closes with all of them on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-tlog-'));
    const ring = new TriggerRing(LABELS.length, 64);
    const errors: Error[] = [];
    const log = new TriggerLog(ring, NAMES, { jsonlPath: join(dir, 'sub', 't.jsonl'), arrowPath: join(dir, 'sub', 't.arrows') }, (e) => errors.push(e));
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
    const lines = readFileSync(join(dir, 'sub', 't.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(lines[4]).toMatchObject({ kind: 'trigger', run: 'r1', stream: 'cells', seq: 4, classIndex: 1, class: 'WBC', truthIndex: 1, truth: 'WBC', e2eUs: 24 });
    const t = tableFromIPC(readFileSync(join(dir, 'sub', 't.arrows')));
    expect(t.numRows).toBe(50);
    expect(t.getChild('class')!.get(4)).toBe('WBC');
    expect(t.getChild('truth')!.get(3)).toBeNull();
    expect(t.getChild('truth')!.get(4)).toBe('WBC');
    expect(t.schema.metadata.get('hairtrigger.labels')).toBe(JSON.stringify(LABELS));
  });

  it('reports a listener that throws as a sink error and keeps logging', async () => {
    const ring = new TriggerRing(LABELS.length, 8);
    const errors: Error[] = [];
    const log = new TriggerLog(ring, NAMES, {}, (e) => errors.push(e));
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
    const log = new TriggerLog(ring, NAMES, {}, () => {});
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
