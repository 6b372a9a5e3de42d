import type { Backend } from '../backends/backend.js';
import { assert } from '../core/assert.js';
import { ConfigError, FrameValueError } from '../core/errors.js';
import type { FrameSlot } from '../core/frame.js';
import { createStreamPreprocessor, inputUnusable, type StreamPreprocessor } from '../preprocess/stream-preprocessor.js';
import { softmax } from '../trigger/policy.js';
import type { AuxOutputs } from '../trigger/routers.js';
import { readModelCard, type ModelCard } from './card.js';

/** One model run on every frame beside the pipeline's primary model (config `extraModels`). */
export interface ExtraModel {
  name: string;
  card: ModelCard;
  pre: StreamPreprocessor;
  backend: Backend;
  /** Index of its first input in the slot's inputs (after the primary model's and the earlier extras'). */
  firstInput: number;
  /** Where its probabilities start in `slot.aux`. */
  offset: number;
}

/** What an extra model is loaded from: its config entry. */
export interface ExtraModelConfig {
  name: string;
  model: string;
  variant: 'student' | 'teacher';
  backend: string;
  firmware?: string;
}

/**
 * Loads the extra models: card, preprocessing and backend of each (`openBackend` is the
 * daemon's loader, so every backend kind works). A failure closes the backends already open.
 */
export async function loadExtraModels(
  entries: readonly ExtraModelConfig[],
  firstInput: number,
  at: (p: string) => string,
  openBackend: (x: ExtraModelConfig, card: ModelCard) => Promise<Backend>,
): Promise<ExtraModel[]> {
  const out: ExtraModel[] = [];
  let input = firstInput;
  let offset = 0;
  try {
    for (const [i, x] of entries.entries()) {
      const card = readModelCard(at(x.model));
      const pre = createStreamPreprocessor(card.preprocessing, `${card.dir}/card.json: preprocessing`);
      const want = card.inputShapes?.length ?? 1;
      if (pre.inputElements.length !== want) throw new ConfigError(`config: extraModels.${i}`, `${card.task} takes ${want} input(s) but its preprocessing writes ${pre.inputElements.length}`);
      const backend = await openBackend(x, card);
      out.push({ name: x.name, card, pre, backend, firstInput: input, offset });
      if (want > 1 && backend.predictInputs === undefined) throw new ConfigError(`config: extraModels.${i}.backend`, `"${x.backend}" runs models of one input; ${card.task} takes ${want}`);
      input += want;
      offset += card.labels.length;
    }
  } catch (err) {
    await Promise.allSettled(out.map((m) => m.backend.close()));
    throw err;
  }
  return out;
}

/** Probabilities the extra models write into `slot.aux`, in total. */
export function auxOutputs(extras: readonly ExtraModel[]): number {
  return extras.reduce((n, m) => n + m.card.labels.length, 0);
}

/** Where each extra model's probabilities sit in `slot.aux` (for routers and decision logs). */
export function auxLayout(extras: readonly ExtraModel[]): AuxOutputs[] {
  return extras.map((m) => ({ name: m.name, labels: m.card.labels, offset: m.offset }));
}

/**
 * Runs every extra model on a slot: its inputs from the slot's, its probabilities into
 * `slot.aux` (softmax of logits; a model's own probabilities as they are; NaN when its
 * preprocessing could not use the frame). Buffers are made
 * once per ring slot at start-up: nothing is allocated per frame.
 */
export function extraModelsRunner(extras: readonly ExtraModel[], slots: readonly FrameSlot[]): (slot: FrameSlot) => void {
  const logits = extras.map((m) => new Float32Array(m.card.labels.length));
  const takesProbs = extras.map((m) => m.backend.info().outputKind === 'probabilities');
  const nInputs = extras.map((m) => m.card.inputShapes?.length ?? 1);
  // Per slot and model, the model's own view of the slot's inputs (several-input models).
  const views = slots.map((s) => extras.map((m, k) => s.inputs.slice(m.firstInput, m.firstInput + nInputs[k])));
  const outs = slots.map((s) => {
    assert(s.aux.length === auxOutputs(extras), 'slot.aux holds the extra models outputs');
    return extras.map((m) => s.aux.subarray(m.offset, m.offset + m.card.labels.length));
  });
  return (slot) => {
    for (let k = 0; k < extras.length; k++) {
      const m = extras[k];
      const y = logits[k];
      // Its preprocessing could not use this frame (an alert without cutouts): no output.
      if (inputUnusable(slot.inputs[m.firstInput])) {
        outs[slot.index][k].fill(Number.NaN);
        continue;
      }
      if (nInputs[k] > 1) m.backend.predictInputs!(views[slot.index][k], y);
      else m.backend.predict(slot.inputs[m.firstInput], y);
      for (let c = 0; c < y.length; c++) {
        if (!Number.isFinite(y[c])) throw new FrameValueError(`frame seq ${slot.seq}`, `extra model ${m.name} returned a non-finite output (${y[c]}) for class ${c}`);
      }
      const out = outs[slot.index][k];
      if (takesProbs[k]) out.set(y);
      else softmax(y, out);
    }
  };
}
