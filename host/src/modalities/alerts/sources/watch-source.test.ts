import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPython } from '../../../../../test/support/python.js';
import { manualClock } from '../../../core/clock.js';
import { frameIdString, FrameRing } from '../../../core/frame.js';
import type { HairtriggerError } from '../../../core/errors.js';
import { manualTimers } from '../../../core/manual-timers.js';
import { createAvroAlertDecoder } from '../decode.js';
import { createAlertWatchSource, WATCH_JOURNAL_FILE } from './watch-source.js';

const ALERTS = resolve(import.meta.dirname, '..', '..', '..', '..', '..', '..', 'shared', 'data', 'alerts');
const SCRIPT = resolve(import.meta.dirname, '..', '..', '..', '..', '..', 'test', 'support', 'alert_times.py');
const MULTI = join(ALERTS, 'fink-client-ztf', 'avro_multi_alerts.avro'); // 11 alerts
const SINGLES = ['1095578115815010001', '1095578115815010002', '1095578115815010003'].map((n) => join(ALERTS, 'ztf-3.3-2020-01', `${n}.avro`));

/** Ids of the records of `path` in observation order, read by Apache Avro's Python reader. */
function idsInOrder(path: string): string[] {
  return runPython([SCRIPT, path])
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as unknown[])[3] as string);
}

/** A watch source on `folder` driven by hand: ManualTimers, a manual clock, batches of 4 alerts. */
function watcher(folder: string) {
  const clock = manualClock(1e9);
  const t = manualTimers();
  const errors: HairtriggerError[] = [];
  const ctx = { clock, timers: t.timers, at: (p: string) => p, log: () => {}, error: (e: HairtriggerError) => errors.push(e) };
  const src = createAlertWatchSource({ folder, journalPath: join(folder, WATCH_JOURNAL_FILE), scanIntervalMs: 1000, batchAlerts: 4, stream: 'alerts' }, ctx);
  const decode = createAvroAlertDecoder('alerts');
  const ring = new FrameRing(1, 1, 16);
  const ids: string[] = [];
  src.start({
    acquire: () => ring.acquire(),
    push: (s) => {
      decode.run(s);
      ids.push(frameIdString(s)!);
    },
  });
  let scans = 0;
  t.run(); // the first scan, at start
  return {
    src,
    ids,
    errors,
    get scans() {
      return scans;
    },
    /** Runs the pending timer or immediate once (a scan when it is a timeout). */
    step() {
      const p = t.pending();
      if (p === null) return false;
      if (p.kind === 'timeout') {
        clock.advanceNs(p.ms * 1e6);
        scans++;
      }
      t.run();
      return true;
    },
    /** Steps until `n` more scans have run (a file seen unchanged in two scans is taken at the second). */
    scan(n: number) {
      const until = scans + n;
      for (let guard = 0; guard < 100_000 && scans < until && this.step(); guard++);
    },
    /** Runs the immediates pending: delivers what the last scan took. */
    drain() {
      for (let guard = 0; guard < 100_000 && t.pending()?.kind === 'immediate'; guard++) this.step();
    },
  };
}

describe('alerts-watch source', () => {
  it('takes a file only once it is complete (size stable across two scans), and each file once', { timeout: 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-watch-'));
    const w = watcher(dir);
    const bytes = readFileSync(MULTI);
    writeFileSync(join(dir, 'night.avro'), bytes.subarray(0, 5000)); // the unpacker is still writing
    w.scan(1);
    appendFileSync(join(dir, 'night.avro'), bytes.subarray(5000, 20_000));
    w.scan(1);
    expect(w.ids).toEqual([]); // grew since the last scan: not complete
    appendFileSync(join(dir, 'night.avro'), bytes.subarray(20_000));
    w.scan(1);
    expect(w.ids).toEqual([]);
    w.scan(1); // same size and mtime as the scan before: taken
    w.drain();
    expect(w.ids).toEqual(idsInOrder(MULTI));
    copyFileSync(SINGLES[0], join(dir, 'later.avro'));
    w.scan(4);
    w.drain();
    expect(w.ids).toEqual([...idsInOrder(MULTI), ...idsInOrder(SINGLES[0])]);
    expect(w.errors).toEqual([]);
    expect(w.src.counts.filesDone).toBe(2);
  });

  it('resumes a file it stopped in the middle of, after a stop or a crash, with no alert lost or repeated', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-watch-'));
    copyFileSync(MULTI, join(dir, 'a-multi.avro'));
    SINGLES.forEach((s, i) => copyFileSync(s, join(dir, `b-single-${i}.avro`)));
    const want = [...idsInOrder(MULTI), ...SINGLES.flatMap(idsInOrder)];

    // First run: stopped after the second batch of the 11-alert file.
    const first = watcher(dir);
    first.scan(1);
    for (let guard = 0; guard < 1000 && first.ids.length < 8; guard++) first.step();
    await first.src.stop();
    expect(first.ids).toEqual(want.slice(0, 8));

    // Second run: "crashes" (never stopped) after the rest of that file and one more file.
    const second = watcher(dir);
    second.scan(1);
    for (let guard = 0; guard < 1000 && second.ids.length < 4; guard++) second.step();
    expect(second.src.counts).toMatchObject({ filesResumed: 1, filesSkipped: 0 });
    expect(second.ids).toEqual(want.slice(8, 12));
    // The process died while writing the journal: a torn last line.
    appendFileSync(join(dir, WATCH_JOURNAL_FILE), '{"file":"b-single-1.avro","si');

    const third = watcher(dir);
    third.scan(1);
    third.drain();
    expect(third.ids).toEqual(want.slice(12));
    expect(third.src.counts).toMatchObject({ filesSkipped: 2 });
    expect([...first.ids, ...second.ids, ...third.ids]).toEqual(want);
    const lines = readFileSync(join(dir, WATCH_JOURNAL_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.done === l.total).map((l) => l.file).sort()).toEqual(['a-multi.avro', 'b-single-0.avro', 'b-single-1.avro', 'b-single-2.avro']);
  });

  it('counts a corrupt or truncated file, delivers its readable records, and does not take it again', { timeout: 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-watch-'));
    writeFileSync(join(dir, 'garbage.avro'), Buffer.from('no container here'));
    const multi = readFileSync(MULTI);
    writeFileSync(join(dir, 'cut.avro'), multi.subarray(0, multi.length - 100));
    const w = watcher(dir);
    w.scan(1);
    w.drain();
    expect(w.errors.some((e) => e.where.includes('garbage.avro'))).toBe(true);
    expect(w.errors.some((e) => e.where.includes('cut.avro'))).toBe(true);
    expect(w.errors.every((e) => e.code === 'E_ALERT_DECODE')).toBe(true);
    const errorsAfterFirstPass = w.errors.length;
    w.scan(4);
    w.drain();
    expect(w.errors.length).toBe(errorsAfterFirstPass);
    expect(w.src.counts.filesDone).toBe(2);
  });
});
