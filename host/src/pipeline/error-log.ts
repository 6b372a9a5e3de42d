import type { HairtriggerError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { FrameSlot } from '../core/frame.js';
import type { PipelineMetrics } from '../metrics/pipeline-metrics.js';
import type { StageName } from '../metrics/snapshot.js';
import type { FaultSink } from './stage.js';

export interface ErrorRecord {
  atMs: number;
  code: string;
  where: string;
  message: string;
}

/** A line logger; the composition root passes one that writes to stderr. */
export type LogLine = (line: string) => void;

/**
 * Counts, keeps and logs operating errors. Frames that fail a stage are dropped and counted
 * under their error code; the last `errorLogEntriesMax` errors are kept for /api/errors; the
 * log gets the first few of each code and then one in every `logEvery`, so a hostile stream
 * cannot flood it. Runs only on the error path, so it may allocate.
 */
export class ErrorLog implements FaultSink {
  private readonly metrics: PipelineMetrics;
  private readonly log: LogLine;
  private readonly wallMs: () => number;
  private readonly kept: ErrorRecord[] = [];
  private readonly seen = new Map<string, number>();
  static readonly logFirst = 5;
  static readonly logEvery = 1000;

  constructor(metrics: PipelineMetrics, log: LogLine, wallMs: () => number = Date.now) {
    this.metrics = metrics;
    this.log = log;
    this.wallMs = wallMs;
  }

  frameFailed(stage: StageName, slot: FrameSlot, err: HairtriggerError): void {
    this.metrics.recordDrop(err.code);
    this.keep(err, `${stage}: frame seq ${slot.seq}: `);
  }

  /** Records an operating error that did not cost a frame; `count` when one report stands for
   * several (a FIFO overflow of n events is one log line and n counts). */
  error(err: HairtriggerError, count = 1): void {
    this.metrics.recordError(err.code, count);
    this.keep(err, '');
  }

  recent(): readonly ErrorRecord[] {
    return this.kept;
  }

  private keep(err: HairtriggerError, prefix: string): void {
    const rec = { atMs: this.wallMs(), code: err.code, where: err.where, message: prefix + err.message };
    this.kept.push(rec);
    if (this.kept.length > limits.errorLogEntriesMax) this.kept.shift();
    const n = (this.seen.get(err.code) ?? 0) + 1;
    this.seen.set(err.code, n);
    if (n <= ErrorLog.logFirst || n % ErrorLog.logEvery === 0) this.log(`${rec.message}${n > ErrorLog.logFirst ? ` (${n} ${err.code} so far)` : ''}`);
  }
}
