import { assert } from '../core/assert.js';
import { EDGE_MS, type ScoreRules, type TruthWindow } from '../modalities/audio/score.js';

/** Indices into `DetectionMatcher.clock`. */
const NOW = 0;
const REACHED = 1;
const LAST_FALSE_ALARM = 2;

/**
 * MLPerf Tiny's streaming wake-word rules (`scoreStream` in modalities/audio/score.ts, the port
 * of its runner) applied as the stream goes, one detection at a time, in stream order. The batch
 * rules reduce to a decision per detection that needs no later one:
 *
 * - a detection at t of word w belongs to the first window, in order of start (stable), whose
 *   range [start, end + acceptAfterEnd] holds t and whose word is w (or any word): the batch
 *   scorer's earlier windows have used up every detection in their ranges before a later window
 *   looks. The window is a true positive from its first detection (its delay: t - end); the
 *   others in its range are used up and count for nothing.
 * - a detection no window takes is left over; it is a false alarm unless it lies within
 *   `debounce` after the last counted false alarm (t - last <= debounce).
 * - a window becomes a miss once the stream passes its end + acceptAfterEnd without a detection
 *   of its word in range (nothing later can count for it); `finish` (the end of the stream)
 *   settles every window left.
 *
 * So at the end of a stream the counts equal `scoreStream` on the same windows and detections
 * (the property test checks it on random ones). All state is preallocated: the windows' bounds,
 * words, first detection times and the delays; `hop` never allocates.
 */
export class DetectionMatcher {
  readonly windows: number;
  /** Windows in order of start: range bounds (ms, edges widened as the batch scorer's), end, word index (-1: any). */
  private readonly fromMs: Float64Array;
  private readonly toMs: Float64Array;
  private readonly endMs: Float64Array;
  private readonly word: Int32Array;
  /** The first detection of each window (ms), NaN before one. */
  private readonly firstMs: Float64Array;
  private readonly settled: Uint8Array;
  /** Window indices in order of `toMs`: the order in which the stream settles them. */
  private readonly byTo: Int32Array;
  private nextToSettle = 0;
  /** First window (by start) not yet settled: windows before it cannot take a detection. */
  private lo = 0;
  /** Each true positive's delay (ms), in the order detected. */
  readonly delaysMs: Float64Array;
  private readonly debounceMs: number;
  truePositives = 0;
  misses = 0;
  falseAlarms = 0;
  /** Detections taken by a window already detected (the same utterance heard again). */
  repeats = 0;
  detections = 0;
  /** The stream time the next `hop` is at (ms), written by the caller: [0]. A
   * number handed over in a typed array, not as an argument: a float argument of a call that is
   * not inlined is boxed, 16 bytes a hop. [1]: the stream time reached; [2]: the last counted
   * false alarm's time. */
  readonly clock = Float64Array.of(0, 0, Number.NEGATIVE_INFINITY);
  finished = false;

  /** `windows` in any order, each with its word as an index (`wordIndex` of the window and its index in `windows`; -1: any word); `rules` as `scoreStream`'s. */
  constructor(windows: readonly TruthWindow[], wordIndex: (w: TruthWindow, i: number) => number, rules: ScoreRules) {
    const order = windows.map((_, i) => i).sort((a, b) => windows[a]!.startS - windows[b]!.startS || a - b);
    const n = (this.windows = windows.length);
    this.fromMs = new Float64Array(n);
    this.toMs = new Float64Array(n);
    this.endMs = new Float64Array(n);
    this.word = new Int32Array(n);
    for (const [j, i] of order.entries()) {
      const w = windows[i]!;
      assert(w.endS >= w.startS, 'a truth window ends at or after its start (readTruth checks)');
      this.fromMs[j] = w.startS * 1000 - EDGE_MS;
      this.toMs[j] = w.endS * 1000 + rules.acceptAfterEndS * 1000 + EDGE_MS;
      this.endMs[j] = w.endS * 1000;
      this.word[j] = wordIndex(w, i);
    }
    this.firstMs = new Float64Array(n).fill(Number.NaN);
    this.settled = new Uint8Array(n);
    this.byTo = Int32Array.from(order.map((_, j) => j).sort((a, b) => this.toMs[a]! - this.toMs[b]! || a - b));
    this.delaysMs = new Float64Array(n);
    this.debounceMs = rules.debounceS * 1000;
  }

  /** The stream time reached (ms). */
  get streamMs(): number {
    return this.clock[REACHED]!;
  }

  /**
   * One hop at `clock[0]` (ms): the stream reaches it (windows whose range ended before it are
   * settled, a miss without a detection), then, when `word` >= 0, a detection of that word (an
   * index) at it. Times must not go back (a programmer error: the detector's stream time). One
   * method for every hop, rare branches included: called every hop it is optimized with all its
   * paths' feedback, where a method called only per detection would stay in the interpreter,
   * which boxes every float it touches.
   */
  hop(word: number): void {
    const streamMs = this.clock[NOW]!;
    assert(!(streamMs < this.clock[REACHED]!), 'stream time does not go back');
    this.clock[REACHED] = streamMs;
    while (this.nextToSettle < this.windows) {
      const j = this.byTo[this.nextToSettle]!;
      if (this.toMs[j]! >= streamMs) break;
      this.settled[j] = 1;
      if (this.firstMs[j] !== this.firstMs[j]) this.misses++;
      this.nextToSettle++;
    }
    while (this.lo < this.windows && this.settled[this.lo] === 1) this.lo++;
    if (word < 0) return;
    this.detections++;
    for (let j = this.lo; j < this.windows && this.fromMs[j]! <= streamMs; j++) {
      if (streamMs > this.toMs[j]! || (this.word[j] !== -1 && this.word[j] !== word)) continue;
      if (this.firstMs[j] === this.firstMs[j]) {
        this.repeats++;
        return;
      }
      this.firstMs[j] = streamMs;
      this.delaysMs[this.truePositives++] = streamMs - this.endMs[j]!;
      return;
    }
    // Left over: a false alarm unless within the debounce after the last one counted (as the
    // batch scorer's `d - last > debounce` with the same edge).
    if (streamMs - this.clock[LAST_FALSE_ALARM]! > this.debounceMs + EDGE_MS) {
      this.falseAlarms++;
      this.clock[LAST_FALSE_ALARM] = streamMs;
    }
  }

  /** The end of the stream: every window not yet settled is settled (a miss without a detection). */
  finish(): void {
    for (; this.nextToSettle < this.windows; this.nextToSettle++) {
      const j = this.byTo[this.nextToSettle]!;
      this.settled[j] = 1;
      if (this.firstMs[j] !== this.firstMs[j]) this.misses++;
    }
    this.lo = this.windows;
    this.finished = true;
  }

  /** `clock[0] = streamMs` then `hop(-1)` (tests and callers off the hot path). */
  advanceTo(streamMs: number): void {
    this.clock[NOW] = streamMs;
    this.hop(-1);
  }

  /** `clock[0] = streamMs` then `hop(word)` (tests and callers off the hot path). */
  detectAt(streamMs: number, word: number): void {
    this.clock[NOW] = streamMs;
    this.hop(word);
  }

  /** Windows settled or detected, and those detected, among the windows whose word index is in
   * `words` (a 0/1 mask by index). Off the hot path (a loop over the windows). */
  tally(words: Uint8Array): { decided: number; detected: number } {
    let decided = 0;
    let detected = 0;
    for (let j = 0; j < this.windows; j++) {
      const w = this.word[j]!;
      if (w < 0 || words[w] !== 1) continue;
      const hit = this.firstMs[j] === this.firstMs[j];
      if (hit) detected++;
      if (hit || this.settled[j] === 1) decided++;
    }
    return { decided, detected };
  }

  /** Windows neither detected nor settled yet (their range is still open). */
  get pending(): number {
    return this.windows - this.truePositives - this.misses;
  }
}
