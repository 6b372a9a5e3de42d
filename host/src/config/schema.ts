import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import '../codecs/builtins.js';
import '../sources/builtins.js';
import '../modalities/index.js';
import '../backends/builtins.js';
import { backends } from '../backends/registry.js';
import { decoderConfigSchema, decoders } from '../codecs/registry.js';
import { sources } from '../sources/registry.js';
import { sinksConfigSchema } from '../sinks/registry.js';
import { triggerConfigSchema } from '../trigger/policy.js';
import { routeConfigSchema, routers } from '../trigger/routers.js';
import '../trigger/detector.js';
import { limits } from '../core/limits.js';
import { SELECTION_DEFAULTS, selectionLimitsProblem } from '../model/model-selector.js';

/** A component block of the config: its `kind` and that kind's fields, checked by the kind's registry entry. */
const componentSchema = z.object({ kind: z.string().min(1) }).passthrough();

const fpgaSchema = z
  .object({
    /** `host`: host in the loop, one job per frame of `source`. `autonomous`: the device
     * classifies its own sensor stream and fires the hardware trigger; the daemon drains its
     * event FIFO, one frame per event. */
    mode: z.enum(['host', 'autonomous']).default('host'),
    /** autonomous: interval between FIFO drains, microseconds (Node timers round it up to 1 ms;
     * a drain that fills its buffer polls again at once). */
    pollUs: z.number().int().min(1).max(1_000_000).default(50),
    /** autonomous (required there): the device's threshold for the target classes, in logit
     * units: it appends an event when the arg-max class is a target with logit >= this. */
    thresholdLogit: z.number().optional(),
    /** host: spins on DONE_COUNT before a job times out (each a pause instruction, ~10-40 ns);
     * default limits.pollSpinsMax. */
    spinsMax: z.number().int().min(1).max(2 ** 40).optional(),
    /** Byte offset of the register region in `device` (a multiple of 4096): on a card, the
     * kernel's offset in its BAR, `kernelOffset` of the firmware's vivado/address_map.json. */
    regionOffsetBytes: z.number().int().min(0).max(2 ** 48).multipleOf(4096).optional(),
  })
  .strict();

/** A cut on the student's uncertainty: a number, or `calibrated` (the value `hairtrigger
 * calibrate --cascade-catch/--cascade-send` writes into the config's calibration file, else the
 * model card's `calibration.cascade`; cascade/cut.ts). */
const cutValue = (max: number) => z.union([z.number().min(0).max(max), z.literal('calibrated')]);

/** `calibration:` (documented on the pipeline's field below). */
export const calibrationConfigSchema = z
  .object({
    file: z.string().min(1).optional(),
    truth: z
      .union([
        z.string().min(1),
        z.object({ file: z.string().min(1), stream: z.string().min(1).optional(), word: z.string().min(1).optional(), includeMissed: z.boolean().default(false) }).strict(),
      ])
      .optional(),
    windowFrames: z.number().int().min(50).max(limits.calibrationWindowFramesMax).default(1000),
    driftAlpha: z.number().gt(0).lt(0.5).default(0.001),
  })
  .strict()
  .refine((c) => c.file !== undefined || c.truth !== undefined, { message: 'give file (a calibration, hairtrigger calibrate) or truth (a labelled keyword stream), or both' });

export const cascadeConfigSchema = z
  .object({
    /** Model folder of the teacher (card.json and <variant>.onnx); its labels and
     * preprocessing must be the pipeline model's (refused at start otherwise). */
    model: z.string().min(1),
    variant: z.enum(['student', 'teacher']).default('teacher'),
    /** `margin`: send a frame whose top-1 minus top-2 probability is below this (0..1).
     * `entropy`: send one whose entropy over ln(classes) is above this (0..1). */
    cut: z.union([z.object({ margin: cutValue(1) }).strict(), z.object({ entropy: cutValue(1) }).strict()]),
    /** Frames out with the teacher at once; an unsure frame past it is not sent (dropped, counted). */
    queueFrames: z.number().int().min(1).max(limits.cascadeQueueFramesMax).default(64),
    /** The teacher's answer, when it comes within the pipeline's budget, decides the trigger of
     * the frame sent (its record is held until then; the student's decides otherwise). */
    replace: z.boolean().default(false),
    /** One JSON line per teacher answer (seq, id, student's and teacher's class and
     * probabilities, latency), created new: a file that exists is refused. */
    answers: z.string().min(1).optional(),
  })
  .strict();
export type CascadeConfig = z.infer<typeof cascadeConfigSchema>;
/** `modelSelection:` (model/model-selector.ts has the rule; its defaults are SELECTION_DEFAULTS). */
const D = SELECTION_DEFAULTS;
const modelSelectionSchema = z
  .object({
    mode: z.literal('budget'),
    intervalMs: z.number().int().min(10).max(60_000).default(D.intervalMs),
    utilizationDown: z.number().gt(0).max(1).default(D.utilizationDown),
    utilizationTarget: z.number().gt(0).max(1).default(D.utilizationTarget),
    utilizationUp: z.number().gt(0).max(1).default(D.utilizationUp),
    lateFractionDown: z.number().min(0).max(1).default(D.lateFractionDown),
    lateFractionUp: z.number().min(0).max(1).default(D.lateFractionUp),
    holdUpMs: z.number().min(0).max(3_600_000).default(D.holdUpMs),
    dwellMinMs: z.number().min(0).max(3_600_000).default(D.dwellMinMs),
    framesMin: z.number().int().min(1).max(1e6).default(D.framesMin),
    tailBudgetFraction: z.number().gt(0).max(1).default(D.tailBudgetFraction),
    tailFractionMax: z.number().min(0).lt(1).default(D.tailFractionMax),
    tailRetryMs: z.number().min(0).max(86_400_000).default(D.tailRetryMs),
    downGainMin: z.number().min(0).lt(1).default(D.downGainMin),
    /** Accuracy by model name, where a card's is not the one to rank by (e.g. a teacher measured elsewhere). */
    accuracy: z.record(z.string(), z.number().min(0).max(1)).default({}),
    /** Prior service time by model name, us, instead of the start-up probe's. */
    priorUs: z.record(z.string(), z.number().positive()).default({}),
  })
  .strict()
  .superRefine((x, ctx) => {
    const problem = selectionLimitsProblem(x);
    if (problem !== null) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  });

export const pipelineConfigSchema = z
  .object({
    /** Name shown in metrics and the dashboard. */
    pipeline: z.string().min(1).default('cells'),
    /** Model folder holding card.json and <variant>.onnx. */
    model: z.string().min(1),
    variant: z.enum(['student', 'teacher']).default('student'),
    /** `sim`: the compiled firmware on the CPU (bit-exact); `fpga`: the firmware on a device; `onnx`: the float model (any registered backend). */
    backend: z.string().min(1).default('onnx'),
    /** sim: the compiled model library (or its project folder); fpga: the project folder holding regmap.json (or the file). Default: the one `make firmware` builds. */
    firmware: z.string().min(1).optional(),
    /** fpga (required there, refused elsewhere): the device's register region, e.g. /dev/xdma0_user or an emulator's /dev/shm file. */
    device: z.string().min(1).optional(),
    /** Latency budget from ingest to trigger write, microseconds. */
    budgetUs: z.number().positive().max(60e6).default(1000),
    /** The frames: required, except with `fpga.mode: autonomous`, where the device takes its own frames and the source is its event FIFO. */
    source: componentSchema.optional(),
    /** How the source's bytes become frames (default: `fixed` for fixed-size frames, `chunks`
     * for a model whose preprocessing windows a sample stream). */
    decoder: decoderConfigSchema.optional(),
    /** fpga backend only: how the host uses the device (docs/fpga-protocol.md). */
    fpga: fpgaSchema.optional(),
    /** sim backend only. `slidingWindows` (default true): a model whose preprocessing windows a
     * sample stream (mfcc, logmel) runs through the library's sliding-window stream, which
     * recomputes only the rows a new window changes (the same bits); false runs every window
     * whole (what the bench compares it with). */
    sim: z.object({ slidingWindows: z.boolean().default(true) }).strict().optional(),
    /** Models run on every frame beside `model` (an alert's real/bogus student beside its
     * transient classifier): their probabilities reach the router, the decisions and the
     * filters by `name`. Each takes the frames `model` takes, with its own preprocessing. */
    extraModels: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'a lower-case identifier (letters, digits, _)'),
            model: z.string().min(1),
            variant: z.enum(['student', 'teacher']).default('student'),
            backend: z.string().min(1).default('onnx'),
            firmware: z.string().min(1).optional(),
          })
          .strict(),
      )
      .max(limits.extraModelsMax)
      .default([]),
    /** Alternates to `model` the control API may switch to (`POST /api/control/model`), loaded
     * at start; each must have the primary's labels and preprocessing (refused at start
     * otherwise). The primary is named `<task>/<variant>` (the snapshot's `model`). */
    models: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a lower-case identifier (letters, digits, _ and -)'),
            model: z.string().min(1),
            variant: z.enum(['student', 'teacher']).default('student'),
            /** Default: the primary's `backend`. */
            backend: z.string().min(1).optional(),
            firmware: z.string().min(1).optional(),
          })
          .strict(),
      )
      .max(limits.modelsMax)
      .default([]),
    /** A cascade to the teacher (host/src/cascade): frames on which the student is unsure
     * (top-1 minus top-2 probability under `cut.margin`, or normalised entropy over
     * `cut.entropy`) are copied, off the hot path's critical work and through a bounded queue
     * of `queueFrames`, to `model`'s `variant` on onnxruntime in its own worker thread. Its
     * answers go to `answers` (JSON lines, created new) and the metrics; with `replace` the
     * teacher's answer decides a sent frame's trigger when it comes within `budgetUs` (the
     * trigger of a sent frame is held until then: for alerts, whose budget is milliseconds). */
    cascade: cascadeConfigSchema.optional(),
    /** The model chosen by the budget (host/src/model/model-selector.ts): of the primary and
     * `models`, the most accurate (by their cards, or `accuracy` here by name) whose service time
     * fits `budgetUs` at the input rate; steps down when the rate rises, back up when it falls,
     * with hysteresis. Absent: the model changes only by the control API. */
    modelSelection: modelSelectionSchema.optional(),
    trigger: triggerConfigSchema,
    /** A calibration (`hairtrigger calibrate`'s side file, host/src/calibration/): the daemon
     * reports each calibrated rate on labelled frames beside its target, and tests the live top
     * scores of the last `windowFrames` frames against the calibration's with a two-sample
     * Kolmogorov-Smirnov test, flagging drift when the p-value is below `driftAlpha`.
     *
     * `truth` (a keyword stream's truth windows in MLPerf Tiny's format, `sww_short_test.json`):
     * the daemon scores each detection against them as the stream goes, by MLPerf's streaming
     * wake-word rules (calibration/detection-monitor.ts), and reports true positives, misses,
     * false alarms per hour, delays and each calibrated recall target's recall per detection.
     * A string is the file; `stream` names its entry (default: the wav source's file name),
     * `word` scores one word (a wake word), `includeMissed` counts late detections too. */
    calibration: calibrationConfigSchema.optional(),
    /** Where each decided frame goes after the policy (the alerts modality's `topics`: filters
     * routing alerts to topic files); absent: triggers only. */
    route: routeConfigSchema.optional(),
    /** One JSON line per decided frame (seq, id, class, score, probs, trigger, the extra
     * models' probabilities and the payload's fields) to this file, created new (a file that
     * exists is refused, never overwritten). */
    decisions: z.string().min(1).optional(),
    /** Trigger logs by kind (`jsonl`, `arrow`; sinks/registry.ts): a base path, or `{ path, fileBytesMax, bufferedBytesMax }`. */
    sinks: sinksConfigSchema,
    server: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        /** Bearer token of the control API (docs/api.md); default: env HAIRTRIGGER_TOKEN, else
         * one generated at start and printed once. Required to bind off loopback. */
        token: z.string().regex(/^[\x21-\x7e]{16,512}$/, '16 to 512 printable ASCII characters, no spaces').optional(),
        /** Host names (no port) requests may be addressed to besides loopback, e.g. a lab
         * machine's DNS name; matched exactly (DNS-rebinding guard, server/host-guard.ts). */
        allowedHosts: z.array(z.string().regex(/^([a-z0-9-]+)(\.[a-z0-9-]+)*$|^\[[0-9a-f:.]+\]$/i, 'a host name or [IPv6] address, without port')).default([]),
        /** When `/healthz` calls the pipeline down besides an ended or failed source, or a
         * faulted backend (metrics/health.ts): no frame for `frameAgeMaxS` seconds (unset: a
         * quiet source is no fault), more than `errorRatioMax` of the recent frames failed. */
        health: z
          .object({ frameAgeMaxS: z.number().positive().max(86_400).optional(), errorRatioMax: z.number().min(0).max(1).default(0.5) })
          .strict()
          .default({ errorRatioMax: 0.5 }),
      })
      .strict()
      .default({ enabled: true, host: '127.0.0.1', port: 8080, allowedHosts: [], health: { errorRatioMax: 0.5 } }),
  })
  .strict();

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;
export type ModelSelectionConfig = z.infer<typeof modelSelectionSchema>;

/**
 * Validates a parsed config. A ConfigError names the field (dotted path), the bad value and
 * what is allowed; unknown keys are refused, so a typo cannot silently fall back to a default.
 */
export function validateConfig(raw: unknown, where = 'config'): PipelineConfig {
  const r = pipelineConfigSchema.safeParse(raw);
  if (r.success) {
    // The component blocks are checked by their kinds' registry entries (defaults filled in).
    backends.entry(r.data.backend, `${where}: backend`);
    if (r.data.source !== undefined) r.data.source = sources.parse(r.data.source, `${where}: source`);
    if (r.data.decoder !== undefined) r.data.decoder = decoders.parse(r.data.decoder, `${where}: decoder`);
    if (r.data.route !== undefined) r.data.route = routers.parse(r.data.route, `${where}: route`);
    for (const [i, x] of r.data.extraModels.entries()) backends.entry(x.backend, `${where}: extraModels.${i}.backend`);
    for (const [i, x] of r.data.models.entries()) if (x.backend !== undefined) backends.entry(x.backend, `${where}: models.${i}.backend`);
    const names = r.data.extraModels.map((x) => x.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw new ConfigError(`${where}: extraModels`, `name "${dup}" is used twice; each extra model needs its own name`);
    return r.data;
  }
  const issue = r.error.issues[0];
  const path = issue.path.join('.');
  const value = valueAt(raw, issue.path as (string | number)[]);
  const shown = value === undefined ? 'missing' : JSON.stringify(value)?.slice(0, 80);
  let allowed = issue.message;
  if (issue.code === 'unrecognized_keys') allowed = `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; allowed keys: ${allowedKeys(issue.path as string[]).join(', ')}`;
  throw new ConfigError(`${where}${path ? `: ${path}` : ''}`, `value ${shown}: ${allowed}`);
}

/** Reads and validates a YAML config file. */
export function loadConfigFile(path: string): PipelineConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, `cannot read config: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(path, `not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  return validateConfig(raw, path);
}

function valueAt(raw: unknown, path: (string | number)[]): unknown {
  let v: unknown = raw;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

function allowedKeys(path: string[]): string[] {
  let schema: z.ZodTypeAny = pipelineConfigSchema;
  for (const k of path) {
    const inner = unwrap(schema);
    if (inner instanceof z.ZodObject) schema = inner.shape[k];
    else if (inner instanceof z.ZodDiscriminatedUnion) return ['kind', '(depends on kind)'];
    else return [];
  }
  const obj = unwrap(schema);
  return obj instanceof z.ZodObject ? Object.keys(obj.shape) : [];
}

function unwrap(s: z.ZodTypeAny): z.ZodTypeAny {
  let cur: z.ZodTypeAny = s;
  while (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional) cur = cur.unwrap() as z.ZodTypeAny;
  return cur;
}
