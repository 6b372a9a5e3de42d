import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOnnxBackend } from '../../host/src/backends/onnx.js';
import { loadSimBackend } from '../../host/src/backends/sim.js';
import { zooStudent } from '../../host/src/backends/sim.fixture.js';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import { decodeNpy } from '../../host/src/datasets/npy.js';
import { datasetFor, exportDataset, preprocessFor } from '../../host/src/datasets/export.js';
import { readModelCard } from '../../host/src/model/card.js';
import { createModelPreprocessor } from '../../host/src/preprocess/model-input.js';
import { REPO, SHARED, tempDir, ZOO } from '../support/fixtures.js';

/**
 * Training and serving cannot disagree: the tensors the recipe trained on, the spec in the
 * committed model card, and what the daemon computes online from a capture are one and the
 * same, and the committed student scores the card's accuracy on the daemon's own tensors.
 */
for (const task of ['cells-bccd', 'cells-lymphocyte'] as const) {
  describe(`${task}: training tensors and online preprocessing`, () => {
    const card = readModelCard(join(ZOO, task));
    const out = tempDir(`agree-${task}`);
    const ds = datasetFor(task, join(SHARED, 'cells', 'bccd'));

    it('the card holds the preprocessing the dataset gives (same frames, same statistics)', () => {
      expect(card.preprocessing).toEqual(preprocessFor(ds));
      const raw = card.raw as { dataset: Record<string, number> };
      expect(raw.dataset).toEqual({ train: ds.splits.train.count, val: ds.splits.val.count, test: ds.splits.test.count });
    });

    it('the exported test tensor equals, bit for bit, the daemon preprocessing of the test capture', async () => {
      await exportDataset(ds, out);
      const x = decodeNpy(readFileSync(join(out, 'test_x.npy')));
      const y = decodeNpy(readFileSync(join(out, 'test_y.npy')));
      const cap = readCapture(join(out, 'test.arrows'));
      const pre = createModelPreprocessor(card.preprocessing);
      expect(x.shape).toEqual([cap.count, ...card.inputShape]);
      const online = new Float32Array(pre.inputElements);
      for (let i = 0; i < cap.count; i++) {
        pre.run(cap.frames, cap.offsets[i], online);
        const row = (x.data as Float32Array).subarray(i * pre.inputElements, (i + 1) * pre.inputElements);
        expect(Buffer.from(online.buffer).equals(Buffer.from(row.buffer, row.byteOffset, row.byteLength))).toBe(true);
        expect(Number((y.data as BigInt64Array)[i])).toBe(cap.labels[i]);
      }
    });

    it("the student scores the card's test accuracy on the daemon's online tensors", async () => {
      const cap = readCapture(join(out, 'test.arrows'));
      const pre = createModelPreprocessor(card.preprocessing);
      const b = await loadOnnxBackend({ path: join(card.dir, 'student.onnx'), inputShape: card.inputShape, classes: card.labels.length });
      const x = new Float32Array(pre.inputElements);
      const logits = new Float32Array(card.labels.length);
      let correct = 0;
      for (let i = 0; i < cap.count; i++) {
        pre.run(cap.frames, cap.offsets[i], x);
        b.predict(x, logits);
        let best = 0;
        for (let k = 1; k < logits.length; k++) if (logits[k] > logits[best]) best = k;
        if (best === cap.labels[i]) correct++;
      }
      await b.close();
      const student = (card.raw as { student: { accuracy: number } }).student;
      // PyTorch and onnxruntime may order float sums differently: allow two borderline frames.
      expect(Math.abs(correct / cap.count - student.accuracy)).toBeLessThanOrEqual(2 / cap.count + 5e-5);
    });
  });
}

/**
 * The other sizes of the BCCD student (models/zoo/cells-bccd-<size>, `make sizes`), which the
 * daemon's model selection chooses among: on the bundled BCCD test capture, each one's float
 * ONNX scores its card's test accuracy, and its firmware on `sim` the card's fixed-point
 * (emulated) accuracy, within two borderline frames.
 */
for (const folder of ['cells-bccd-w2x4', 'cells-bccd-w4x8', 'cells-bccd-w10x24']) {
  describe(`${folder}: the card's accuracies on the BCCD test capture`, () => {
    it('float ONNX and the firmware on sim score what the card says', async () => {
      const { card, onnx, lib } = zooStudent(folder);
      expect(card.task).toBe('cells-bccd');
      expect(card.size).toBe(folder.slice('cells-bccd-'.length));
      const cap = readCapture(join(REPO, 'sim', 'recordings', 'cells-bccd-test.arrows'));
      const student = (card.raw as { student: { accuracy: number; fixedAccuracyEmulated: number } }).student;
      expect(cap.count).toBe((card.raw as { dataset: { test: number } }).dataset.test);
      const pre = createModelPreprocessor(card.preprocessing);
      const x = new Float32Array(pre.inputElements);
      const logits = new Float32Array(card.labels.length);
      const float = await loadOnnxBackend({ path: onnx, inputShape: card.inputShape, classes: card.labels.length });
      const fixed = loadSimBackend({ path: lib, inputShape: card.inputShape, classes: card.labels.length });
      const right = { float: 0, fixed: 0 };
      const top = () => logits.reduce((best, v, k) => (v > logits[best]! ? k : best), 0);
      try {
        for (let i = 0; i < cap.count; i++) {
          pre.run(cap.frames, cap.offsets[i], x);
          float.predict(x, logits);
          if (top() === cap.labels[i]) right.float++;
          fixed.predict(x, logits);
          if (top() === cap.labels[i]) right.fixed++;
        }
      } finally {
        await float.close();
        await fixed.close();
      }
      expect(Math.abs(right.float / cap.count - student.accuracy)).toBeLessThanOrEqual(2 / cap.count + 5e-5);
      expect(Math.abs(right.fixed / cap.count - student.fixedAccuracyEmulated)).toBeLessThanOrEqual(2 / cap.count + 5e-5);
    }, 120_000);
  });
}
