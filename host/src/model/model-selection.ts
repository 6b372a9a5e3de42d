/**
 * The daemon's side of `modelSelection: { mode: budget }`: ranks the loaded models by their
 * cards' accuracy, probes each backend's service time at start, then samples the pipeline's
 * counters on a timer and applies what the selector (model-selector.ts) decides, as one index
 * write between frames. Every switch is logged, kept (bounded) for the snapshot and the
 * dashboard's markers, counted, and handed to listeners (the control API's audit log).
 */
import type { Backend } from '../backends/backend.js';
import { assert } from '../core/assert.js';
import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { ModelSelectionConfig } from '../config/schema.js';
import type { TimerScheduler } from '../sources/source.js';
import type { ModelCard } from './card.js';
import { ModelSelector, type SelectableModel, type SelectorState, type SwitchDecision } from './model-selector.js';
import type { ModelSwitch } from './model-switch.js';

/** One switch the selector made, as the snapshot, the log and the audit keep it. */
export interface ModelSwitchRecord {
  /** Wall time, ms since the epoch (the history's time base). */
  atMs: number;
  from: string;
  to: string;
  direction: 'down' | 'up';
  reason: string;
  rateHz: number;
  utilization: number;
  lateFraction: number;
  /** Frames completed when it was made. */
  atFrame: number;
}

/** The snapshot's `modelSelection`. */
export interface ModelSelectionView extends SelectorState {
  mode: 'budget';
  current: string;
  switches: { down: number; up: number };
  /** The newest switches (at most `limits.modelSwitchesKeptMax`), newest last. */
  recent: ModelSwitchRecord[];
}

/** The counters the selector samples (PipelineMetrics has them). */
export interface LoadCounters {
  readonly frames: number;
  readonly serviceNsTotal: number;
  readonly inferNsTotal: number;
  readonly late: number;
  readonly lastDueNs: number;
  readonly slowInferTotal: number;
  readonly backToBackFrames: number;
  readonly backToBackNsTotal: number;
  /** The infer time past which a frame counts in `slowInferTotal`, ns: the selection sets it
   * to the selector's tail limit. */
  slowInferNs: number;
}

/**
 * The accuracy a model is ranked by: `student.fixedAccuracyEmulated` for firmware (sim, fpga),
 * else the float `accuracy` of its variant; a ConfigError when the card has none (name the
 * model in `modelSelection.accuracy`).
 */
export function cardAccuracy(card: ModelCard, variant: 'student' | 'teacher', backendKind: string, where: string): number {
  const v = (card.raw[variant] ?? {}) as Record<string, unknown>;
  const fixed = backendKind !== 'onnx' && variant === 'student' ? v.fixedAccuracyEmulated : undefined;
  const a = typeof fixed === 'number' ? fixed : v.accuracy;
  if (typeof a !== 'number') throw new ConfigError(where, `${card.dir}/card.json has no ${variant}.accuracy to rank this model by; give it in modelSelection.accuracy`);
  return a;
}

/** Runs of `predict` a probe times per model, after as many warm-up runs. */
const PROBE_RUNS = 64;

/**
 * Service time of one inference on `backend`, us: the median of `PROBE_RUNS` runs on a zero
 * input after as many warm-up runs. Off the hot path, before frames flow (it allocates).
 */
export function probeInferUs(backend: Backend, inputElements: readonly number[], clock: Clock): number {
  const inputs = inputElements.map((n) => new Float32Array(n));
  const out = new Float32Array(backend.info().outputs);
  const run = inputs.length > 1 ? () => backend.predictInputs!(inputs, out) : () => backend.predict(inputs[0]!, out);
  for (let i = 0; i < PROBE_RUNS; i++) run();
  const us: number[] = [];
  for (let i = 0; i < PROBE_RUNS; i++) {
    const t0 = clock.nowNs();
    run();
    us.push((clock.nowNs() - t0) / 1000);
  }
  us.sort((a, b) => a - b);
  return Math.max(us[us.length >> 1]!, 0.01);
}

/** The selector of a pipeline, driven on the daemon's timers. */
export class BudgetModelSelection {
  private readonly kept: ModelSwitchRecord[] = [];
  private readonly listeners: Array<(r: ModelSwitchRecord) => void> = [];
  private down = 0;
  private up = 0;
  private timer: unknown = null;

  constructor(
    readonly selector: ModelSelector,
    private readonly models: ModelSwitch,
    private readonly counters: LoadCounters,
    private readonly clock: Clock,
    private readonly timers: TimerScheduler,
    private readonly wallMs: () => number,
    private readonly log: (line: string) => void,
  ) {
    assert(selector.models.length === models.models.length, 'the selector ranks every model of the switch');
    counters.slowInferNs = selector.tailLimitUs * 1000;
  }

  /** Puts the most accurate model in force and starts sampling every `intervalMs`. */
  start(): void {
    this.models.selectIndex(this.selector.preferred);
    this.tick();
  }

  stop(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  /** `listener` gets every switch from now on (the control API audits them). */
  onSwitch(listener: (r: ModelSwitchRecord) => void): void {
    this.listeners.push(listener);
  }

  /** One sample and decision now (the timer's step; tests call it directly). */
  readonly tick = (): void => {
    const c = this.counters;
    const d = this.selector.observe(
      { nowMs: this.clock.nowNs() / 1e6, frames: c.frames, serviceNs: c.serviceNsTotal, inferNs: c.inferNsTotal, late: c.late, lastDueNs: c.lastDueNs, slowInfer: c.slowInferTotal, backToBack: c.backToBackFrames, backToBackNs: c.backToBackNsTotal },
      this.models.index,
    );
    if (d !== null) this.apply(d);
    this.timer = this.timers.setTimeout(this.tick, this.selector.limits.intervalMs);
  };

  private apply(d: SwitchDecision): void {
    const names = this.models.names;
    this.models.selectIndex(d.to);
    const r: ModelSwitchRecord = { atMs: this.wallMs(), from: names[d.from]!, to: names[d.to]!, direction: d.direction, reason: d.reason, rateHz: d.rateHz, utilization: d.utilization, lateFraction: d.lateFraction, atFrame: this.counters.frames };
    if (d.direction === 'down') this.down++;
    else this.up++;
    this.kept.push(r);
    if (this.kept.length > limits.modelSwitchesKeptMax) this.kept.shift();
    this.log(`model selection: ${r.from} -> ${r.to} (${r.direction}: ${r.reason})`);
    for (const l of this.listeners) l(r);
  }

  view(): ModelSelectionView {
    return { mode: 'budget', current: this.models.name, switches: { down: this.down, up: this.up }, recent: [...this.kept], ...this.selector.state(this.models.index) };
  }
}

/**
 * Builds the selection of a pipeline from its config: accuracy from each model's card (or
 * `accuracy`), prior service time from a probe of each backend (or `priorUs`). Names in
 * `accuracy`/`priorUs` must be loaded models.
 */
export function createBudgetSelection(
  cfg: ModelSelectionConfig,
  models: ModelSwitch,
  ranks: ReadonlyArray<{ card: ModelCard; variant: 'student' | 'teacher' }>,
  inputElements: readonly number[],
  budgetUs: number,
  deps: { counters: LoadCounters; clock: Clock; timers: TimerScheduler; wallMs: () => number; log: (line: string) => void },
): BudgetModelSelection {
  const names = models.names;
  for (const key of ['accuracy', 'priorUs'] as const) {
    const unknown = Object.keys(cfg[key]).find((n) => !names.includes(n));
    if (unknown !== undefined) throw new ConfigError(`config: modelSelection.${key}.${unknown}`, `no model of that name is loaded; this pipeline has ${names.join(', ')}`);
  }
  if (models.models.length < 2) throw new ConfigError('config: modelSelection', 'a pipeline with one model has nothing to choose: add its other sizes under models');
  const selectable: SelectableModel[] = models.models.map((m, i) => ({
    name: m.name,
    accuracy: cfg.accuracy[m.name] ?? cardAccuracy(ranks[i]!.card, ranks[i]!.variant, m.backend.info().kind, `config: modelSelection (model ${m.name})`),
    priorUs: cfg.priorUs[m.name] ?? probeInferUs(m.backend, inputElements, deps.clock),
  }));
  const selector = new ModelSelector(selectable, cfg, budgetUs);
  deps.log(`model selection: ${selectable.map((m) => `${m.name} (accuracy ${m.accuracy}, ~${m.priorUs.toFixed(1)} us)`).join(', ')}; budget ${budgetUs} us`);
  return new BudgetModelSelection(selector, models, deps.counters, deps.clock, deps.timers, deps.wallMs, deps.log);
}
