import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { assert } from '../../../core/assert.js';
import { isOperatingError, SourceError } from '../../../core/errors.js';
import { limits } from '../../../core/limits.js';
import { sources, type SourceContext } from '../../../sources/registry.js';
import { ingest, type FrameSink, type Source } from '../../../sources/source.js';
import { WatchJournal } from './journal.js';
import { loadAlertFile } from './load.js';
import { alertFrameSpec } from './replay-source.js';
import { buildTimeline, type AlertTimeline, type LoadedAlertFile } from './timeline.js';

export interface AlertWatchOptions {
  /** The folder watched (recursed) for `*.avro` files. */
  folder: string;
  /** The journal file (JSONL). */
  journalPath: string;
  scanIntervalMs: number;
  /** Alerts delivered per turn of the event loop (the journal is written after each turn). */
  batchAlerts: number;
  stream: string;
}

/** What an `alerts-watch` source has done, for logs and tests. */
export interface AlertWatchCounts {
  /** Files delivered to the end (this run). */
  filesDone: number;
  /** Files skipped because the journal says they were done before. */
  filesSkipped: number;
  /** Files resumed part-way (half processed when the daemon stopped). */
  filesResumed: number;
}

/** The file being delivered. */
interface Current {
  file: string;
  size: number;
  mtimeMs: number;
  timeline: AlertTimeline;
  next: number;
}

/**
 * Watches a folder for `.avro` files that a survey's tarball unpacking or a mirror writes, and
 * delivers each file's alerts once, in observation order within the file. A file is taken
 * when it is complete: its size and mtime are the same in two scans in a row (a file renamed
 * in whole is taken at its second scan too; a writer that stalls longer than a scan interval
 * mid-file would be taken early: its records up to the cut are read and the rest counted as
 * truncated). Progress goes to an append-only journal after every batch, fsync'd, so a restart
 * skips finished files and resumes a half-read one where it stopped: exact after a stop, at
 * most one batch again after a crash. Files are taken in path order within a scan.
 */
export function createAlertWatchSource(opts: AlertWatchOptions, ctx: SourceContext, load: (path: string) => LoadedAlertFile = loadAlertFile): Source & { readonly counts: AlertWatchCounts } {
  assert(opts.batchAlerts > 0 && opts.batchAlerts <= limits.replayBatchFramesMax, 'watch batch within the replay batch bound');
  const journal = new WatchJournal(opts.journalPath);
  const counts: AlertWatchCounts = { filesDone: 0, filesSkipped: 0, filesResumed: 0 };
  const seen = new Map<string, { size: number; mtimeMs: number }>();
  const ready: { file: string; size: number; mtimeMs: number }[] = [];
  const readyNames = new Set<string>();
  let current: Current | null = null;
  let sink: FrameSink | null = null;
  let handle: unknown = null;
  let immediate = false;
  let stopped = false;
  let delivered = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const schedule = (ms: number): void => {
    immediate = ms === 0;
    handle = immediate ? ctx.timers.setImmediate(tick) : ctx.timers.setTimeout(tick, ms);
  };
  const tick = (): void => {
    handle = null;
    if (stopped) return;
    try {
      if (current !== null) deliverBatch(current);
      else if (ready.length > 0) {
        const f = ready.shift()!;
        readyNames.delete(f.file);
        open(f);
      }
      else scan();
    } catch (err) {
      if (!isOperatingError(err)) throw err;
      ctx.error(err);
    }
    if (!stopped) schedule(current !== null || ready.length > 0 ? 0 : opts.scanIntervalMs);
  };

  const scan = (): void => {
    for (const file of avroFilesUnder(opts.folder)) {
      if (readyNames.has(file)) continue;
      let st;
      try {
        st = statSync(join(opts.folder, file));
      } catch {
        seen.delete(file); // gone between the listing and the stat
        continue;
      }
      const size = st.size;
      const mtimeMs = st.mtimeMs;
      if (journal.finished(file, size, mtimeMs)) {
        if (!seen.has(file)) counts.filesSkipped++;
        seen.set(file, { size: -1, mtimeMs: -1 }); // known done: counted once
        continue;
      }
      const before = seen.get(file);
      seen.set(file, { size, mtimeMs });
      if (size > 0 && before !== undefined && before.size === size && before.mtimeMs === mtimeMs) {
        ready.push({ file, size, mtimeMs });
        readyNames.add(file);
      }
    }
  };

  const open = (f: { file: string; size: number; mtimeMs: number }): void => {
    const loaded = load(join(opts.folder, f.file));
    for (const e of loaded.errors) ctx.error(e);
    const timeline = buildTimeline([loaded]);
    const next = Math.min(journal.resumeAt(f.file, f.size, f.mtimeMs), timeline.count);
    if (next > 0) {
      counts.filesResumed++;
      ctx.log(`alerts-watch: ${f.file} resumes at alert ${next} of ${timeline.count}`);
    }
    current = { ...f, timeline, next };
    if (next === timeline.count) finish(current);
  };

  const deliverBatch = (c: Current): void => {
    const t = c.timeline;
    const end = Math.min(c.next + opts.batchAlerts, t.count);
    const s = sink!;
    for (let i = c.next; i < end; i++) {
      const slot = s.acquire();
      slot.seq = delivered++;
      slot.raw = t.base[i];
      slot.rawOffset = t.offset[i];
      slot.rawLength = t.length[i];
      ingest(s, ctx.clock, slot);
      c.next = i + 1;
    }
    if (c.next === t.count) finish(c);
    else journal.record({ file: c.file, size: c.size, mtimeMs: c.mtimeMs, done: c.next, total: t.count });
  };

  const finish = (c: Current): void => {
    journal.record({ file: c.file, size: c.size, mtimeMs: c.mtimeMs, done: c.timeline.count, total: c.timeline.count });
    seen.set(c.file, { size: -1, mtimeMs: -1 });
    counts.filesDone++;
    current = null;
  };

  return {
    spec: alertFrameSpec(opts.stream),
    counts,
    done,
    get delivered() {
      return delivered;
    },
    start(s) {
      assert(sink === null, 'a source starts once');
      sink = s;
      schedule(0);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (handle !== null) {
        if (immediate) ctx.timers.clearImmediate(handle);
        else ctx.timers.clearTimeout(handle);
      }
      handle = null;
      journal.close();
      resolveDone();
    },
  };
}

/** `*.avro` files under `folder` (recursed), relative to it, in path order. */
function avroFilesUnder(folder: string): string[] {
  let entries;
  try {
    entries = readdirSync(folder, { recursive: true, withFileTypes: true });
  } catch (err) {
    throw new SourceError(folder, `cannot list the watched folder: ${(err as Error).message}`, { cause: err });
  }
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.avro'))
    .map((e) => relative(folder, join(e.parentPath, e.name)))
    .sort();
}

/** The config of an `alerts-watch` source. */
export const alertsWatchSourceSchema = z
  .object({
    kind: z.literal('alerts-watch'),
    folder: z.string().min(1),
    /** Folder of the journal (default: the watched folder itself). */
    stateDir: z.string().min(1).optional(),
    scanIntervalMs: z.number().int().min(10).max(3_600_000).default(1000),
    stream: z.string().min(1).default('alerts'),
  })
  .strict();
export type AlertsWatchSourceConfig = z.infer<typeof alertsWatchSourceSchema>;

/** Name of the journal file in the state folder. */
export const WATCH_JOURNAL_FILE = '.hairtrigger-alerts-watch.jsonl';

sources.register({
  kind: 'alerts-watch',
  summary: 'new Avro alert files in a folder, each taken once when complete, journaled so a restart resumes without loss or repeats',
  schema: alertsWatchSourceSchema,
  create(config, ctx) {
    const c = config as AlertsWatchSourceConfig;
    const folder = ctx.at(c.folder);
    const journalPath = join(c.stateDir !== undefined ? ctx.at(c.stateDir) : folder, WATCH_JOURNAL_FILE);
    return createAlertWatchSource({ folder, journalPath, scanIntervalMs: c.scanIntervalMs, batchAlerts: limits.replayBatchFramesMax, stream: c.stream }, ctx);
  },
});
