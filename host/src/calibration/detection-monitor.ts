import { ConfigError } from '../core/errors.js';
import type { FrameSlot } from '../core/frame.js';
import { limits } from '../core/limits.js';
import { MLPERF_RULES, readTruth, type ScoreRules, type StreamTruth } from '../modalities/audio/score.js';
import type { DetectionScoreView } from '../server/api-types.js';
import type { CalibrationFile } from './calibration-file.js';
import { DetectionMatcher } from './detection-matcher.js';

/** What a labelled keyword replay is scored against (config `calibration.truth`). */
export interface TruthSettings {
  /** MLPerf Tiny's truth format (`sww_short_test.json`), absolute. */
  file: string;
  /** The entry (`wav_file`) of the stream; default: the wav source's file name, else the only entry. */
  stream?: string;
  /** Score this word only (a wake word): unnamed windows are its utterances, other words' detections are left out. */
  word?: string;
  /** Count missed (late) detections too: the model's decisions whatever the machine's timing. */
  includeMissed: boolean;
}

/**
 * A labelled keyword replay scored as it goes: on the hot path (`record`, from the metrics'
 * per-frame count) each hop advances the stream time and each detection (a trigger, or a
 * missed one when asked) is matched against the truth windows by MLPerf Tiny's streaming rules
 * (`DetectionMatcher`: preallocated, nothing allocates). Off the hot path `read` builds the
 * snapshot's `detectionScore`: true positives, misses, false alarms and their rate per hour of
 * stream, the delays' percentiles and, beside each calibrated recall target (promised per clip),
 * the recall its words reach per detection. A metrics reset does not forget it: the score is of
 * the stream from its start, as the truth is.
 */
export class DetectionMonitor {
  private readonly matcher: DetectionMatcher;
  private readonly wordOnly: number;
  private readonly scratch: Float64Array;
  private readonly masks: Uint8Array[];
  private otherWords = 0;
  private readonly includeMissed: boolean;

  constructor(private readonly truth: StreamTruth, private readonly settings: TruthSettings, private readonly labels: readonly string[], private readonly calibration: CalibrationFile | null, private readonly rules: ScoreRules = MLPERF_RULES) {
    const where = `config: calibration.truth (${settings.file}: ${truth.wavFile})`;
    this.includeMissed = settings.includeMissed;
    this.wordOnly = settings.word === undefined ? -1 : labelIndex(labels, settings.word, 'config: calibration.truth.word');
    if (truth.windows.length > limits.truthWindowsMax) throw new ConfigError(where, `holds ${truth.windows.length} windows; at most ${limits.truthWindowsMax} (limits.truthWindowsMax) are kept`);
    const wordOf = truth.windows.map((w, i) => (w.word === null ? this.wordOnly : labelIndex(labels, w.word, `${where} detection_windows.${i}`)));
    this.matcher = new DetectionMatcher(truth.windows, (_, i) => wordOf[i]!, rules);
    this.scratch = new Float64Array(truth.windows.length);
    this.masks = (calibration?.targets ?? []).filter((t) => t.kind === 'recall').map((t) => {
      const m = new Uint8Array(labels.length);
      for (const c of t.classes) m[labels.indexOf(c)] = 1;
      return m;
    });
  }

  /** Counts one decided frame: its stream time, and its detection when it fired (or was missed,
   * when asked). A frame without stream time counts nothing (the daemon refuses truth for such a
   * source). Never allocates. */
  record(slot: FrameSlot): void {
    const m = this.matcher;
    const t = slot.sensorNs / 1e6;
    // No stream time, or time gone back (not a stream the truth describes): nothing to count.
    if (t !== t || m.finished || t < m.clock[1]!) return;
    let word = slot.triggered || (this.includeMissed && slot.missed) ? slot.predicted : -1;
    if (word >= 0 && this.wordOnly >= 0 && word !== this.wordOnly) {
      this.otherWords++;
      word = -1;
    }
    // The time goes to the matcher through its typed array (no float argument to box).
    m.clock[0] = t;
    m.hop(word);
  }

  /** The end of the stream: every window still open is a miss from now on. */
  finish(): void {
    if (!this.matcher.finished) this.matcher.finish();
  }

  /** The snapshot's `detectionScore`. */
  read(): DetectionScoreView {
    const m = this.matcher;
    const decided = m.truePositives + m.misses;
    const streamS = m.streamMs / 1000;
    const hours = (m.finished ? Math.max(this.truth.lengthS, streamS) : streamS) / 3600;
    const recallTargets = (this.calibration?.targets ?? []).filter((t) => t.kind === 'recall');
    return {
      truth: this.settings.file, stream: this.truth.wavFile, word: this.settings.word ?? null, includeMissed: this.settings.includeMissed, rules: { ...this.rules },
      windows: m.windows, truePositives: m.truePositives, misses: m.misses, pending: m.pending, falseAlarms: m.falseAlarms,
      detections: m.detections, repeats: m.repeats, otherWords: this.otherWords,
      streamS, lengthS: this.truth.lengthS, ended: m.finished,
      falseAlarmsPerHour: hours > 0 ? m.falseAlarms / hours : null,
      recall: decided > 0 ? m.truePositives / decided : null,
      delayMs: this.delays(),
      targets: recallTargets.map((t, j) => {
        const { decided: windows, detected } = m.tally(this.masks[j]!);
        return { classes: [...t.classes], target: t.target, bound: t.bound, threshold: t.threshold, per: 'clip' as const, windows, detected, recall: windows > 0 ? detected / windows : null };
      }),
    };
  }

  /** Nearest-rank percentiles of the delays so far (a sorted copy in preallocated scratch). */
  private delays(): DetectionScoreView['delayMs'] {
    const n = this.matcher.truePositives;
    if (n === 0) return null;
    const s = this.scratch.subarray(0, n);
    s.set(this.matcher.delaysMs.subarray(0, n));
    s.sort();
    const at = (q: number) => s[Math.max(0, Math.ceil(q * n) - 1)]!;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += s[i]!;
    return { count: n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[n - 1]!, mean: sum / n };
  }
}

function labelIndex(labels: readonly string[], word: string, where: string): number {
  const k = labels.indexOf(word);
  if (k < 0) throw new ConfigError(where, `"${word}" is not a label of the model; labels are ${labels.join(', ')}`);
  return k;
}

/**
 * The monitor of a config's `calibration.truth` (a string is its file): the truth read (the
 * entry of `settings.stream`, else of the wav source's file `sourceWav`, else the only one),
 * its words checked against the model's labels. Typed errors name the config field and file.
 */
export function detectionMonitor(settings: TruthSettings, labels: readonly string[], calibration: CalibrationFile | null, sourceWav: string | null): DetectionMonitor {
  const wav = settings.stream ?? sourceWav ?? undefined;
  const truth = readTruth(settings.file, wav, 'config: calibration.truth', 'calibration.truth.stream');
  return new DetectionMonitor(truth, settings, labels, calibration);
}
