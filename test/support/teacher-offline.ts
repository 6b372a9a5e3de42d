import * as ort from 'onnxruntime-node';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import { readModelCard } from '../../host/src/model/card.js';
import { createModelPreprocessor } from '../../host/src/preprocess/model-input.js';

/**
 * The teacher's softmax on frames of `capture` (every one, or those at `indices`), by
 * onnxruntime directly with the card's preprocessing: the reference a pipeline's second
 * opinion (an extra model, the cascade's teacher) is checked against. Keyed by frame index.
 */
export async function teacherProbsOffline(model: string, capture: string, indices?: readonly number[]): Promise<Map<number, number[]>> {
  const card = readModelCard(model);
  const cap = readCapture(capture);
  const pre = createModelPreprocessor(card.preprocessing);
  const session = await ort.InferenceSession.create(card.files.teacher!);
  const out = new Map<number, number[]>();
  for (const i of indices ?? Array.from({ length: cap.count }, (_, k) => k)) {
    const x = new Float32Array(pre.inputElements);
    pre.run(cap.frames, cap.offsets[i]!, x);
    const r = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, ...card.inputShape]) });
    const z = Array.from(r[session.outputNames[0]!]!.data as Float32Array);
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    out.set(i, e.map((v) => v / s));
  }
  await session.release();
  return out;
}
