// The firmware's pixel entry (ht_model_predict_u8 through the sim backend's predictPixels) on
// the cell students, on the bundled recordings' real camera frames:
//  * bit for bit the float entry fed by the host's own preprocessing (image.ts): the
//    firmware's preprocessing stage changes nothing the network sees;
//  * top-1 agreement with the float model (onnxruntime on the host-preprocessed frame) at
//    least the card's `fixed.agreementTop1` (measured by `hairtrigger compile --check`).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../capture/arrow-capture.js';
import { createModelPreprocessor } from '../preprocess/model-input.js';
import { loadSimBackend } from './sim.js';
import { RECORDINGS, REPO, zooStudent } from './sim.fixture.js';

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < v.length; k++) if (v[k]! > v[best]!) best = k;
  return best;
}

for (const task of ['cells-bccd', 'cells-lymphocyte']) {
  describe(`pixel entry of the ${task} student`, () => {
    it('equals the float entry on host-preprocessed frames and agrees with float ONNX as the card says', async () => {
      const { card, onnx, lib } = zooStudent(task);
      const backend = loadSimBackend({ path: lib, inputShape: card.inputShape, classes: card.labels.length, sourceSha256: sha256(onnx) });
      const cap = readCapture(join(REPO, RECORDINGS[task]!));
      const pre = createModelPreprocessor(card.preprocessing);
      expect(backend.pixelBytes).toBe(pre.frameBytes);
      const session = await ort.InferenceSession.create(onnx, { logSeverityLevel: 3 });
      const x = new Float32Array(pre.inputElements);
      const viaFloat = new Float32Array(card.labels.length);
      const viaPixels = new Float32Array(card.labels.length);
      let agree = 0;
      let identical = 0;
      const n = cap.count;
      for (let i = 0; i < n; i++) {
        pre.run(cap.frames, cap.offsets[i]!, x);
        backend.predict(x, viaFloat);
        backend.predictPixels!(cap.frames, cap.offsets[i]!, viaPixels);
        if (viaPixels.every((v, k) => v === viaFloat[k])) identical++;
        const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, ...card.inputShape]) });
        if (argmax(out[session.outputNames[0]!]!.data as Float32Array) === argmax(viaPixels)) agree++;
      }
      await session.release();
      await backend.close();
      expect(identical).toBe(n);
      const agreementCard = (card.raw.fixed as { agreementTop1: number }).agreementTop1;
      console.log(`${task}: pixel entry top-1 agreement with float ONNX ${agree}/${n} (card ${agreementCard})`);
      expect(agree / n).toBeGreaterThanOrEqual(agreementCard);
    }, 120_000);
  });
}
