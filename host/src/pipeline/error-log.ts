import type { HairtriggerError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { FrameSlot } from '../core/frame.js';
import type { PipelineMetrics } from '../metrics/pipeline-metrics.js';
import type { StageName } from '../metrics/snapshot.js';
import { realTimers, type TimerScheduler } from '../sources/source.js';
import type { FaultSink } from './stage.js';

export interface ErrorRecord {
  atMs: number;
  code: string;
  where: string;
  message: string;
}

/** A line logger; the composition root passes one that writes to stderr. */
export type LogLine = (line: string) => void;

/** One kind of log line (error code and place) inside its current window. */
interface LineWindow {
  open: boolean;
  shown: number;
  suppressed: number;
  last: string;
  timer: unknown;
}

/**
 * Counts, keeps and logs operating errors. Frames that fail a stage are dropped and counted
 * under their error code; the last `errorLogEntriesMax` errors are kept for /api/errors. The
 * log is rate-limited per kind (same code and stage, or code and place): the first
 * `logLinesPerWindowMax` lines of a `logWindowMs` window are written, the rest are counted and
 * summarised in one line when the window ends ("... (and 41 more like it in the last 1 s)"),
 * so a hostile stream cannot flood it and nothing goes unmentioned. Runs only on the error
 * path, so it may allocate.
 */
export class ErrorLog implements FaultSink {
  private readonly metrics: PipelineMetrics;
  private readonly log: LogLine;
  private readonly wallMs: () => number;
  private readonly timers: TimerScheduler;
  private readonly kept: ErrorRecord[] = [];
  private readonly windows = new Map<string, LineWindow>();

  constructor(metrics: PipelineMetrics, log: LogLine, wallMs: () => number = Date.now, timers: TimerScheduler = realTimers) {
    this.metrics = metrics;
    this.log = log;
    this.wallMs = wallMs;
    this.timers = timers;
  }

  frameFailed(stage: StageName, slot: FrameSlot, err: HairtriggerError): void {
    this.metrics.recordDrop(err.code);
    this.keep(err, `${stage}: frame seq ${slot.seq}: `, `${err.code} ${stage}`);
  }

  /** Records an operating error that did not cost a frame; `count` when one report stands for
   * several (a FIFO overflow of n events is one log line and n counts). */
  error(err: HairtriggerError, count = 1): void {
    this.metrics.recordError(err.code, count);
    this.keep(err, '', `${err.code} ${err.where}`);
  }

  recent(): readonly ErrorRecord[] {
    return this.kept;
  }

  /** Writes the summaries of windows still open and cancels their timers (at shutdown). */
  flush(): void {
    for (const w of this.windows.values()) {
      if (w.timer !== null) this.timers.clearTimeout(w.timer);
      this.closeWindow(w, false);
    }
  }

  private keep(err: HairtriggerError, prefix: string, kind: string): void {
    const rec = { atMs: this.wallMs(), code: err.code, where: err.where, message: prefix + err.message };
    this.kept.push(rec);
    if (this.kept.length > limits.errorLogEntriesMax) this.kept.shift();
    let w = this.windows.get(kind);
    if (w === undefined) {
      w = { open: false, shown: 0, suppressed: 0, last: '', timer: null };
      this.windows.set(kind, w);
    }
    if (!w.open) {
      w.open = true;
      const win = w;
      w.timer = this.timers.setTimeout(() => this.closeWindow(win, true), limits.logWindowMs);
    }
    if (w.shown < limits.logLinesPerWindowMax) {
      w.shown++;
      this.log(rec.message);
    } else {
      w.suppressed++;
      w.last = rec.message;
    }
  }

  /** Ends a window: summarises what it held back; a busy kind gets a fresh window at once. */
  private closeWindow(w: LineWindow, reopen: boolean): void {
    w.timer = null;
    w.open = false;
    w.shown = 0;
    if (w.suppressed === 0) return;
    const n = w.suppressed;
    w.suppressed = 0;
    this.log(n === 1 ? w.last : `${w.last} (and ${n - 1} more like it in the last ${limits.logWindowMs / 1000} s)`);
    // A kind that is still flooding keeps its limit: the next window starts with its lines
    // counted as already shown, so a sustained flood is one summary line a window.
    if (reopen) {
      w.open = true;
      w.shown = limits.logLinesPerWindowMax;
      w.timer = this.timers.setTimeout(() => this.closeWindow(w, true), limits.logWindowMs);
    }
  }
}
