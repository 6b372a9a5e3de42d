import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FrameRing } from '../core/frame.js';
import { DecisionLog } from '../sinks/decision-log.js';
import { zeroCounters, type Sink } from '../sinks/sink.js';
import { TriggerLog } from '../sinks/trigger-log.js';
import { noPayload, TriggerRing } from '../sinks/trigger-ring.js';
import type { Source } from '../sources/source.js';
import { DurableCommit } from './durable-commit.js';

/** A sink whose flush the test settles by hand (a NATS publish awaiting its ack). */
function manualSink(): Sink & { settle(err?: Error): void } {
  let pending: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  return {
    name: 'manual', policy: 'block', write: () => {}, ready: () => true, flushSync: () => {}, close: async () => {}, counters: zeroCounters,
    flush: () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject })),
    settle(err) {
      const p = pending;
      pending = [];
      for (const x of p) (err === undefined ? x.resolve() : x.reject(err));
    },
  };
}

function setup() {
  const path = join(mkdtempSync(join(tmpdir(), 'ht-commit-')), 'decisions.jsonl');
  const decisions = new DecisionLog(path, { labels: ['a', 'b'], aux: [], describePayload: noPayload }, (e) => { throw e; });
  const sink = manualSink();
  const log = new TriggerLog(new TriggerRing(2), { run: 'r', streams: ['s'], labels: ['a', 'b'], describePayload: noPayload }, [sink], () => {});
  // What the source is told, and how many decision lines were on disk when it was told.
  const commits: Array<{ delivered: number; linesOnDisk: number }> = [];
  const source = { commit: async (delivered: number) => void commits.push({ delivered, linesOnDisk: readFileSync(path, 'utf8').split('\n').length - 1 }) } as unknown as Source & { commit(n: number): Promise<void> };
  const errors: Error[] = [];
  const ring = new FrameRing(1, 2, 8);
  const decide = (n: number) => {
    for (let i = 0; i < n; i++) {
      const slot = ring.acquire();
      slot.predicted = 0;
      decisions.record(slot);
    }
  };
  return { commit: new DurableCommit(source, log, () => decisions, () => null, (e) => errors.push(e)), sink, decide, commits, errors };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('durable commit of a NATS-like source', () => {
  it('acknowledges after the decision lines are on disk and the sinks flushed, never before', async () => {
    const t = setup();
    t.decide(5);
    t.commit.afterFlush(5, true);
    await turn();
    expect(t.commits).toEqual([]); // the sink has not flushed (no JetStream ack yet)
    t.sink.settle();
    await turn();
    expect(t.commits).toEqual([{ delivered: 5, linesOnDisk: 5 }]);
  });

  it('acknowledges nothing when the ring was not drained or a sink failed; the next good commit covers them', async () => {
    const t = setup();
    t.decide(3);
    t.commit.afterFlush(3, false);
    t.sink.settle();
    await turn();
    expect(t.commits).toEqual([]);
    t.commit.afterFlush(3, true);
    t.sink.settle(new Error('publish lost'));
    await turn();
    expect(t.commits).toEqual([]);
    expect(t.errors.map((e) => e.message)).toEqual(['publish lost']);
    t.decide(2);
    t.commit.afterFlush(5, true);
    t.sink.settle();
    await turn();
    expect(t.commits).toEqual([{ delivered: 5, linesOnDisk: 5 }]);
  });

  it('runs one commit at a time; the last one at stop takes everything decided', async () => {
    const t = setup();
    t.decide(2);
    t.commit.afterFlush(2, true);
    t.decide(2);
    t.commit.afterFlush(4, true); // skipped: the first is in flight
    expect(t.commit.skipped).toBe(1);
    const final = t.commit.final(4);
    t.sink.settle();
    await turn();
    t.sink.settle();
    await final;
    expect(t.commits).toEqual([{ delivered: 2, linesOnDisk: 2 }, { delivered: 4, linesOnDisk: 4 }]);
  });
});
