// The pixel route through the real stages: with the cells-bccd student's library (which has a
// pixel entry) in force, the preprocess stage leaves the frame alone (slot.input stays as it
// was) and the infer stage's logits are the float path's on the host-preprocessed frame;
// with a float-only backend in force (switched between frames), the host preprocesses again.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../capture/arrow-capture.js';
import { FrameRing } from '../core/frame.js';
import type { Backend } from '../backends/backend.js';
import { loadSimBackend } from '../backends/sim.js';
import { RECORDINGS, REPO, zooStudent } from '../backends/sim.fixture.js';
import '../preprocess/builtins.js';
import { createModelPreprocessor } from '../preprocess/model-input.js';
import { createStreamPreprocessor } from '../preprocess/stream-preprocessor.js';
import { inferStage } from './infer-stage.js';
import { pixelRoute } from './pixel-path.js';
import { preprocessStage } from './preprocess-stage.js';

describe('pixel route', () => {
  it('hands the frame bytes to firmware that preprocesses, and preprocesses on the host for a float backend', async () => {
    const { card, lib } = zooStudent('cells-bccd');
    const sim = loadSimBackend({ path: lib, inputShape: card.inputShape, classes: card.labels.length });
    // The same library through its float entry only: what the onnx backend or an older library is.
    const floatOnly: Backend = { info: () => sim.info(), predict: (x, y) => sim.predict(x, y), close: async () => {} };
    const models: { backend: Backend } = { backend: sim };
    const pre = createStreamPreprocessor(card.preprocessing);
    const route = pixelRoute(models, pre, 0);
    expect(route).not.toBeNull();
    expect(pixelRoute(models, pre, 1)).toBeNull();  // extra models read the float inputs
    const ring = new FrameRing(pre.inputElements, card.labels.length, 4);
    const preStage = preprocessStage(pre, ring, route);
    const infer = inferStage({ get backend() { return models.backend; }, models: [] }, 1, null, route);
    const cap = readCapture(join(REPO, RECORDINGS['cells-bccd']!));
    const host = createModelPreprocessor(card.preprocessing);
    const x = new Float32Array(host.inputElements);
    const want = new Float32Array(card.labels.length);
    for (const [frame, backend] of [[0, sim], [1, floatOnly], [2, sim]] as const) {
      models.backend = backend;
      const slot = ring.acquire();
      slot.input.fill(-7);
      slot.raw = cap.frames;
      slot.rawOffset = cap.offsets[frame]!;
      slot.rawLength = host.frameBytes;
      expect(preStage.run(slot, () => {})).toBe(true);
      expect(infer.run(slot)).toBe(true);
      host.run(cap.frames, cap.offsets[frame]!, x);
      sim.predict(x, want);
      expect(Array.from(slot.logits)).toEqual(Array.from(want));
      if (backend === sim) expect(slot.input.every((v) => v === -7)).toBe(true);
      else expect(Array.from(slot.input)).toEqual(Array.from(x));
    }
    await sim.close();
  });
});
