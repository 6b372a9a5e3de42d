import { readFileSync } from 'node:fs';
import type { CascadeConfig } from '../config/schema.js';
import { ConfigError, ModelError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { decodeOnnxModel, onnxOutputKind } from '../backends/onnx-graph.js';
import { readModelCard, type ModelCard } from '../model/card.js';
import { resolveCut, type Cut } from './cut.js';
import { TeacherQueue, teacherQueueBytes } from './teacher-queue.js';

/** A teacher loaded for the cascade, its worker started. */
export interface LoadedTeacher {
  name: string;
  card: ModelCard;
  queue: TeacherQueue;
  cut: Cut;
  takesProbabilities: boolean;
}

/**
 * Loads the cascade's teacher (`cfg.model`'s `cfg.variant` on onnxruntime, in its own worker)
 * for a pipeline whose model card is `student`. Refused with a ConfigError or ModelError naming
 * the file: a teacher of other labels, preprocessing or inputs than the student's (it is fed
 * the student's inputs as they are), a card without that variant, a queue over
 * `limits.cascadeQueueBytesMax`, a model onnxruntime cannot load. `calibratedCut`: the cut of
 * the pipeline's calibration file, which `cut: calibrated` takes (cut.ts).
 */
export async function loadCascadeTeacher(cfg: CascadeConfig, student: ModelCard, at: (p: string) => string, onNudge: () => void, calibratedCut: Parameters<typeof resolveCut>[2] = null): Promise<LoadedTeacher> {
  const card = readModelCard(at(cfg.model));
  const where = `${card.dir}/card.json`;
  if (card.labels.join('\n') !== student.labels.join('\n')) throw new ConfigError('config: cascade.model', `${where} has labels [${card.labels.join(', ')}]; the pipeline's model has [${student.labels.join(', ')}]: a teacher answers over the same classes`);
  if (JSON.stringify(card.preprocessing) !== JSON.stringify(student.preprocessing) || JSON.stringify(card.inputShapes ?? [card.inputShape]) !== JSON.stringify(student.inputShapes ?? [student.inputShape])) {
    throw new ConfigError('config: cascade.model', `${where} preprocesses or shapes its inputs unlike the pipeline's model (${student.dir}/card.json): the teacher is fed the student's inputs as they are`);
  }
  const path = card.files[cfg.variant];
  if (path === null) throw new ModelError(where, `variant ${cfg.variant} is not part of this model (the card has no ${cfg.variant})`);
  const cut = resolveCut(cfg.cut, student, calibratedCut);
  const inputDims = card.inputShapes ?? [card.inputShape];
  const shape = { inputDims, outputs: card.labels.length, queueFrames: cfg.queueFrames };
  const bytes = teacherQueueBytes(shape);
  if (bytes > limits.cascadeQueueBytesMax) throw new ConfigError('config: cascade.queueFrames', `${cfg.queueFrames} frames of these inputs take ${bytes} bytes of shared memory, over limits.cascadeQueueBytesMax (${limits.cascadeQueueBytesMax}); queue fewer frames`);
  let model: Buffer;
  try {
    model = readFileSync(path);
  } catch (err) {
    throw new ModelError(path, `cannot read model: ${(err as Error).message}`, { cause: err });
  }
  const graph = decodeOnnxModel(model, path);
  const output = graph.graph?.output?.[0]?.name;
  if (output === undefined || output === null || output === '') throw new ModelError(path, 'the model has no output');
  const takesProbabilities = onnxOutputKind(graph, output, path) === 'probabilities';
  let queue: TeacherQueue;
  try {
    queue = await TeacherQueue.start({ model, ...shape }, onNudge);
  } catch (err) {
    throw new ModelError(path, `the cascade's teacher did not load: ${(err as Error).message}`, { cause: err });
  }
  return { name: `${card.task}/${cfg.variant}`, card, queue, cut, takesProbabilities };
}
