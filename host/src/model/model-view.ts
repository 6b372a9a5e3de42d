import type { ModelView } from '../server/api-types.js';
import type { ModelCard } from './card.js';

/** Which of a pipeline's models a view is of: its name there, the primary's, whether it is in
 * force, and the kind of backend it runs on (its accuracy: fixed point on firmware). */
export interface ModelInPipeline {
  model: string;
  primary: string;
  inForce: boolean;
  backendKind: string;
}

type Json = Record<string, unknown>;

/** `obj.a.b...` when every step is an object, else undefined. */
function at(obj: unknown, path: string): unknown {
  let x = obj;
  for (const key of path.split('.')) x = x !== null && typeof x === 'object' ? (x as Json)[key] : undefined;
  return x;
}

/** The finite numbers among `paths` of `card`, by name (absent ones left out). */
function numbersOf(card: Json, paths: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, path] of Object.entries(paths)) {
    const v = at(card, path);
    if (typeof v === 'number' && Number.isFinite(v)) out[name] = v;
  }
  return out;
}

/** Accuracy figures a card may carry (models/train writes them; models/README.md): student
 * against teacher on the test split, fixed point against float. */
const ACCURACY_PATHS = {
  teacher: 'teacher.accuracy',
  teacherBalanced: 'teacher.balancedAccuracy',
  student: 'student.accuracy',
  studentBalanced: 'student.balancedAccuracy',
  studentFixed: 'student.fixedAccuracyEmulated',
  studentFixedBalanced: 'student.fixedBalancedAccuracyEmulated',
  agreement: 'agreement',
  agreementFixed: 'agreementFixed',
  accuracyGapPoints: 'ratio.accuracyGapPoints',
  fixedAgreementTop1: 'fixed.agreementTop1',
  fixedMaxAbsLogitError: 'fixed.maxAbsLogitError',
};

/** Resources of the compiled firmware the card records (`hairtrigger compile --card`: `fpga`). */
const RESOURCE_PATHS = { dsp: 'fpga.dsp', weightStorageBits: 'fpga.weightStorageBits', iiCycles: 'fpga.ii', reuse: 'fpga.reuse' };

/**
 * The model view (`GET /api/model`) of `variant` of the model whose card is `card` (`of`: which
 * of the pipeline's models it is; absent: the primary, in force, on firmware): parameters,
 * precision, modelled device cycles and time at the card's clock (`fpga`, written by
 * `hairtrigger compile --card`; null for the teacher, which has no firmware, or a card
 * without it), resources and accuracy figures, and the card's JSON as is. Reads only what
 * the card carries; a figure it lacks is left out (or null).
 */
export function modelView(card: ModelCard, variant: 'student' | 'teacher', of?: ModelInPipeline): ModelView {
  const raw = card.raw;
  const name = `${card.task}/${variant}`;
  const own = at(raw, `${variant}.params`);
  // As model selection ranks it (model-selection.ts cardAccuracy): fixed point on firmware.
  const fixedAccuracy = variant === 'student' && (of?.backendKind ?? 'sim') !== 'onnx' ? at(raw, 'student.fixedAccuracyEmulated') : undefined;
  const accuracyOf = typeof fixedAccuracy === 'number' ? fixedAccuracy : at(raw, `${variant}.accuracy`);
  const size = at(raw, 'size');
  const cycles = at(raw, 'fpga.latencyCycles');
  const clockMhz = at(raw, 'fpga.clockMhz');
  const firmware = variant === 'student' && typeof cycles === 'number' && typeof clockMhz === 'number' && clockMhz > 0;
  const resources = variant === 'student' ? numbersOf(raw, RESOURCE_PATHS) : {};
  const fixed = at(raw, 'fixed.precision') ?? at(raw, 'quantization.precision');
  return {
    name,
    model: of?.model ?? name,
    primary: of?.primary ?? name,
    inForce: of?.inForce ?? true,
    variant,
    size: typeof size === 'string' ? size : null,
    modelParams: typeof own === 'number' ? own : null,
    modelAccuracy: typeof accuracyOf === 'number' ? accuracyOf : null,
    task: card.task,
    labels: card.labels,
    params: card.params,
    precision: variant === 'student' && typeof fixed === 'string' ? fixed : 'float32',
    modelled: firmware ? { cycles, clockMhz, us: cycles / clockMhz } : null,
    resources: Object.keys(resources).length > 0 ? resources : null,
    accuracy: numbersOf(raw, ACCURACY_PATHS),
    card: raw,
  };
}
