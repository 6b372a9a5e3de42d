import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ModelError } from '../core/errors.js';
import { preprocessSpecSchema, type PreprocessSpec } from '../preprocess/image.js';

/** The part of a model card (models/zoo/<task>/card.json) the daemon depends on. */
const cardSchema = z
  .object({
    task: z.string(),
    labels: z.array(z.string().min(1)).min(1),
    input: z.object({ shape: z.array(z.number().int().positive()).min(1), dtype: z.literal('float32') }),
    preprocessing: preprocessSpecSchema,
    teacher: z.object({ params: z.number().int().nonnegative() }).passthrough(),
    student: z.object({ params: z.number().int().nonnegative() }).passthrough(),
  })
  .passthrough();

export interface ModelCard {
  dir: string;
  task: string;
  labels: string[];
  inputShape: number[];
  preprocessing: PreprocessSpec;
  params: { teacher: number; student: number };
  raw: Record<string, unknown>;
}

/** Reads and checks `<dir>/card.json`; a ModelError names the file and the bad field. */
export function readModelCard(dir: string): ModelCard {
  const path = join(dir, 'card.json');
  if (!existsSync(path)) throw new ModelError(path, 'model card missing: a model folder holds card.json, student.onnx and teacher.onnx (see models/README.md)');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ModelError(path, `not JSON: ${(err as Error).message}`, { cause: err });
  }
  const r = cardSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ModelError(`${path}: ${issue.path.join('.')}`, issue.message);
  }
  const c = r.data;
  const [C, h, w] = c.preprocessing.input.shape;
  if (c.input.shape.join(',') !== [C, h, w].join(',')) {
    throw new ModelError(`${path}: input.shape`, `[${c.input.shape.join(', ')}] differs from preprocessing.input.shape [${C}, ${h}, ${w}]`);
  }
  return { dir, task: c.task, labels: c.labels, inputShape: c.input.shape, preprocessing: c.preprocessing, params: { teacher: c.teacher.params, student: c.student.params }, raw: c as Record<string, unknown> };
}

/**
 * Sets top-level fields of `<dir>/card.json` (replacing fields of the same name, keeping the
 * others and their order) and writes it back atomically enough for a build step: the whole
 * file at once. Used by `hairtrigger compile --card` for the `fixed` and `fpga` facts.
 */
export function updateModelCard(dir: string, fields: Record<string, unknown>): void {
  const card = readModelCard(dir);
  const path = join(dir, 'card.json');
  writeFileSync(path, JSON.stringify({ ...card.raw, ...fields }, null, 2) + '\n');
}
