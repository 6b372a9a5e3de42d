import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';

/**
 * Scores streaming keyword detections against ground-truth windows the way MLPerf Tiny's
 * streaming wake-word benchmark does. The rules are those of its runner
 * (mlcommons/tiny, `benchmark/runner/streaming_ww_utils.py`, `calc_detection_stats`; the
 * benchmark's truth files are `sww_short_test.json` and `long_wav_ww_windows.json`):
 *
 * 1. Windows in order of their start. A window [start, end] (s) is a **true positive** when a
 *    detection lies in [start, end + 1 s] (both ends included; the 1 s is the runner's
 *    `false_pos_suppresion_delay_sec`); every detection in that range is then used up (the
 *    later ones of the same utterance are not false alarms). A window with none is a **miss**.
 * 2. The detections left are **false alarms**, debounced: the earliest counts, and any other
 *    within the 1 s after it (`debounce_time_sec`: t < u <= t + 1 s) is dropped; then the next
 *    one left, and so on.
 * 3. Delay (added here, the issue asks for it): from the end of the utterance to its first
 *    detection in the range, in ms (negative when the detector fired before the window's end).
 *
 * For streams of several words (a window may name its word), a window only takes detections of
 * its own word; a detection of another word is not used up by it and so counts as a false
 * alarm (a wrong word is heard as a false alarm). The training-side evaluator
 * (`streaming_wakeword/str_ww_util.py`, `get_true_and_false_detections`) differs only in taking
 * true positives up to 0.5 s after the end (`acceptAfterEndS` sets it). Written here: the
 * reference is a few lines of numpy, not a library.
 */

/** One utterance in the stream: seconds from its start; `word` when the stream has several. */
export interface TruthWindow {
  startS: number;
  endS: number;
  word: string | null;
}

/** One detection: its time in the stream (ms from the first sample) and its word. */
export interface Detection {
  streamMs: number;
  word: string;
}

/** The scoring rules' tolerances (MLPerf's runner: 1 s and 1 s). */
export interface ScoreRules {
  /** A detection up to this long after a window's end still counts for it. */
  acceptAfterEndS: number;
  /** False alarms within this long after a counted one are the same alarm. */
  debounceS: number;
}

export const MLPERF_RULES: ScoreRules = { acceptAfterEndS: 1, debounceS: 1 };

/** Boundaries are inclusive: times within this of one (float error: 1.647 s * 1000) are on it. */
export const EDGE_MS = 1e-6;

/** One window's outcome. */
export interface WindowOutcome extends TruthWindow {
  detected: boolean;
  /** The first detection that counted for it (ms), or null. */
  triggerMs: number | null;
  /** `triggerMs` less the window's end (ms), or null. */
  delayMs: number | null;
}

/** A stream's score. */
export interface StreamScore {
  truePositives: number;
  misses: number;
  falseAlarms: number;
  /** Each detected window's delay (ms), in window order. */
  delayMs: number[];
  /** The false alarms' times (ms), after debouncing. */
  falseAlarmMs: number[];
  windows: WindowOutcome[];
  /** Every detection's word, in stream order (the "words in order"). */
  words: string[];
}

/** Scores `detections` against `windows` (any order) by `rules`; see the file's comment. */
export function scoreStream(windows: readonly TruthWindow[], detections: readonly Detection[], rules: ScoreRules = MLPERF_RULES): StreamScore {
  const left = [...detections].sort((a, b) => a.streamMs - b.streamMs);
  const outcomes: WindowOutcome[] = [];
  for (const w of [...windows].sort((a, b) => a.startS - b.startS)) {
    const fromMs = w.startS * 1000 - EDGE_MS;
    const toMs = w.endS * 1000 + rules.acceptAfterEndS * 1000 + EDGE_MS;
    const hit = (d: Detection) => d.streamMs >= fromMs && d.streamMs <= toMs && (w.word === null || d.word === w.word);
    const first = left.find(hit);
    for (let i = left.length - 1; i >= 0; i--) if (hit(left[i]!)) left.splice(i, 1);
    const triggerMs = first?.streamMs ?? null;
    outcomes.push({ ...w, detected: first !== undefined, triggerMs, delayMs: triggerMs === null ? null : triggerMs - w.endS * 1000 });
  }
  const falseAlarmMs: number[] = [];
  for (const d of left) {
    const last = falseAlarmMs.at(-1);
    if (last === undefined || d.streamMs - last > rules.debounceS * 1000 + EDGE_MS) falseAlarmMs.push(d.streamMs);
  }
  const detected = outcomes.filter((o) => o.detected);
  return {
    truePositives: detected.length,
    misses: outcomes.length - detected.length,
    falseAlarms: falseAlarmMs.length,
    delayMs: detected.map((o) => o.delayMs!),
    falseAlarmMs,
    windows: outcomes,
    words: [...detections].sort((a, b) => a.streamMs - b.streamMs).map((d) => d.word),
  };
}

/** One entry of a truth file: MLPerf's `{wav_file, length_sec, detection_windows}`; a window
 * may carry its word as a third element (`[1.0, 1.65, "yes"]`). */
const truthEntrySchema = z
  .object({
    wav_file: z.string().min(1),
    length_sec: z.number().positive(),
    sample_rate: z.number().int().positive().optional(),
    detection_windows: z.array(z.union([z.tuple([z.number(), z.number()]), z.tuple([z.number(), z.number(), z.string().min(1)])])),
  })
  .passthrough();

/** A stream's ground truth. */
export interface StreamTruth {
  wavFile: string;
  lengthS: number;
  windows: TruthWindow[];
}

/**
 * Reads a truth file (MLPerf's `sww_short_test.json` format: a list of entries) and returns the
 * entry of `wav` (its `wav_file`), or the only one when `wav` is undefined. A ConfigError names
 * the file and what is wrong (not JSON, a bad field, a window that ends before it starts, no
 * such entry); `as` names where the path came from (default `--truth`; the daemon's config:
 * `config: calibration.truth`) and `wavOption` the option that names a stream (default `--wav`).
 */
export function readTruth(path: string, wav?: string, as = '--truth', wavOption = '--wav'): StreamTruth {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${as} ${path}`, `cannot read it as JSON: ${(err as Error).message}`, { cause: err });
  }
  const r = z.array(truthEntrySchema).min(1).safeParse(raw);
  if (!r.success) throw new ConfigError(`${as} ${path}: ${r.error.issues[0]!.path.join('.')}`, r.error.issues[0]!.message);
  const names = r.data.map((e) => e.wav_file);
  const entry = wav === undefined ? (r.data.length === 1 ? r.data[0] : undefined) : r.data.find((e) => e.wav_file === wav || e.wav_file.endsWith(`/${wav}`));
  if (entry === undefined) throw new ConfigError(`${as} ${path}`, wav === undefined ? `holds ${r.data.length} streams (${names.join(', ')}): name one with ${wavOption}` : `has no stream ${wav}; it has ${names.join(', ')}`);
  const windows = entry.detection_windows.map(([startS, endS, word]) => ({ startS, endS, word: word ?? null }));
  for (const [i, w] of windows.entries()) {
    if (!(w.endS >= w.startS && w.startS >= 0)) throw new ConfigError(`${as} ${path}: ${entry.wav_file} detection_windows.${i}`, `[${w.startS}, ${w.endS}] does not start at or after 0 and end after its start`);
  }
  return { wavFile: entry.wav_file, lengthS: entry.length_sec, windows };
}

/** What to take from a trigger log. */
export interface DetectionFilter {
  /** Also count `missed` records (detections the detector made on frames past their budget):
   * the model's decisions whatever the machine's timing. */
  includeMissed: boolean;
}

/**
 * The detections in JSON-lines trigger logs (`--jsonl` of a replay or run): each `trigger`
 * record's class and `streamMs` (and `missed` ones when asked). A line that is not a record
 * or a trigger without `streamMs` (a stream without stream time) is a ConfigError naming the
 * file and line.
 */
export function readDetections(paths: readonly string[], filter: DetectionFilter): Detection[] {
  const out: Detection[] = [];
  for (const path of paths) {
    const lines = readFileSync(path, 'utf8').split('\n');
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue;
      const rec = parseRecord(line, `${path}:${i + 1}`);
      if (rec.kind === 'trigger' || (filter.includeMissed && rec.kind === 'missed')) out.push({ streamMs: rec.streamMs, word: rec.class });
    }
  }
  return out.sort((a, b) => a.streamMs - b.streamMs);
}

const recordSchema = z.object({ kind: z.enum(['trigger', 'missed']), class: z.string(), streamMs: z.number() }).passthrough();

function parseRecord(line: string, where: string): z.infer<typeof recordSchema> {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    throw new ConfigError(where, `not a JSON line: ${(err as Error).message}`, { cause: err });
  }
  const r = recordSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(where, `not a trigger record with a class and streamMs (${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}); replay audio with --jsonl`);
  return r.data;
}

/** What `hairtrigger score-keywords` is asked. */
export interface ScoreRequest {
  /** JSON-lines trigger logs. */
  logs: readonly string[];
  /** Truth file and the stream in it; without one every detection is a false alarm. */
  truth?: string;
  wav?: string;
  /** Score this word only (a wake word): the windows are its utterances, other words' detections are left out and counted. */
  word?: string;
  /** The stream's length (s) when there is no truth file (false alarms per hour). */
  lengthS?: number;
  includeMissed: boolean;
  rules?: ScoreRules;
}

/** A scored trigger log: the stream's score, its length and the false alarms per hour. */
export interface ScoreReport extends StreamScore {
  stream: string | null;
  word: string | null;
  lengthS: number | null;
  hours: number | null;
  falseAlarmsPerHour: number | null;
  /** Detections scored, and those of other words left out by `word`. */
  detections: number;
  otherWords: number;
  includeMissed: boolean;
  rules: ScoreRules;
}

/** Reads the logs and the truth and scores them (`scoreStream`); typed errors as its readers'. */
export function scoreKeywordLogs(req: ScoreRequest): ScoreReport {
  const truth = req.truth === undefined ? null : readTruth(req.truth, req.wav);
  const all = readDetections(req.logs, { includeMissed: req.includeMissed });
  const word = req.word ?? null;
  const detections = word === null ? all : all.filter((d) => d.word === word);
  const windows = (truth?.windows ?? []).map((w) => ({ ...w, word: w.word ?? word }));
  const rules = req.rules ?? MLPERF_RULES;
  const score = scoreStream(windows, detections, rules);
  const lengthS = truth?.lengthS ?? req.lengthS ?? null;
  const hours = lengthS === null ? null : lengthS / 3600;
  return {
    ...score, stream: truth?.wavFile ?? null, word, lengthS, hours, falseAlarmsPerHour: hours === null ? null : score.falseAlarms / hours,
    detections: detections.length, otherWords: all.length - detections.length, includeMissed: req.includeMissed, rules,
  };
}

/** The report as a few lines of text. */
export function formatScoreReport(r: ScoreReport): string {
  const ms = (x: number) => `${Math.round(x)} ms`;
  const lines = [
    `${r.stream ?? 'stream'}${r.word === null ? '' : ` (word ${r.word})`}: ${r.truePositives} true positive(s), ${r.misses} miss(es), ${r.falseAlarms} false alarm(s)${r.falseAlarmsPerHour === null ? '' : ` = ${r.falseAlarmsPerHour.toFixed(2)} per hour over ${r.hours!.toFixed(3)} h`}`,
    ...r.windows.map((w) => `  [${w.startS.toFixed(3)}, ${w.endS.toFixed(3)}] s${w.word === null ? '' : ` ${w.word}`}: ${w.detected ? `detected at ${(w.triggerMs! / 1000).toFixed(3)} s, ${ms(w.delayMs!)} after its end` : 'missed'}`),
    ...(r.falseAlarmMs.length > 0 ? [`  false alarms at ${r.falseAlarmMs.map((t) => `${(t / 1000).toFixed(2)} s`).join(', ')}`] : []),
    `  words in order: ${r.words.join(' ') || '(none)'}${r.otherWords > 0 ? `; ${r.otherWords} detection(s) of other words left out` : ''}`,
  ];
  return lines.join('\n') + '\n';
}
