// Calibration per detection (`hairtrigger calibrate --detection-recall`), checked against the
// real daemon and an independent statistics library:
// - the validation speakers' stream (real clips, keywords_data.py's split) replayed through the
//   real daemon (wav source, MFCC front end, the student on the compiled simulator, the
//   detector, `calibration.truth`) at the chosen threshold fires exactly the detections the
//   calibration replayed on its once-computed means (times and words), and the daemon's live
//   score is the calibration's point; one grid step above, the daemon's recall falls below the
//   request (the threshold is the largest that meets it);
// - the Clopper-Pearson bound against scipy's beta quantile.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { calibrateDetections } from '../../host/src/calibration/calibrate-detections.js';
import { clipStream, clopperPearsonLower, detectionsAt, scoreStreamHops } from '../../host/src/calibration/detection-calibration.js';
import { cardSplit, speechCommandsClips } from '../../host/src/calibration/keyword-clips.js';
import { openPipelineBackend } from '../../host/src/calibration/score-data.js';
import { validateConfig } from '../../host/src/config/schema.js';
import { readModelCard } from '../../host/src/model/card.js';
import { writeWav } from '../support/audio.js';
import { REPO, readJsonlLog, runToEnd, SHARED, tempDir, ZOO } from '../support/fixtures.js';
import { PYTHON } from '../support/python.js';

const [MODEL, CLIPS, FIRMWARE] = [join(ZOO, 'keywords'), join(SHARED, 'audio', 'speech-commands-pico-tinyml-benchmark'), join(REPO, 'hls', 'build')];
const dir = tempDir('kwdetcal');
const card = readModelCard(MODEL);
const targets = card.targets!;
const SMOOTH = (card.detector as { smoothFrames: number }).smoothFrames;

describe('calibration per detection on the validation speakers\' stream', () => {
  it('chooses a threshold at which the real daemon fires what the calibration replayed, and one grid step above misses the request', async () => {
    const config = join(dir, 'kw.yaml');
    writeFileSync(config, `# a keyword pipeline\nmodel: ${MODEL}\nbackend: sim\ntrigger: {}\nsinks: {}\n`);
    const recall = 0.8;
    const r = await calibrateDetections({ config, data: { path: CLIPS, split: 'val' }, recall, streamSeed: 3, holdoutSplit: 'test', out: join(dir, 'kw-det80.yaml'), firmwareDir: FIRMWARE, nowIso: 'now' });
    const chosen = r.calibration.point;
    expect(chosen.recall).toBeGreaterThanOrEqual(recall);
    const written = parse(readFileSync(r.config, 'utf8')) as { route: { kind: string; threshold: number; smoothFrames: number; debounceMs: number } };
    expect(written.route).toMatchObject({ kind: 'detector', threshold: chosen.threshold, smoothFrames: SMOOTH, debounceMs: 1000 });
    expect(r.holdout!.point.windows).toBeGreaterThan(100);
    expect(r.holdout!.recallLower95).toBeLessThan(r.holdout!.point.recall);

    // The same stream, written as a WAV, through the real daemon with its truth.
    const clips = speechCommandsClips(CLIPS, card.labels, { ...cardSplit(card), name: 'val' });
    const stream = clipStream(clips, card.labels, targets, 16_000, 3);
    expect(stream.windows.length).toBe(chosen.windows);
    const wav = join(dir, 'val.wav');
    writeWav(wav, stream.samples);
    const truth = join(dir, 'val.json');
    writeFileSync(truth, JSON.stringify([{ wav_file: 'val.wav', length_sec: stream.lengthS, detection_windows: stream.windows.map((w) => [w.startS, w.endS, w.word]) }]));
    const daemonAt = async (threshold: number, name: string) => {
      const log = join(dir, `${name}.jsonl`);
      const d = await runToEnd(validateConfig({
        pipeline: name, model: MODEL, backend: 'sim', budgetUs: 60_000_000, source: { kind: 'wav', path: wav, pacing: 'max' }, server: { enabled: false },
        trigger: { targets }, route: { kind: 'detector', smoothFrames: SMOOTH, threshold, debounceMs: 1000 }, sinks: { jsonl: log }, calibration: { truth },
      }));
      return { score: d.view.snapshot().detectionScore!, records: readJsonlLog<{ kind: string; class: string; streamMs: number }>(log) };
    };
    const at = await daemonAt(chosen.threshold, 'chosen');
    expect(at.records.every((e) => e.kind === 'trigger')).toBe(true);
    // The calibration's replay of the detector, on means computed once here.
    const backend = await openPipelineBackend(validateConfig({ model: MODEL, backend: 'sim', trigger: {}, sinks: {} }), card, (p) => p, FIRMWARE);
    const scored = scoreStreamHops(backend, card, SMOOTH, 'val', stream);
    await backend.close();
    const replayed = detectionsAt(scored, card.labels, targets.map((t) => card.labels.indexOf(t)), chosen.threshold, 1000);
    expect(at.records.map((e) => [e.class, e.streamMs])).toEqual(replayed.map((x) => [x.word, x.streamMs]));
    expect([at.score.truePositives, at.score.misses, at.score.falseAlarms]).toEqual([chosen.truePositives, chosen.misses, chosen.falseAlarms]);
    // The largest: one grid step up, the daemon's detection recall is below the request.
    const above = await daemonAt(Math.round(chosen.threshold * 1000 + 1) / 1000, 'above');
    expect(above.score.recall!).toBeLessThan(recall);
  }, 300_000);
});

describe('calibrate --detection-recall refuses, writing nothing', () => {
  const opts = (config: string, over: Record<string, unknown> = {}) => ({ config, data: { path: CLIPS, split: 'val' }, recall: 0.8, streamSeed: 1, out: join(dir, `refused-${Math.random().toString(36).slice(2, 8)}.yaml`), firmwareDir: FIRMWARE, nowIso: 'now', ...over });
  it('a pipeline without a streaming detector, the calibration split held out, a recall no threshold reaches, an output that exists', async () => {
    const cells = join(dir, 'cells.yaml');
    writeFileSync(cells, `model: ${join(ZOO, 'cells-bccd')}\nbackend: sim\ntrigger: {}\nsinks: {}\n`);
    await expect(calibrateDetections(opts(cells))).rejects.toThrow(/E_CALIBRATION at --detection-recall: .*cells\.yaml has no streaming detector/);
    const kw = join(dir, 'kw-refuse.yaml');
    writeFileSync(kw, `model: ${MODEL}\nbackend: sim\ntrigger: {}\nsinks: {}\n`);
    await expect(calibrateDetections(opts(kw, { holdoutSplit: 'val' }))).rejects.toThrow(/--holdout val.*is the calibration split/);
    await expect(calibrateDetections(opts(kw, { recall: 0.99 }))).rejects.toThrow(/no threshold of the grid reaches a detection recall of 0.99 .*the best is 0\.\d+ at 0\.\d+/);
    const taken = join(dir, 'taken.yaml');
    writeFileSync(taken, '# mine\n');
    await expect(calibrateDetections(opts(kw, { out: taken }))).rejects.toThrow(/taken\.yaml: exists/);
    expect(readFileSync(taken, 'utf8')).toBe('# mine\n');
  }, 120_000);
});

describe('clopperPearsonLower', () => {
  it('is the p at which x or more successes of n have probability 1 - c (the tail summed exactly by Python), and the closed forms at x = n and x = 1', () => {
    const cases: [number, number, number][] = [[106, 117, 0.95], [104, 122, 0.95], [3, 10, 0.9], [1, 40, 0.95], [97, 100, 0.975]];
    const bounds = cases.map(([x, n, c]) => clopperPearsonLower(x, n, c));
    // P(X >= x | n, p) in exact rational arithmetic (math.comb, fractions) at each bound.
    const script = `import json, math; from fractions import Fraction as F
cases = json.loads(${JSON.stringify(JSON.stringify(cases.map(([x, n], i) => [x, n, bounds[i]])))})
print(json.dumps([float(sum(math.comb(n, k) * F(p) ** k * (1 - F(p)) ** (n - k) for k in range(x, n + 1))) for x, n, p in cases]))`;
    const tails = JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' })) as number[];
    for (const [i, [x, n, c]] of cases.entries()) {
      expect(tails[i]!, `${x}/${n} at ${c}`).toBeCloseTo(1 - c, 9);
      expect(bounds[i]!).toBeLessThan(x / n);
    }
    expect(clopperPearsonLower(20, 20, 0.95)).toBeCloseTo(0.05 ** (1 / 20), 12);
    expect(clopperPearsonLower(1, 20, 0.95)).toBeCloseTo(1 - 0.95 ** (1 / 20), 12);
    expect(clopperPearsonLower(0, 20, 0.95)).toBe(0);
  }, 60_000);
});
