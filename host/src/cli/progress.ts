/** Where a progress bar draws: process.stderr, or a fake in tests. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** What is being done, e.g. "replay" or "inspect". */
  label: string;
  /** How many units make 100 %; null when unknown (a looping or live stream): no bar, no ETA. */
  total: number | null;
  /** The unit counted, e.g. "frames". */
  unit: string;
  /** Default process.stderr. Nothing is drawn unless `isTTY` is true. */
  stream?: ProgressStream;
  /** Milliseconds clock; default performance.now. */
  nowMs?: () => number;
  /** Least time between two redraws; default 100 ms. */
  redrawMs?: number;
}

export interface Progress {
  /** Sets how many units are done (redraws at most every `redrawMs`). */
  update(done: number): void;
  /** Erases the bar, before the caller writes a line of its own or at the end; a later
   * `update` draws it again. Idempotent. */
  end(): void;
}

const BAR_CELLS = 20;

/**
 * A one-line progress bar with rate and time left, redrawn in place on a terminal and
 * absent otherwise (a pipe or a log file gets only the caller's own lines). Written here
 * rather than taken from cli-progress: it is forty lines, and tests need its clock injected.
 */
export function createProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  const now = o.nowMs ?? (() => performance.now());
  const redrawMs = o.redrawMs ?? 100;
  if (stream.isTTY !== true) return { update() {}, end() {} };
  const t0 = now();
  let drawnAt = Number.NEGATIVE_INFINITY;
  let drawn = false;
  return {
    update(done) {
      const t = now();
      if (t - drawnAt < redrawMs && (o.total === null || done < o.total)) return;
      drawnAt = t;
      drawn = true;
      const line = progressLine(o.label, done, o.total, o.unit, (t - t0) / 1000);
      // A pseudo-terminal may report 0 columns: take 80 then.
      stream.write(`\r${line.slice(0, Math.max(20, (stream.columns || 80) - 1))}\x1b[K`);
    },
    end() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}

/** The text of one progress line: label, bar and percentage (when the total is known), count, rate and time left. */
export function progressLine(label: string, done: number, total: number | null, unit: string, elapsedS: number): string {
  const rate = elapsedS > 0 ? done / elapsedS : 0;
  const parts = [label];
  if (total !== null && total > 0) {
    const f = Math.min(1, done / total);
    const cells = Math.round(f * BAR_CELLS);
    parts.push(`[${'#'.repeat(cells)}${'-'.repeat(BAR_CELLS - cells)}] ${(f * 100).toFixed(0).padStart(3)}%`);
    parts.push(`${done}/${total} ${unit}`);
  } else parts.push(`${done} ${unit}`);
  parts.push(`${formatRate(rate)}/s`);
  if (total !== null && rate > 0 && done < total) parts.push(`${formatDuration((total - done) / rate)} left`);
  return parts.join(' ');
}

/** 1234567 -> "1.23M", 950 -> "950". */
export function formatRate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)}M`;
  if (r >= 1e4) return `${(r / 1e3).toFixed(1)}k`;
  return r.toFixed(0);
}

/** Seconds as m:ss, or h:mm:ss from an hour on. */
export function formatDuration(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
