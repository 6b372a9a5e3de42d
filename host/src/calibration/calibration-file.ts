import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { CalibrationError } from '../core/errors.js';

/** The format tag of a calibration file; a reader refuses any other. */
export const CALIBRATION_FORMAT = 'hairtrigger.calibration/1';

/** Most reference scores a calibration file keeps for the drift test (a sorted sample). */
export const REFERENCE_SCORES_MAX = 100_000;

const targetSchema = z
  .object({
    /** `recall`: frames of one of `classes` that pass the threshold on their own class's score
     * (one class: its own threshold; several: the targets' one threshold); `falseRate`: frames
     * of no class in `classes` on which any of them passes the threshold (the targets, or one
     * class and its own threshold). */
    kind: z.enum(['recall', 'falseRate']),
    classes: z.array(z.string().min(1)).min(1),
    /** What was asked: a recall (0.95) or a false-trigger rate (0.01). */
    target: z.number().gt(0).lt(1),
    /** Fire when the class's probability is >= this. */
    threshold: z.number().min(0).max(1),
    /** Calibration frames the threshold was chosen from, and the order statistic's rank. */
    n: z.number().int().positive(),
    k: z.number().int().positive(),
    /** The finite-sample bound: recall >= bound, or false-trigger rate <= bound (conformal.ts). */
    bound: z.number().min(0).max(1),
  })
  .strict();
export type CalibrationTarget = z.infer<typeof targetSchema>;

/** The cascade's cut a calibration chose (cascade-cut.ts has the promises and the ranks). */
const cascadeSchema = z
  .object({
    /** The config's `cascade.cut` key the value is for. */
    on: z.enum(['margin', 'entropy']),
    value: z.number().min(0).max(1),
    /** `catch`: the share of the student's wrong frames that reach the teacher is at least
     * `target`; `send`: the share of frames sent is at most `target`. */
    promise: z.enum(['catch', 'send']),
    target: z.number().gt(0).lt(1),
    n: z.number().int().positive(),
    k: z.number().int().positive(),
    bound: z.number().min(0).max(1),
  })
  .strict();
export type CascadeCutTarget = z.infer<typeof cascadeSchema>;

const fileSchema = z
  .object({
    format: z.literal(CALIBRATION_FORMAT),
    method: z.literal('split-conformal'),
    /** What the numbers promise, in words (written by `calibrate`, shown to people). */
    guarantee: z.string(),
    createdAt: z.string(),
    model: z.object({ task: z.string(), variant: z.string(), backend: z.string(), labels: z.array(z.string()).min(1) }).strict(),
    data: z.object({ source: z.string(), frames: z.number().int().positive(), byClass: z.record(z.string(), z.number().int().nonnegative()) }).strict(),
    /** The trigger's calibrated thresholds (none when only the cascade's cut was calibrated). */
    targets: z.array(targetSchema),
    /** The cascade's calibrated cut, which `cascade.cut.<on>: calibrated` takes (cascade/cut.ts). */
    cascade: cascadeSchema.optional(),
    /** The calibration frames' top score (largest class probability), sorted ascending: the
     * drift test's reference sample. `per: hop` (a streaming detector's calibration): the top
     * probability of every hop of the calibration clips, unsmoothed, which is what the daemon
     * records of each hop; absent or `frame`: of every calibration frame. */
    reference: z.object({ score: z.literal('top'), per: z.enum(['frame', 'hop']).optional(), sorted: z.array(z.number().min(0).max(1)).min(1).max(REFERENCE_SCORES_MAX) }).strict(),
  })
  .strict()
  .refine((f) => f.targets.length > 0 || f.cascade !== undefined, { message: 'calibrates nothing: no targets and no cascade cut', path: ['targets'] });
export type CalibrationFile = z.infer<typeof fileSchema>;

/**
 * Reads and checks a calibration file; `labels` (the pipeline's model's) must be the file's.
 * Throws CalibrationError naming the file and the field.
 */
export function readCalibrationFile(path: string, labels: readonly string[]): CalibrationFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CalibrationError(path, `cannot read a calibration file: ${(err as Error).message}`, { cause: err });
  }
  const r = fileSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new CalibrationError(`${path}: ${issue.path.join('.')}`, `${issue.message} (written by \`hairtrigger calibrate\`; format ${CALIBRATION_FORMAT})`);
  }
  const c = r.data;
  if (c.model.labels.join('\n') !== labels.join('\n')) {
    throw new CalibrationError(`${path}: model.labels`, `[${c.model.labels.join(', ')}] differ from the pipeline model's [${labels.join(', ')}]: calibrate this model`);
  }
  for (const t of c.targets) for (const cls of t.classes) if (!labels.includes(cls)) throw new CalibrationError(`${path}: targets`, `"${cls}" is not a label of the model`);
  const s = c.reference.sorted;
  for (let i = 1; i < s.length; i++) if (s[i]! < s[i - 1]!) throw new CalibrationError(`${path}: reference.sorted`, `not sorted at index ${i}`);
  return c;
}

/** Writes `file` to a new `path`; one that exists is refused (CalibrationError), never overwritten. */
export function writeCalibrationFile(path: string, file: CalibrationFile): void {
  if (existsSync(path)) throw new CalibrationError(path, 'exists: a calibration file is never overwritten; choose a new --out');
  const text = JSON.stringify(fileSchema.parse(file), null, 1) + '\n';
  try {
    writeFileSync(path, text, { flag: 'wx' });
  } catch (err) {
    throw new CalibrationError(path, `cannot write: ${(err as Error).message}`, { cause: err });
  }
}
