// The keyword student on the real test speakers (the clips keywords_data.py's seeded speaker
// split keeps out of training), with features computed here by the serving front end
// (TypeScript MFCC on the TypeScript WAV reader): float ONNX scores what its card says (the
// card's figure came from the Python front end), and the firmware at the card's precision
// agrees with it top-1 on at least 99% of them, by C simulation, and scores what the card's
// fixed-point emulation (distill.py, QAT's arithmetic) says, on the simulator library.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../hls/compiler/compile.js';
import type { PrecisionSpec } from '../../hls/compiler/precision.js';
import { readModelCard } from '../../host/src/model/card.js';
import { loadSimModel } from '../../host/src/native/addon.js';
import { createMfcc, mfccSpecSchema } from '../../host/src/modalities/audio/mfcc.js';
import { readWav } from '../../host/src/modalities/audio/wav.js';
import { REPO } from '../support/fixtures.js';
import { runPython, TRAIN } from '../support/python.js';

const AUDIO = resolve(REPO, '..', 'shared', 'data', 'audio');
const CLIP = 16_000;

const argmax = (v: ArrayLike<number>): number => {
  let k = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[k]!) k = i;
  return k;
};

/** The real test clips of the seed `make models` uses: [path, label index]. */
function testClips(): [string, number][] {
  const script = `import sys, json; sys.path.insert(0, ${JSON.stringify(TRAIN)}); import keywords_data as kd
print(json.dumps([[p, kd.LABELS.index(l)] for p, l, s in kd.real_clips(${JSON.stringify(AUDIO)}) if kd.split_of(s, 1) == "test"]))`;
  return JSON.parse(runPython(['-c', script])) as [string, number][];
}

/** One second, centred (keywords_data.fit_clip without a shift), as int16. */
function oneSecond(x: Int16Array): Int16Array {
  const out = new Int16Array(CLIP);
  if (x.length >= CLIP) out.set(x.subarray((x.length - CLIP) >> 1, ((x.length - CLIP) >> 1) + CLIP));
  else out.set(x, (CLIP - x.length) >> 1);
  return out;
}

// The shipped student and the other sizes `make sizes` adds (models/zoo/keywords-<size>: what model selection steps down to).
describe.each(['keywords', 'keywords-w24'])('keyword student %s on the real test speakers', (folder) => {
  it('scores its card on features from the serving front end, and its firmware agrees with it', async () => {
    const card = readModelCard(join(REPO, 'models', 'zoo', folder));
    const spec = mfccSpecSchema.parse(card.preprocessing);
    const front = createMfcc(spec);
    const clips = testClips();
    expect(clips.length).toBe((card.raw.dataset as { test: number }).test);
    const inputs = clips.map(([path]) => {
      const s = oneSecond(readWav(path).samples);
      const x = new Float32Array(spec.frames * front.width);
      for (let f = 0; f < spec.frames; f++) front.run(s.subarray(f * spec.hopSamples, f * spec.hopSamples + spec.windowSamples), x, f * front.width);
      return x;
    });
    const session = await ort.InferenceSession.create(card.files.student);
    let right = 0;
    for (const [i, x] of inputs.entries()) {
      const r = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, ...card.inputShape]) });
      if (argmax(r[session.outputNames[0]!]!.data as Float32Array) === clips[i]![1]) right++;
    }
    await session.release();
    const accuracy = right / clips.length;
    // The card's accuracies were measured on the Python front end's features of the same clips.
    const student = card.raw.student as { accuracy: number; fixedAccuracyEmulated: number };
    expect(Math.abs(accuracy - student.accuracy)).toBeLessThanOrEqual(1 / clips.length + 1e-4);
    const out = mkdtempSync(join(tmpdir(), 'ht-keywords-'));
    const r = await compileModel({ model: card.files.student, out, name: `${folder.replace('-', '_')}_real`, precision: card.raw.precision as PrecisionSpec, strategy: 'latency', reuse: 1, clockMhz: 200, check: inputs.length, seed: 1, data: { source: 'real test speakers', inputs }, lib: true });
    expect(r.check!.agreementTop1).toBeGreaterThanOrEqual(0.99);
    // The card's emulated fixed-point accuracy is the firmware's: QAT and the emulation use the
    // card's types (an input saturated at +-32 there, +-128 here, read 89.1% against 83.2%).
    const sim = loadSimModel(r.library!);
    const y = new Float32Array(card.labels.length);
    let fixedRight = 0;
    for (const [i, x] of inputs.entries()) {
      sim.predict(x, y);
      if (argmax(y) === clips[i]![1]) fixedRight++;
    }
    expect(Math.abs(fixedRight / clips.length - student.fixedAccuracyEmulated)).toBeLessThanOrEqual(1 / clips.length + 1e-4);
  }, 300_000);
});
