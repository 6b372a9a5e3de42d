import type { z } from 'zod';
import { assert } from './assert.js';
import { ConfigError } from './errors.js';

/**
 * One registered component: a config schema (zod; `kind` included) and a factory. Like a
 * Redpanda Connect component spec: the schema declares each field with its type and default,
 * so one loader validates every component and lists the known names when one is wrong.
 */
export interface RegistryEntry<Config, Context, Made> {
  /** The config's `kind` this entry answers to. */
  readonly kind: string;
  /** One line for `--help` and error messages. */
  readonly summary: string;
  readonly schema: z.ZodType<Config>;
  create(config: Config, context: Context): Made;
}

/**
 * A registry of one kind of component (sources, decoders, preprocessors, backends, sinks),
 * looked up by the `kind` named in a config. A modality or a transport adds itself with
 * `register` when its module is loaded, so the composition root never names one: adding a
 * modality touches its own folder, its config and its model.
 */
export class Registry<Context, Made> {
  /** What this registry holds, for messages ("source", "decoder", ...). */
  readonly what: string;
  private readonly entries = new Map<string, RegistryEntry<unknown, Context, Made>>();

  constructor(what: string) {
    this.what = what;
  }

  /** Adds an entry; registering a kind twice is a programmer error. */
  register<Config>(entry: RegistryEntry<Config, Context, Made>): void {
    assert(!this.entries.has(entry.kind), `${this.what} kind "${entry.kind}" is registered once`);
    this.entries.set(entry.kind, entry as RegistryEntry<unknown, Context, Made>);
  }

  has(kind: string): boolean {
    return this.entries.has(kind);
  }

  /** The registered kinds, sorted. */
  kinds(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** The entry of `kind`; a ConfigError at `where` lists the known kinds when there is none. */
  entry(kind: unknown, where: string): RegistryEntry<unknown, Context, Made> {
    const e = typeof kind === 'string' ? this.entries.get(kind) : undefined;
    if (e === undefined) {
      throw new ConfigError(`${where}.kind`, `value ${JSON.stringify(kind) ?? 'missing'}: not a known ${this.what}; known kinds: ${this.kinds().join(', ') || '(none registered)'}`);
    }
    return e;
  }

  /**
   * Validates `config` (an object with a `kind`) against its entry's schema and returns it
   * with defaults filled in; a ConfigError names the field (`where.field`), the value and
   * what is allowed.
   */
  parse(config: unknown, where: string): { kind: string } & Record<string, unknown> {
    const kind = typeof config === 'object' && config !== null ? (config as { kind?: unknown }).kind : undefined;
    const e = this.entry(kind, where);
    const r = e.schema.safeParse(config);
    if (!r.success) {
      const issue = r.error.issues[0];
      const path = issue.path.join('.');
      let value: unknown = config;
      for (const k of issue.path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
      const shown = value === undefined ? 'missing' : JSON.stringify(value)?.slice(0, 80);
      throw new ConfigError(`${where}${path ? `.${path}` : ''}`, `value ${shown}: ${issue.message} (${this.what} kind "${e.kind}")`);
    }
    return r.data as { kind: string } & Record<string, unknown>;
  }

  /** Validates `config` and builds the component. */
  create(config: unknown, context: Context, where: string): Made {
    const parsed = this.parse(config, where);
    return this.entry(parsed.kind, where).create(parsed, context);
  }
}
