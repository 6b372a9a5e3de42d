// Streaming keyword detection through the real CLI (`hairtrigger replay`, the keyword student
// on the compiled simulator, the card's detector and budget, no config), scored by
// `hairtrigger score-keywords` with MLPerf Tiny's streaming wake-word rules: on MLPerf's own
// wake-word stream (the card's streaming numbers), on a stream of the real test speakers' clips
// (the words in order, against what the card's per-word recall predicts) and on sox noise (the
// false alarms the scorer reports are the triggers in the log).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../host/src/core/rng.js';
import { readModelCard } from '../../host/src/model/card.js';
import { readWav } from '../../host/src/modalities/audio/wav.js';
import type { ScoreReport } from '../../host/src/modalities/audio/score.js';
import { validateConfig } from '../../host/src/config/schema.js';
import { modelCopy, REPO, runToEnd, SHARED, tempDir, ZOO } from '../support/fixtures.js';
import { runPython, TRAIN } from '../support/python.js';

const MODEL = join(ZOO, 'keywords');
const SWW = join(SHARED, 'audio', 'mlperf-tiny-wakeword');
const RATE = 16_000;
const dir = tempDir('kwstream');

/** `hairtrigger ...args`, its stdout. */
function cli(args: string[]): string {
  return execFileSync(process.execPath, [join(REPO, 'bin', 'hairtrigger.js'), ...args], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Replays `wav` with the model alone (the card's defaults, or `extra` options) and returns the log's files. */
function replay(wav: string, name: string, extra: string[] = []): string[] {
  cli(['replay', wav, '--model', MODEL, '--backend', 'sim', '--pacing', 'max', '--jsonl', join(dir, `${name}.jsonl`), ...extra]);
  return readdirSync(dir).filter((f) => f.startsWith(`${name}.`) && f.endsWith('.jsonl')).map((f) => join(dir, f));
}

function score(logs: string[], args: string[]): ScoreReport {
  return JSON.parse(cli(['score-keywords', ...logs, '--include-missed', '--json', ...args])) as ScoreReport;
}

/** The real test clips of the seed `make models` uses (keywords_data.py's speaker split): [path, word]. */
function testClips(): [string, string][] {
  const script = `import sys, json; sys.path.insert(0, ${JSON.stringify(TRAIN)}); import keywords_data as kd
print(json.dumps([[p, l] for p, l, s in kd.real_clips(${JSON.stringify(join(SHARED, 'audio'))}) if kd.split_of(s, 1) == "test"]))`;
  return JSON.parse(runPython(['-c', script])) as [string, string][];
}

/** One second, centred (keywords_data.fit_clip without a shift), as int16. */
function oneSecond(x: Int16Array): Int16Array {
  const out = new Int16Array(RATE);
  if (x.length >= RATE) out.set(x.subarray((x.length - RATE) >> 1, ((x.length - RATE) >> 1) + RATE));
  else out.set(x, (RATE - x.length) >> 1);
  return out;
}

/** Whether `sub` occurs in `seq` in order (not necessarily adjacent). */
function isSubsequence(sub: readonly string[], seq: readonly string[]): boolean {
  let at = 0;
  for (const w of seq) if (at < sub.length && w === sub[at]) at++;
  return at === sub.length;
}

/** Writes int16 samples as a 16 kHz mono WAV (with sox, the tool the project makes audio with). */
function writeWav(path: string, samples: Int16Array): void {
  const raw = `${path}.raw`;
  writeFileSync(raw, new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  execFileSync('sox', ['-t', 'raw', '-r', String(RATE), '-e', 'signed', '-b', '16', '-c', '1', raw, path]);
}

describe("the keyword card's streaming defaults", () => {
  const cfg = (model: string, over: Record<string, unknown> = {}) =>
    validateConfig({ pipeline: 'test', model, backend: 'onnx', source: { kind: 'wav', path: join(SWW, 'short_wav_easy10s.wav'), pacing: 'max' }, trigger: {}, server: { enabled: false }, ...over });

  it("are the route of a config without one (a bad one is an error naming the card's field); a config's route wins", async () => {
    const bad = modelCopy('keywords', dir, (c) => (c.trigger.detector.smoothFrames = 0));
    await expect(runToEnd(cfg(bad))).rejects.toThrow(/card\.json: trigger\.detector/);
    const d = await runToEnd(cfg(bad, { route: { kind: 'detector', smoothFrames: 1, threshold: 0.99 } }));
    expect(d.metrics.frames).toBeGreaterThan(0);
  }, 120_000);
});

describe('streaming keyword detection, scored like MLPerf Tiny streaming wake words', () => {
  it("replays MLPerf's wake-word stream with the model alone and scores the card's streaming numbers", () => {
    const card = readModelCard(MODEL).raw as { streaming: { wakeword: { tp: number; misses: number; falseAlarms: number; delayMs: number[] } } };
    const logs = replay(join(SWW, 'short_wav_easy10s.wav'), 'wakeword');
    const r = score(logs, ['--truth', join(SWW, 'sww_short_test.json'), '--word', 'marvin']);
    const want = card.streaming.wakeword;
    expect([r.truePositives, r.misses, r.falseAlarms]).toEqual([want.tp, want.misses, want.falseAlarms]);
    expect(r.delayMs.map((d) => Math.round(d))).toEqual(want.delayMs);
    expect(r.truePositives + r.misses).toBe(3); // the benchmark's three utterances of "marvin"
  }, 120_000);

  it('hears the real test speakers\' words in order, as often as the card\'s per-word recall predicts', () => {
    const card = readModelCard(MODEL);
    const recall = (card.raw.student as { recall: Record<string, number | null> }).recall;
    // Every test clip (keywords, unknown words, silence) in a seeded order, one second each
    // (centred as the card's accuracy was measured), a second of silence after each.
    const clips = testClips();
    const rng = createRng(11);
    for (let i = clips.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [clips[i], clips[j]] = [clips[j]!, clips[i]!];
    }
    const stream = new Int16Array(clips.length * 2 * RATE);
    const windows: [number, number, string][] = [];
    for (const [i, [path, word]] of clips.entries()) {
      stream.set(oneSecond(readWav(path).samples), i * 2 * RATE);
      if (card.targets!.includes(word)) windows.push([i * 2, i * 2 + 1, word]);
    }
    const wav = join(dir, 'test-speakers.wav');
    writeWav(wav, stream);
    const truth = join(dir, 'test-speakers.json');
    writeFileSync(truth, JSON.stringify([{ wav_file: 'test-speakers.wav', length_sec: stream.length / RATE, detection_windows: windows }]));
    const r = score(replay(wav, 'test-speakers'), ['--truth', truth]);
    expect(r.truePositives + r.misses).toBe(windows.length);
    // Words in order: each detected window's word, and the detections' words, in stream order.
    const heard = r.windows.filter((w) => w.detected);
    expect(heard.map((w) => w.word)).toEqual(windows.filter((_, i) => r.windows[i]!.detected).map(([, , w]) => w));
    expect(heard.every((w, i) => i === 0 || w.triggerMs! > heard[i - 1]!.triggerMs!)).toBe(true);
    expect(isSubsequence(heard.map((w) => w.word!), r.words)).toBe(true);
    // Against the card: the clip classifier's per-word recall on these same clips bounds how many
    // words a stream can be heard (binomial, 3 sigma above its expectation); the streaming
    // recall and false alarms agree with the validation speakers' stream the card scored with
    // the same detector (two-sample binomial / Poisson, 3 sigma).
    const expected = windows.reduce((a, [, , w]) => a + recall[w]!, 0);
    const sd = Math.sqrt(windows.reduce((a, [, , w]) => a + recall[w]! * (1 - recall[w]!), 0));
    expect(r.truePositives).toBeLessThanOrEqual(expected + 3 * sd);
    const val = (card.raw.streaming as { speakers: { val: { keywords: number; tp: number; falseAlarms: number } } }).speakers.val;
    const p = val.tp / val.keywords;
    expect(Math.abs(r.truePositives / windows.length - p)).toBeLessThanOrEqual(3 * Math.sqrt(p * (1 - p) * (1 / windows.length + 1 / val.keywords)));
    const faExpected = (val.falseAlarms * windows.length) / val.keywords;
    expect(Math.abs(r.falseAlarms - faExpected)).toBeLessThanOrEqual(3 * Math.sqrt(faExpected + val.falseAlarms * (windows.length / val.keywords) ** 2) + 1);
  }, 300_000);

  it('counts every trigger on a keyword-free sox noise stream as a false alarm, per hour of audio', () => {
    // Pink noise band-passed to the voice band and pulsed 4 times a second: speech-like enough
    // that the student, unsmoothed at threshold 0.5, hears words in it (every trigger a false
    // alarm); the card's detector (16 hops, 0.8) no longer fires on it.
    const wav = join(dir, 'noise.wav');
    const lengthS = 30;
    execFileSync('sox', ['-R', '-n', '-r', String(RATE), '-b', '16', '-c', '1', wav, 'synth', String(lengthS), 'pinknoise', 'band', '1000', '300', 'tremolo', '4', '100', 'vol', '0.5']);
    const route = join(dir, 'noise-route.json');
    writeFileSync(route, JSON.stringify({ kind: 'detector', smoothFrames: 1, threshold: 0.5, debounceMs: 1000 }));
    const logs = replay(wav, 'noise', ['--route', route]);
    const records = logs.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { kind: string; streamMs: number }));
    const r = score(logs, ['--length-s', String(lengthS)]);
    expect(records.length).toBeGreaterThan(0);
    expect(r.falseAlarms).toBe(records.length);
    expect(r.falseAlarmMs).toEqual(records.map((e) => e.streamMs).sort((a, b) => a - b));
    expect(r.falseAlarmsPerHour).toBeCloseTo(records.length / (lengthS / 3600), 9);
    expect([r.truePositives, r.misses]).toEqual([0, 0]);
  }, 120_000);
});
