import { isDeepStrictEqual } from 'node:util';
import type { Backend } from '../backends/backend.js';
import { assert } from '../core/assert.js';
import { ConfigError, RequestError } from '../core/errors.js';
import { readModelCard, type ModelCard } from './card.js';

/** An alternate to the primary model (config `models`). */
export interface AlternateModelConfig {
  name: string;
  model: string;
  variant: 'student' | 'teacher';
  backend?: string;
  firmware?: string;
}

/** One model the pipeline may run: its name and its open backend. */
export interface SwitchableModel {
  name: string;
  backend: Backend;
  /** Its card (the model selector ranks by the card's accuracy); absent in tests that build a switch by hand. */
  card?: ModelCard;
  /** Its variant (which accuracy of the card is its own). */
  variant?: 'student' | 'teacher';
}

/**
 * The models a pipeline has loaded and the one in force. The infer stage reads `backend` on
 * every frame; `select` (the control API, between frames) changes which one it is: one index
 * write, nothing allocated on the hot path, no frame sees half of a switch.
 */
export class ModelSwitch {
  private i = 0;
  /** Called with the new index after each `select` (the trigger ring marks where it took effect). */
  onSelect: (index: number) => void = () => {};

  /** `models[0]` is the primary model, in force at start. Names are unique. */
  constructor(readonly models: readonly SwitchableModel[]) {
    assert(models.length > 0, 'a pipeline runs at least one model');
    assert(new Set(models.map((m) => m.name)).size === models.length, 'model names are unique');
  }

  /** The backend in force. */
  get backend(): Backend {
    return this.models[this.i]!.backend;
  }

  /** The name of the model in force. */
  get name(): string {
    return this.models[this.i]!.name;
  }

  get names(): string[] {
    return this.models.map((m) => m.name);
  }

  /** The index in force (the model selector's view). */
  get index(): number {
    return this.i;
  }

  /** Puts model `index` in force for the next frame (the model selector, between frames). */
  selectIndex(index: number): void {
    assert(index >= 0 && index < this.models.length, 'a model index the switch holds');
    if (index === this.i) return;
    this.i = index;
    this.onSelect(index);
  }

  /** Puts `name` in force for the next frame; returns the name it replaced. A name the
   * pipeline has not loaded is a 400 `RequestError` listing those it has. */
  select(name: string): string {
    const i = this.models.findIndex((m) => m.name === name);
    if (i < 0) throw new RequestError('POST /api/control/model', `model "${name.slice(0, 100)}" is not loaded; this pipeline has ${this.names.join(', ')}`, 400);
    const was = this.name;
    this.i = i;
    this.onSelect(i);
    return was;
  }
}

/**
 * Loads the alternates of config `models` with `open` (the daemon's backend loader). Each
 * must take the frames the primary takes and answer in its classes: same labels, same
 * preprocessing, same input shapes; anything else is refused (`ConfigError` naming
 * `models.<i>`) before a frame flows. A failure closes the backends already open.
 */
export async function loadAlternates(entries: readonly AlternateModelConfig[], primary: { name: string; card: ModelCard }, at: (p: string) => string, open: (x: AlternateModelConfig, card: ModelCard) => Promise<Backend>): Promise<SwitchableModel[]> {
  const out: SwitchableModel[] = [];
  try {
    for (const [i, x] of entries.entries()) {
      if (x.name === primary.name || out.some((m) => m.name === x.name)) throw new ConfigError(`config: models.${i}.name`, `"${x.name}" is used twice (the primary model is "${primary.name}"); each model needs its own name`);
      const card = readModelCard(at(x.model));
      checkSameInputs(card, primary.card, `config: models.${i}`);
      out.push({ name: x.name, backend: await open(x, card), card, variant: x.variant });
    }
  } catch (err) {
    await Promise.allSettled(out.map((m) => m.backend.close()));
    throw err;
  }
  return out;
}

function checkSameInputs(card: ModelCard, primary: ModelCard, where: string): void {
  const differ = (what: string, a: unknown, b: unknown) => `${card.dir}: ${what} ${JSON.stringify(a).slice(0, 120)} differ from the primary model's ${JSON.stringify(b).slice(0, 120)} (${primary.dir}); an alternate takes the same frames and answers in the same classes`;
  if (!isDeepStrictEqual(card.labels, primary.labels)) throw new ConfigError(where, differ('labels', card.labels, primary.labels));
  if (!isDeepStrictEqual(card.preprocessing, primary.preprocessing)) throw new ConfigError(where, differ('preprocessing', card.preprocessing, primary.preprocessing));
  if (!isDeepStrictEqual([card.inputShape, card.inputShapes], [primary.inputShape, primary.inputShapes])) throw new ConfigError(where, differ('input shapes', [card.inputShape, card.inputShapes], [primary.inputShape, primary.inputShapes]));
}
