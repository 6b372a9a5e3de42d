import { statSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { SinkError } from '../core/errors.js';
import type { TriggerEvent } from '../metrics/snapshot.js';
import type { Sink } from './sink.js';
import { contractEvents } from './testing.js';

export { contractEvents };

/** What the contract needs to drive one sink kind and read its output back independently. */
export interface SinkHarness {
  labels: readonly string[];
  /** Opens a sink for run `runId` (file sinks: on the same base path every call). */
  open(o: { runId: string; fileBytesMax?: number; bufferedBytesMax?: number }): Promise<Sink>;
  /**
   * Every record delivered for `runId` so far, read back by a reader independent of the sink
   * (JSON.parse, apache-arrow's tableFromIPC, a real websocket client), and the bytes it read.
   */
  readBack(runId: string): Promise<{ events: TriggerEvent[]; bytes: number }>;
  /** The files run `runId` wrote, in order; null for a sink without files (the websocket). */
  files(runId: string): string[] | null;
  /** Records in one batch large enough to back the consumer up past a bound of 0 bytes. */
  stallRecords: number;
  /** Releases servers and clients after each test. */
  cleanup(): Promise<void>;
}

/**
 * The contract every sink keeps, as in Vector's sink compliance harness: the records that go
 * in come out the same (read back independently), the counters add up, runs never touch each
 * other's files, rotation keeps every record exactly once, a slow consumer is handled by the
 * sink's named policy and counted, and close (or the fatal-exit flushSync) writes everything.
 */
export function sinkContract(name: string, make: () => SinkHarness, o: { writesFiles: boolean }): void {
  let h: SinkHarness | null = null;
  const harness = () => (h ??= make());
  afterEach(async () => {
    await h?.cleanup();
    h = null;
  });

  it(`${name}: writes the records it is given, in order, and counts them`, async () => {
    const x = harness();
    const s = await x.open({ runId: 'run-a' });
    const events = contractEvents(120, { run: 'run-a', labels: x.labels });
    for (const part of [events.slice(0, 1), events.slice(1, 50), [], events.slice(50)]) s.write(part);
    await s.close();
    const back = await x.readBack('run-a');
    expect(back.events).toEqual(events);
    expect(s.counters()).toEqual({ accepted: 120, written: 120, dropped: 0, bytes: back.bytes, errors: {} });
  });

  it(`${name}: close writes everything accepted, without a flush before it`, async () => {
    const x = harness();
    const s = await x.open({ runId: 'run-c' });
    const events = contractEvents(500, { run: 'run-c', labels: x.labels, seed: 3 });
    s.write(events);
    await s.close();
    expect((await x.readBack('run-c')).events).toEqual(events);
  });

  it(`${name}: a slow consumer is handled by the sink's policy and counted`, async () => {
    const x = harness();
    const s = await x.open({ runId: 'run-s', bufferedBytesMax: 0 });
    const big = contractEvents(x.stallRecords, { run: 'run-s', labels: x.labels, seed: 11 });
    const late = contractEvents(5, { run: 'run-s', labels: x.labels, firstSeq: x.stallRecords, seed: 12 });
    s.write(big);
    if (s.policy === 'block') expect(s.ready()).toBe(false);
    s.write(late);
    await s.flush();
    expect(s.ready()).toBe(true);
    await s.close();
    const kept = s.policy === 'block' ? [...big, ...late] : big;
    expect((await x.readBack('run-s')).events).toEqual(kept);
    expect(s.counters()).toMatchObject({ accepted: big.length + late.length, written: kept.length, dropped: big.length + late.length - kept.length });
  });

  const files = (x: SinkHarness, run: string) => x.files(run)!;
  if (!o.writesFiles) return;

  it(`${name}: every run writes new files; an existing file is refused and left as it was`, async () => {
    const x = harness();
    const a = await x.open({ runId: 'run-1' });
    const first = contractEvents(30, { run: 'run-1', labels: x.labels });
    a.write(first);
    await a.close();
    const sizes = files(x, 'run-1').map((f) => statSync(f).size);
    const b = await x.open({ runId: 'run-2' });
    const second = contractEvents(20, { run: 'run-2', labels: x.labels, seed: 9 });
    b.write(second);
    await b.close();
    await expect(x.open({ runId: 'run-1' })).rejects.toThrow(SinkError);
    expect(files(x, 'run-1').map((f) => statSync(f).size)).toEqual(sizes);
    expect((await x.readBack('run-1')).events).toEqual(first);
    expect((await x.readBack('run-2')).events).toEqual(second);
  });

  it(`${name}: rotation at the size bound keeps every record exactly once, each part readable on its own`, async () => {
    const x = harness();
    const fileBytesMax = 16 * 1024;
    const s = await x.open({ runId: 'run-r', fileBytesMax });
    const events = contractEvents(400, { run: 'run-r', labels: x.labels, seed: 5 });
    for (let i = 0; i < events.length; i += 10) s.write(events.slice(i, i + 10));
    await s.close();
    const parts = files(x, 'run-r');
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const f of parts) expect(statSync(f).size).toBeLessThanOrEqual(fileBytesMax);
    const back = await x.readBack('run-r');
    expect(back.events).toEqual(events);
    expect(s.counters().bytes).toBe(back.bytes);
  });

  it(`${name}: flushSync puts everything accepted in the files before it returns`, async () => {
    const x = harness();
    const s = await x.open({ runId: 'run-f' });
    const events = contractEvents(300, { run: 'run-f', labels: x.labels, seed: 13 });
    s.write(events.slice(0, 100));
    s.write(events.slice(100));
    s.flushSync();
    // Read before anything else runs: the asynchronous writes may not have landed yet.
    const back = await x.readBack('run-f');
    expect(back.events).toEqual(events);
    await s.close();
  });
}
