import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ModelError } from '../core/errors.js';
import { modelInputSpecSchema, type ModelInputSpec } from '../preprocess/model-input.js';

/** One variant: its parameter count and, when not `<variant>.onnx` beside the card, its file. */
const variantSchema = z.object({ params: z.number().int().nonnegative(), file: z.string().min(1).optional() }).passthrough();

/** The part of a model card (models/zoo/<task>/card.json) the daemon depends on. */
const cardSchema = z
  .object({
    task: z.string(),
    labels: z.array(z.string().min(1)).min(1),
    input: z.object({ shape: z.array(z.number().int().positive()).min(1), dtype: z.literal('float32') }),
    /** A model of several named inputs (a cutout triplet and a feature vector): each one's
     * name and shape, in the model's input order; `input` is then the first. */
    inputs: z.array(z.object({ name: z.string().min(1), shape: z.array(z.number().int().positive()).min(1) }).strict()).min(2).optional(),
    preprocessing: modelInputSpecSchema,
    /** The classes a trigger fires on by default (the sorter's white cells, an alert broker's
     * supernovae): a replay without `--targets` uses these. */
    trigger: z
      .object({
        targets: z.array(z.string().min(1)).min(1),
        /** A streaming model's detector settings (a keyword spotter's smoothing, thresholds,
         * debounce): the `detector` router a pipeline without `route:` uses. */
        detector: z.record(z.string(), z.unknown()).optional(),
        /** The latency budget the model is meant for (a keyword spotter's one hop), for a replay
         * that names none. */
        budgetUs: z.number().positive().optional(),
      })
      .passthrough()
      .optional(),
    /** One size of a task's student among several (models/zoo/<task>-<size>/, e.g. `w4x8`: conv
     * widths 4 and 8): its firmware is `<task>_<size>_<variant>`, so sizes of one task do not
     * share a firmware folder. Absent for the task's shipped student. */
    size: z.string().regex(/^[a-z0-9]+$/, 'lower-case letters and digits, e.g. w4x8').optional(),
    /** Absent for a model that was not distilled here (e.g. hls4ml's jet tagger). */
    teacher: variantSchema.nullable().default(null),
    student: variantSchema,
  })
  .passthrough();

export interface ModelCard {
  dir: string;
  task: string;
  /** The student's size among several of its task (`size` in the card), null for the shipped one. */
  size: string | null;
  labels: string[];
  inputShape: number[];
  /** Every input's shape for a model of several inputs, in its input order; null for one. */
  inputShapes: number[][] | null;
  preprocessing: ModelInputSpec;
  /** Default trigger classes, each a label; null when the card names none. */
  targets: string[] | null;
  /** Default `detector` router settings (without `kind`); null when the card names none. */
  detector: Record<string, unknown> | null;
  /** Default latency budget (us); null when the card names none. */
  budgetUs: number | null;
  params: { teacher: number | null; student: number };
  /** Absolute paths of the variants' ONNX files (teacher null when the card has none). */
  files: { teacher: string | null; student: string };
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
  const pre = c.preprocessing.input.shape;
  if (c.input.shape.join(',') !== pre.join(',')) {
    throw new ModelError(`${path}: input.shape`, `[${c.input.shape.join(', ')}] differs from preprocessing.input.shape [${pre.join(', ')}]`);
  }
  for (const t of c.trigger?.targets ?? []) {
    if (!c.labels.includes(t)) throw new ModelError(`${path}: trigger.targets`, `"${t}" is not a label; labels are ${c.labels.join(', ')}`);
  }
  const file = (v: 'student' | 'teacher'): string => resolve(dir, c[v]?.file ?? `${v}.onnx`);
  return {
    dir, task: c.task, size: c.size ?? null, labels: c.labels, inputShape: c.input.shape, inputShapes: c.inputs?.map((i) => i.shape) ?? null, preprocessing: c.preprocessing,
    targets: c.trigger?.targets ?? null,
    detector: c.trigger?.detector ?? null,
    budgetUs: c.trigger?.budgetUs ?? null,
    params: { teacher: c.teacher?.params ?? null, student: c.student.params },
    files: { teacher: c.teacher === null ? null : file('teacher'), student: file('student') },
    raw: c as Record<string, unknown>,
  };
}

/**
 * Sets top-level fields of `<dir>/card.json` (replacing fields of the same name, keeping the
 * others and their order) and writes it back atomically enough for a build step: the whole
 * file at once. Used by `hairtrigger compile --card` for the `fixed` and `fpga` facts.
 */
export function updateModelCard(dir: string, fields: Record<string, unknown>): void {
  readModelCard(dir); // validates
  const path = join(dir, 'card.json');
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>; // keeps the file's key order
  writeFileSync(path, JSON.stringify({ ...raw, ...fields }, null, 2) + '\n');
}
