// A labelled keyword replay scored live (`calibration.truth`): the real daemon (wav source, MFCC
// front end, the keyword student on the compiled simulator, the detector) matches each detection
// against the stream's truth windows as it goes, and its snapshot's `detectionScore` is checked
// against `hairtrigger score-keywords` (the batch port of MLPerf Tiny's runner) on the trigger
// log the same run wrote:
// - MLPerf's own wake-word stream through `hairtrigger replay --truth` (its printed snapshot);
// - a stream of the real test speakers' clips (keywords_data.py's split) through the shipped
//   calibrated config (recall 90% per clip, threshold 0.16), where the wrong word often fires
//   first: the per-detection recall of the calibrated targets beside the per-clip promise.
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oneSecond } from '../../host/src/calibration/score-keywords.js';
import { applyOverrides } from '../../host/src/cli/run-daemon.js';
import { loadConfigFile, validateConfig } from '../../host/src/config/schema.js';
import { createRng } from '../../host/src/core/rng.js';
import { createDaemon } from '../../host/src/daemon.js';
import type { Snapshot } from '../../host/src/metrics/snapshot.js';
import type { ScoreReport } from '../../host/src/modalities/audio/score.js';
import { readWav } from '../../host/src/modalities/audio/wav.js';
import { systemClock } from '../../host/src/native/addon.js';
import type { DetectionScoreView } from '../../host/src/server/api-types.js';
import { realTimers } from '../../host/src/sources/source.js';
import { writeWav } from '../support/audio.js';
import { REPO, SHARED, tempDir, ZOO } from '../support/fixtures.js';
import { runPython, TRAIN } from '../support/python.js';

const MODEL = join(ZOO, 'keywords');
const SWW = join(SHARED, 'audio', 'mlperf-tiny-wakeword');
const CONFIGS = join(REPO, 'host', 'configs');
const RATE = 16_000;
const dir = tempDir('kwscore');

function cli(args: string[]): string {
  return execFileSync(process.execPath, [join(REPO, 'bin', 'hairtrigger.js'), ...args], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The log files a run wrote beside the base path `base` (<stem>.<run>.<part>.jsonl). */
function logFiles(base: string): string[] {
  const stem = base.replace(/\.jsonl$/, '');
  return readdirSync(dir).filter((f) => join(dir, f).startsWith(`${stem}.`) && f.endsWith('.jsonl')).map((f) => join(dir, f));
}

/** The live score equals the batch scorer's on the log of the same run. */
function expectSameScore(live: DetectionScoreView, batch: ScoreReport): void {
  expect(live.ended).toBe(true);
  expect([live.truePositives, live.misses, live.falseAlarms, live.pending]).toEqual([batch.truePositives, batch.misses, batch.falseAlarms, 0]);
  expect(live.windows).toBe(batch.windows.length);
  expect(live.detections).toBe(batch.detections);
  expect(live.otherWords).toBe(batch.otherWords);
  expect(live.falseAlarmsPerHour).toBeCloseTo(batch.falseAlarmsPerHour!, 9);
  // Delays: nearest-rank percentiles of the batch scorer's delays, computed here.
  const d = [...batch.delayMs].sort((a, b) => a - b);
  if (d.length === 0) expect(live.delayMs).toBeNull();
  else {
    const at = (q: number) => d[Math.max(0, Math.ceil(q * d.length) - 1)]!;
    expect(live.delayMs).toMatchObject({ count: d.length, max: d.at(-1)! });
    expect(live.delayMs!.p50).toBeCloseTo(at(0.5), 9);
    expect(live.delayMs!.p90).toBeCloseTo(at(0.9), 9);
    expect(live.delayMs!.mean).toBeCloseTo(d.reduce((a, b) => a + b, 0) / d.length, 9);
  }
}

/** The real test clips of the seed `make models` uses (keywords_data.py's speaker split): [path, word]. */
function testClips(): [string, string][] {
  const script = `import sys, json; sys.path.insert(0, ${JSON.stringify(TRAIN)}); import keywords_data as kd
print(json.dumps([[p, l] for p, l, s in kd.real_clips(${JSON.stringify(join(SHARED, 'audio'))}) if kd.split_of(s, 1) == "test"]))`;
  return JSON.parse(runPython(['-c', script])) as [string, string][];
}

describe('a labelled keyword replay scored live, as score-keywords scores its log', () => {
  it("MLPerf's wake-word stream through hairtrigger replay --truth (marvin, missed detections counted)", () => {
    const log = join(dir, 'ww.jsonl');
    const truth = join(SWW, 'sww_short_test.json');
    const snap = JSON.parse(cli(['replay', join(SWW, 'short_wav_easy10s.wav'), '--model', MODEL, '--backend', 'sim', '--pacing', 'max', '--jsonl', log, '--truth', truth, '--truth-word', 'marvin', '--truth-include-missed'])) as Snapshot;
    const batch = JSON.parse(cli(['score-keywords', ...logFiles(log), '--truth', truth, '--word', 'marvin', '--include-missed', '--json'])) as ScoreReport;
    const live = snap.detectionScore!;
    expect(live).toMatchObject({ stream: 'short_wav_easy10s.wav', word: 'marvin', includeMissed: true, windows: 3, lengthS: 10 });
    expectSameScore(live, batch);
    expect(live.targets).toEqual([]); // no calibration file: no promise to set beside it
  }, 120_000);

  it("the test speakers' words through the shipped calibrated config: recall per detection beside the per-clip promise", async () => {
    // A seeded sample of the test speakers' clips (keywords, unknown words, silence), a second
    // each with a second of silence after it; the keywords' seconds are the truth windows.
    const shipped = join(CONFIGS, 'keywords-recall90.yaml');
    const given = loadConfigFile(shipped);
    const targets = given.trigger.targets!;
    const clips = testClips();
    const rng = createRng(1515);
    for (let i = clips.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [clips[i], clips[j]] = [clips[j]!, clips[i]!];
    }
    const chosen = clips;
    const stream = new Int16Array(chosen.length * 2 * RATE);
    const windows: [number, number, string][] = [];
    for (const [i, [path, word]] of chosen.entries()) {
      stream.set(oneSecond(readWav(path).samples, RATE), i * 2 * RATE);
      if (targets.includes(word)) windows.push([i * 2, i * 2 + 1, word]);
    }
    const wav = join(dir, 'speakers.wav');
    writeWav(wav, stream);
    const truth = join(dir, 'speakers.json');
    writeFileSync(truth, JSON.stringify([{ wav_file: 'other.wav', length_sec: 1, detection_windows: [] }, { wav_file: 'speakers.wav', length_sec: stream.length / RATE, detection_windows: windows }]));
    const log = join(dir, 'speakers.jsonl');
    const cfg = validateConfig({ ...given, source: { kind: 'wav', path: wav, pacing: 'max' }, sinks: { jsonl: log }, server: { enabled: false }, calibration: { ...given.calibration!, truth } }, shipped);
    const d = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: CONFIGS, firmwareDir: join(REPO, 'hls', 'build'), onBug: (e) => { throw e; } });
    d.start();
    await d.sourceDone;
    await d.stop();
    const live = d.view.snapshot().detectionScore!;
    const batch = JSON.parse(cli(['score-keywords', ...logFiles(log), '--truth', truth, '--wav', 'speakers.wav', '--json'])) as ScoreReport;
    expect(live).toMatchObject({ stream: 'speakers.wav', word: null, includeMissed: false });
    expectSameScore(live, batch);
    expect(windows.length).toBeGreaterThan(20);
    // At the calibrated threshold the stream has both kinds of error, so the comparison above
    // exercised misses and false alarms, not only hits.
    expect(live.misses).toBeGreaterThan(0);
    expect(live.falseAlarms).toBeGreaterThan(0);
    // The calibrated target (recall 0.9 of the keywords together, per clip), measured per
    // detection over every keyword window: the windows the batch scorer detected.
    expect(live.targets).toHaveLength(1);
    expect(live.targets[0]).toMatchObject({ classes: targets, target: 0.9, per: 'clip', windows: windows.length, detected: batch.truePositives });
    expect(live.targets[0]!.recall).toBeCloseTo(batch.truePositives / windows.length, 12);
    expect(live.recall).toBeCloseTo(batch.truePositives / windows.length, 12);
  }, 300_000);
});

describe('calibration.truth refused with a typed error naming the field and file', () => {
  const base = (over: Record<string, unknown>) => validateConfig({ pipeline: 'bad', model: MODEL, backend: 'sim', budgetUs: 10_000_000, source: { kind: 'wav', path: join(SWW, 'short_wav_easy10s.wav'), pacing: 'max' }, trigger: {}, server: { enabled: false }, ...over });
  const start = (cfg: ReturnType<typeof base>) => createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, firmwareDir: join(REPO, 'hls', 'build'), onBug: (e) => { throw e; } });

  it('a truth file that is not JSON, names no such stream, or a word not of the model', async () => {
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{');
    await expect(start(base({ calibration: { truth: notJson } }))).rejects.toThrow(/E_CONFIG.*config: calibration\.truth .*not\.json.*cannot read it as JSON/);
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify([{ wav_file: 'a.wav', length_sec: 1, detection_windows: [] }]));
    await expect(start(base({ calibration: { truth: other } }))).rejects.toThrow(/config: calibration\.truth .*other\.json.*has no stream short_wav_easy10s\.wav; it has a\.wav/);
    const word = join(dir, 'word.json');
    writeFileSync(word, JSON.stringify([{ wav_file: 'short_wav_easy10s.wav', length_sec: 10, detection_windows: [[1, 2, 'marvin'], [3, 4, 'sheila']] }]));
    await expect(start(base({ calibration: { truth: word } }))).rejects.toThrow(/config: calibration\.truth \(.*word\.json: short_wav_easy10s\.wav\) detection_windows\.1.*"sheila" is not a label/);
    await expect(start(base({ calibration: { truth: { file: join(SWW, 'sww_short_test.json'), word: 'sheila' } } }))).rejects.toThrow(/config: calibration\.truth\.word.*"sheila"/);
  }, 60_000);

  it('hairtrigger run --truth sets calibration.truth beside the config\'s calibration file; replay --truth-word without --truth', () => {
    const cfg = applyOverrides(loadConfigFile(join(CONFIGS, 'keywords-recall90.yaml')), { truth: '/t/speakers.json' });
    expect(cfg.calibration).toMatchObject({ file: 'keywords-recall90.calibration.json', truth: '/t/speakers.json', windowFrames: 1000 });
    expect(applyOverrides(base({}), { truth: '/t/a.json' }).calibration).toEqual({ truth: '/t/a.json', windowFrames: 1000, driftAlpha: 0.001 });
    const notJson = join(dir, 'run-not.json');
    writeFileSync(notJson, '[');
    const yaml = join(dir, 'run.yaml');
    writeFileSync(yaml, `pipeline: kw\nmodel: ${MODEL}\nbackend: sim\nsource: {kind: wav, path: ${join(SWW, 'short_wav_easy10s.wav')}, pacing: max}\ntrigger: {}\nsinks: {}\nserver: {enabled: false}\n`);
    const fails = (args: string[]) => {
      try {
        cli(args);
      } catch (err) {
        return String((err as { stderr: string }).stderr);
      }
      throw new Error(`hairtrigger ${args.join(' ')} did not fail`);
    };
    expect(fails(['run', '-c', yaml, '--truth', notJson])).toMatch(/E_CONFIG at config: calibration\.truth .*run-not\.json.*cannot read it as JSON/);
    expect(fails(['replay', join(SWW, 'short_wav_easy10s.wav'), '--model', MODEL, '--truth-word', 'marvin'])).toMatch(/E_CONFIG at --truth-stream\/--truth-word\/--truth-include-missed: qualify --truth/);
  }, 60_000);

  it('a looping source, and a calibration block with neither file nor truth', async () => {
    await expect(start(base({ source: { kind: 'wav', path: join(SWW, 'short_wav_easy10s.wav'), pacing: 'max', loop: true }, calibration: { truth: join(SWW, 'sww_short_test.json') } }))).rejects.toThrow(/config: calibration\.truth.*loops/);
    expect(() => base({ calibration: { windowFrames: 100 } })).toThrow(/calibration.*give file .* or truth/);
  }, 60_000);
});
