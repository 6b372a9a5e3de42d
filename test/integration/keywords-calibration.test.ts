// Calibrating the streaming keyword detector on real Speech Commands clips:
// - the clips and speaker split are keywords_data.py's (the Python that trained the model), clip
//   by clip, so calibration reads only validation speakers and measures on test speakers;
// - a clip's score is where the daemon's detector fires: each clip streamed through the real
//   daemon (wav source, MFCC front end, the student on the compiled simulator, the detector)
//   fires its class at a threshold equal to its score, and not at the next double above it;
// - the split-conformal guarantee over 500 random halvings of the validation and test
//   speakers' clips (scored once), against the beta-binomial law (test/support/conformal-splits.ts);
// - `hairtrigger calibrate` on a keyword config writes the detector's route and a hop reference.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { calibratePipeline } from '../../host/src/calibration/calibrate-pipeline.js';
import { readCalibrationFile } from '../../host/src/calibration/calibration-file.js';
import { nextUp } from '../../host/src/calibration/conformal.js';
import { cardSplit, speechCommandsClips } from '../../host/src/calibration/keyword-clips.js';
import { scoreLabelledData } from '../../host/src/calibration/score-data.js';
import { clipStreamLayout } from '../../host/src/calibration/score-keywords.js';
import type { CalibrationRequest, LabelledScores } from '../../host/src/calibration/thresholds.js';
import { loadConfigFile, validateConfig } from '../../host/src/config/schema.js';
import { createDaemon } from '../../host/src/daemon.js';
import { systemClock } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { createRng } from '../../host/src/core/rng.js';
import { readModelCard } from '../../host/src/model/card.js';
import { readWav } from '../../host/src/modalities/audio/wav.js';
import { checkGuarantee, describeRequest } from '../support/conformal-splits.js';
import { REPO, runToEnd, SHARED, tempDir, ZOO } from '../support/fixtures.js';
import { runPython, TRAIN } from '../support/python.js';

const MODEL = join(ZOO, 'keywords');
const CLIPS = join(SHARED, 'audio', 'speech-commands-pico-tinyml-benchmark');
const FIRMWARE = join(REPO, 'hls', 'build');
const RATE = 16_000;
const dir = tempDir('kwcal');
const card = readModelCard(MODEL);
const targets = card.targets!;

const cfg = (over: Record<string, unknown> = {}) => validateConfig({ model: MODEL, backend: 'sim', trigger: {}, sinks: {}, ...over });

/** Scores of a split's clips, computed once per test file. */
const scored = new Map<string, Promise<LabelledScores>>();
function scores(split: string): Promise<LabelledScores> {
  if (!scored.has(split)) scored.set(split, scoreLabelledData(cfg(), card, (p) => p, FIRMWARE, { path: CLIPS, split }));
  return scored.get(split)!;
}

/** Writes int16 samples as a 16 kHz mono 16-bit WAV (with sox, the tool the project makes audio with). */
function writeWav(path: string, samples: Int16Array): void {
  const raw = `${path}.raw`;
  writeFileSync(raw, new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  execFileSync('sox', ['-t', 'raw', '-r', String(RATE), '-e', 'signed', '-b', '16', '-c', '1', raw, path]);
}

describe('keyword clips for calibration', () => {
  it("are keywords_data.py's real clips, labels and speaker split, clip by clip", () => {
    const script = `import sys, json; sys.path.insert(0, ${JSON.stringify(TRAIN)}); import keywords_data as kd
rows = kd.real_clips(${JSON.stringify(join(SHARED, 'audio'))})
print(json.dumps({s: [[p, kd.LABELS.index(l)] for p, l, sp in rows if kd.split_of(sp, 1) == s] for s in ("train", "val", "test")}))`;
    const want = JSON.parse(runPython(['-c', script])) as Record<string, [string, number][]>;
    const split = cardSplit(card);
    for (const name of ['train', 'val', 'test']) {
      const got = speechCommandsClips(CLIPS, card.labels, { ...split, name }).map((c) => [c.path, c.label]);
      expect(got, name).toEqual(want[name]);
    }
    expect(want.val!.length).toBeGreaterThan(100);
    expect(() => speechCommandsClips(CLIPS, card.labels, { ...split, name: 'dev' })).toThrow(/E_CALIBRATION at --split dev.*train, val, test/);
    expect(() => speechCommandsClips(join(SHARED, 'audio', 'micro-speech'), card.labels, { ...split, name: 'val' })).toThrow(/holds no clip of a val speaker/);
  }, 60_000);
});

describe("a clip's calibration score is where the daemon's detector fires", () => {
  it('at a threshold equal to the score, and not at the next double above it (real daemon, sim backend)', async () => {
    const s = await scores('val');
    const c = s.labels.length;
    const clips = speechCommandsClips(CLIPS, card.labels, { ...cardSplit(card), name: 'val' });
    const detector = card.detector as { smoothFrames: number };
    const { lead, total } = clipStreamLayout({ windowSamples: 480, hopSamples: 320, frames: 49, rateHz: RATE }, detector.smoothFrames);
    // A keyword clip on its own word, and a non-keyword clip on the keyword it comes closest to.
    // The keyword clip's score must be below 1 (a score of 1 has no valid threshold above it).
    const kYes = card.labels.indexOf('yes');
    const yes = clips.findIndex((x, i) => x.label === kYes && s.probs[i * c + kYes]! < 1);
    expect(yes, 'a "yes" clip scored below 1').toBeGreaterThanOrEqual(0);
    const unknown = clips.findIndex((x) => card.labels[x.label] === 'unknown');
    const closest = targets.map((t) => card.labels.indexOf(t)).reduce((a, k) => (s.probs[unknown * c + k]! > s.probs[unknown * c + a]! ? k : a));
    for (const [i, k] of [[yes, kYes], [unknown, closest]] as const) {
      const x = readWav(clips[i]!.path).samples;
      const stream = new Int16Array(total);
      const second = new Int16Array(RATE);
      if (x.length >= RATE) second.set(x.subarray((x.length - RATE) >> 1, ((x.length - RATE) >> 1) + RATE));
      else second.set(x, (RATE - x.length) >> 1);
      stream.set(second, lead);
      const wav = join(dir, `clip-${i}.wav`);
      writeWav(wav, stream);
      const score = s.probs[i * c + k]!;
      const fired: number[] = [];
      for (const threshold of [score, nextUp(score)]) {
        const d = await runToEnd(cfg({
          pipeline: 'kwcal', budgetUs: 10_000_000, source: { kind: 'wav', path: wav, pacing: 'max' }, server: { enabled: false },
          trigger: { targets: [card.labels[k]] }, route: { kind: 'detector', smoothFrames: detector.smoothFrames, threshold, debounceMs: 1000 },
        }));
        fired.push(d.metrics.triggers);
      }
      expect(fired, `${clips[i]!.path} on ${card.labels[k]} at ${score}`).toEqual([1, 0]);
    }
  }, 120_000);
});

describe('split-conformal guarantee on the real validation and test speakers\' clips, 500 random splits', () => {
  const REQUESTS: CalibrationRequest[] = [
    { kind: 'recallTargets', recall: 0.9 },
    { kind: 'recallTargets', recall: 0.8 },
    { kind: 'falseRate', cls: 'yes', rate: 0.05 },
    { kind: 'falseRate', cls: 'go', rate: 0.1 },
  ];
  for (const [j, req] of REQUESTS.entries()) {
    it(describeRequest(req, targets).name, async () => {
      const [val, test] = await Promise.all([scores('val'), scores('test')]);
      const c = val.labels.length;
      const pool: LabelledScores = { labels: val.labels, truth: Int16Array.from([...val.truth, ...test.truth]), probs: Float64Array.from([...val.probs, ...test.probs]), source: 'val+test' };
      expect(pool.probs.length).toBe(pool.truth.length * c);
      checkGuarantee(expect, pool, req, targets, 15_101 + j, 500, createRng);
    }, 120_000);
  }
});

describe('hairtrigger calibrate on a keyword pipeline', () => {
  it("writes the detector's route with the threshold, and the per-hop drift reference", async () => {
    const config = join(dir, 'kw.yaml');
    writeFileSync(config, `# a keyword pipeline\nmodel: ${MODEL}\nbackend: sim\ntrigger: {}\nsinks: {}\n`);
    const r = await calibratePipeline({ config, data: { path: CLIPS, split: 'val' }, requests: [{ kind: 'recallTargets', recall: 0.9 }], out: join(dir, 'kw-90.yaml'), firmwareDir: FIRMWARE, nowIso: 'now' });
    const val = await scores('val');
    // The order statistic, computed here: the floor(0.1 * 123) = 12th smallest own-keyword score of the 122 keyword clips.
    const c = val.labels.length;
    const own: number[] = [];
    for (let i = 0; i < val.truth.length; i++) if (targets.includes(val.labels[val.truth[i]!]!)) own.push(val.probs[i * c + val.truth[i]!]!);
    own.sort((a, b) => a - b);
    const k = Math.floor(0.1 * (own.length + 1));
    const written = parse(readFileSync(r.config, 'utf8')) as { route: { kind: string; threshold: number; smoothFrames: number; debounceMs: number }; trigger: { targets: string[] } };
    expect(written.route).toMatchObject({ kind: 'detector', threshold: own[k - 1], smoothFrames: (card.detector as { smoothFrames: number }).smoothFrames, debounceMs: 1000 });
    expect(written.trigger.targets).toEqual(targets);
    expect(r.block).toBe('route');
    const file = readCalibrationFile(r.calibration, card.labels);
    expect(file.reference.per).toBe('hop');
    expect(file.targets[0]).toMatchObject({ kind: 'recall', classes: targets, n: own.length, k });
    // The new config loads as the daemon would.
    expect(validateConfig(parse(readFileSync(r.config, 'utf8')), r.config).route?.kind).toBe('detector');
  }, 120_000);
});

describe('the shipped keyword calibration (host/configs/keywords-recall90.yaml)', () => {
  it("loads as the daemon loads it, checked against the model's labels, and its drift watch reads one top score a hop", async () => {
    const shipped = join(REPO, 'host', 'configs', 'keywords-recall90.yaml');
    const given = loadConfigFile(shipped);
    expect(given.route?.kind).toBe('detector');
    // The shipped stream loops in real time: a test streams the MLPerf wake-word stream once, at max pace.
    const cfg = { ...given, source: { kind: 'wav', path: join(SHARED, 'audio', 'mlperf-tiny-wakeword', 'short_wav_easy10s.wav'), pacing: 'max' }, sinks: {}, server: { ...given.server, enabled: false }, calibration: { ...given.calibration!, windowFrames: 200 } } as typeof given;
    const d = await createDaemon(validateConfig(cfg, shipped), { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: join(REPO, 'host', 'configs'), firmwareDir: FIRMWARE, onBug: (e) => { throw e; } });
    d.start();
    await d.sourceDone;
    await d.stop();
    const cal = d.view.snapshot().calibration!;
    expect(cal.drift).toMatchObject({ score: 'top', per: 'hop', windowFrames: 200, frames: 200 });
    expect(cal.drift.pValue).not.toBeNull();
    expect(cal.targets[0]).toMatchObject({ kind: 'recall', classes: targets, target: 0.9 });
  }, 120_000);
});

describe("a keyword cascade's cut", () => {
  it('--cascade-send 0.2: the 20% order statistic of the margins of the calibration hops, whose probabilities are the daemon\'s', async () => {
    const config = join(dir, 'kw-cascade.yaml');
    writeFileSync(config, `model: ${MODEL}\nbackend: sim\ntrigger: {}\nsinks: {}\ncascade: {model: ${MODEL}, cut: {margin: calibrated}}\n`);
    const r = await calibratePipeline({ config, data: { path: CLIPS, split: 'val' }, requests: [], cascadeCut: { kind: 'send', rate: 0.2 }, out: join(dir, 'kw-send20.yaml'), firmwareDir: FIRMWARE, nowIso: 'now' });
    const hops = r.scores.hopProbs!;
    const c = card.labels.length;
    const margins: number[] = [];
    for (let h = 0; h < hops.length / c; h++) {
      const p = Array.from(hops.subarray(h * c, (h + 1) * c)).sort((a, b) => b - a);
      margins.push(p[0]! - p[1]!);
    }
    margins.sort((a, b) => a - b);
    const k = Math.floor(0.2 * (margins.length + 1));
    expect(r.cut!.calibration).toMatchObject({ on: 'margin', promise: 'send', n: margins.length, k });
    expect(r.cut!.calibration.value).toBe(margins[k - 1]);
    expect(r.cut!.inSample).toBeLessThanOrEqual(0.2);
    expect(parse(readFileSync(r.config, 'utf8')).cascade.cut).toEqual({ margin: 'calibrated' });
    // The hops are the daemon's: one clip streamed through it, its decision log's probabilities
    // over the hops that hold a clip sample are the first clip's hops here.
    const clip = speechCommandsClips(CLIPS, card.labels, { ...cardSplit(card), name: 'val' })[0]!;
    const detector = card.detector as { smoothFrames: number };
    const { lead, total } = clipStreamLayout({ windowSamples: 480, hopSamples: 320, frames: 49, rateHz: RATE }, detector.smoothFrames);
    const x = readWav(clip.path).samples;
    const stream = new Int16Array(total);
    stream.set(x.length >= RATE ? x.subarray((x.length - RATE) >> 1, ((x.length - RATE) >> 1) + RATE) : x, x.length >= RATE ? lead : lead + ((RATE - x.length) >> 1));
    const wav = join(dir, 'hops.wav');
    writeWav(wav, stream);
    const decisions = join(dir, 'hops.decisions.jsonl');
    await runToEnd(cfg({ pipeline: 'kwhops', budgetUs: 10_000_000, source: { kind: 'wav', path: wav, pacing: 'max' }, server: { enabled: false }, decisions }));
    const rows = readFileSync(decisions, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { probs: number[] }).probs);
    const held = rows.filter((_, h) => (h + 48) * 320 + 480 > lead && h * 320 < lead + RATE);
    expect(held.length).toBeGreaterThan(90);
    for (const [h, p] of held.entries()) for (let j = 0; j < c; j++) expect(p[j]!, `hop ${h} class ${j}`).toBeCloseTo(hops[h * c + j]!, 6);
    // The daemon runs the new config with that cut (the card carries none) and counts, hop by hop, the share it sends.
    const given = loadConfigFile(r.config);
    const run = validateConfig({ ...given, pipeline: 'kwsend', budgetUs: 10_000_000, source: { kind: 'wav', path: join(SHARED, 'audio', 'mlperf-tiny-wakeword', 'short_wav_easy10s.wav'), pacing: 'max' }, server: { enabled: false }, cascade: { ...given.cascade!, queueFrames: 1024 } }, r.config);
    const d = await createDaemon(run, { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: dir, firmwareDir: FIRMWARE, onBug: (e) => { throw e; } });
    d.start();
    await d.sourceDone;
    await d.stop();
    const snap = d.view.snapshot();
    expect(snap.cascade).toMatchObject({ cutKind: 'margin', cut: r.cut!.calibration.value });
    expect(snap.calibration!.cascade).toMatchObject({ promise: 'send', frames: snap.frames, sent: snap.cascade!.unsure });
    // A hop has no truth: the wrong-frame promise is refused.
    await expect(calibratePipeline({ config, data: { path: CLIPS, split: 'val' }, requests: [], cascadeCut: { kind: 'catch', rate: 0.9 }, out: join(dir, 'kw-catch.yaml'), firmwareDir: FIRMWARE, nowIso: 'now' })).rejects.toThrow(/--cascade-catch.*--cascade-send/);
  }, 120_000);
});

