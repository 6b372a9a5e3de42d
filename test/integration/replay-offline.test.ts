import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import { readModelCard } from '../../host/src/model/card.js';
import { createModelPreprocessor } from '../../host/src/preprocess/model-input.js';
import { lymphocyteCapture, readArrowLog, readJsonlLog, replayConfig, runToEnd, tempDir, ZOO } from '../support/fixtures.js';

const FRAMES = 10_000;
const THRESHOLD = 0.5;

/**
 * The daemon's triggers against an offline evaluation written independently: the public
 * (async) onnxruntime API, one frame at a time, a plain loop over the capture.
 */
async function offlineTriggers(capturePath: string, modelDir: string, target: string): Promise<{ seqs: number[]; predicted: number[] }> {
  const card = readModelCard(modelDir);
  const cap = readCapture(capturePath);
  const pre = createModelPreprocessor(card.preprocessing);
  const session = await ort.InferenceSession.create(join(modelDir, 'student.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const k = card.labels.indexOf(target);
  const x = new Float32Array(pre.inputElements);
  const seqs: number[] = [];
  const predicted: number[] = [];
  for (let i = 0; i < cap.count; i++) {
    pre.run(cap.frames, cap.offsets[i], x);
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, ...card.inputShape]) });
    const logits = out[session.outputNames[0]].data as Float32Array;
    const m = Math.max(...logits);
    const e = Array.from(logits, (v) => Math.exp(v - m));
    const p = e.map((v) => v / e.reduce((a, b) => a + b, 0));
    predicted.push(p.indexOf(Math.max(...p)));
    if (p[k] >= THRESHOLD) seqs.push(cap.seq[i]);
  }
  await session.release();
  return { seqs, predicted };
}

describe('replay of 10,000 frames', () => {
  const dir = tempDir('replay');
  const model = join(ZOO, 'cells-lymphocyte');
  let capture: string;
  beforeAll(async () => {
    capture = await lymphocyteCapture(dir, FRAMES);
  });

  it('fires exactly the triggers an offline evaluation of the same model on the same frames gives', async () => {
    const jsonl = join(dir, 'triggers.jsonl');
    const arrow = join(dir, 'triggers.arrows');
    const d = await runToEnd(replayConfig(model, capture, { sinks: { jsonl, arrow }, trigger: { targets: ['B'], threshold: THRESHOLD, maxRatePerS: 1e7, burst: 1_000_000 } }));
    const snap = d.metrics.snapshot();
    expect(snap.frames).toBe(FRAMES);
    expect(snap.dropped).toBe(0);
    expect(snap.late).toBe(0);

    const offline = await offlineTriggers(capture, model, 'B');
    const logged = readJsonlLog<{ seq: number; class: string }>(jsonl);
    expect(offline.seqs.length).toBeGreaterThan(1000);
    expect(logged.map((e) => e.seq)).toEqual(offline.seqs);
    expect(new Set(logged.map((e) => e.class))).toEqual(new Set(['B']));
    expect(snap.triggers).toBe(offline.seqs.length);

    const table = readArrowLog(arrow);
    expect(table.numRows).toBe(offline.seqs.length);
    expect(Array.from(table.getChild('seq')!.toArray() as BigInt64Array, Number)).toEqual(offline.seqs);

    // The live confusion matrix counts the same predictions.
    const card = readModelCard(model);
    const perClass = Object.fromEntries(card.labels.map((l, c) => [l, offline.predicted.filter((p) => p === c).length]));
    // Frames that fired count under the firing target, which is the argmax whenever p >= 0.5.
    expect(snap.perClass).toEqual(perClass);
    expect(snap.confusion!.flat().reduce((a, b) => a + b, 0)).toBe(FRAMES);
  });
});
