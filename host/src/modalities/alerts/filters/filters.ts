import { z } from 'zod';
import { ConfigError } from '../../../core/errors.js';
import { limits } from '../../../core/limits.js';
import type { AlertView } from '../types.js';
import type { FieldCatalogue } from './catalogue.js';
import { compileExpression, type Value } from './expression.js';
import type { Scores } from './scores.js';

/** Filter and topic names become parts of file names: a file-name-safe token. */
const token = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (at most 64): it names files');

/** One filter of the config: `{name, expr, topic}`. */
export const filterSpecSchema = z
  .object({
    /** Unique among the filters; written into each routed alert. */
    name: token,
    /** A boolean expression over packet fields and scores (filters/README.md). */
    expr: z.string().min(1).max(limits.filterExpressionCharsMax),
    /** Where matching alerts go; several filters may share a topic. */
    topic: token,
  })
  .strict();
export type FilterSpec = z.output<typeof filterSpecSchema>;

/** The `filters:` list of a pipeline config: names unique, at most `limits.filtersMax`. */
export const filtersSchema = z
  .array(filterSpecSchema)
  .max(limits.filtersMax)
  .superRefine((specs, ctx) => {
    const seen = new Set<string>();
    for (const [i, s] of specs.entries()) {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `filter name "${s.name}" is used twice` });
      seen.add(s.name);
    }
  });

/** A filter ready to run: checked against the schemas, compiled once. */
export interface CompiledFilter {
  readonly name: string;
  readonly topic: string;
  readonly expr: string;
  /** Packet paths it reads (as written). */
  readonly fields: readonly string[];
  /** true, false or null (unknown); a FilterError when the packet lacks a field or holds another kind. */
  evaluate(alert: AlertView, scores: Scores): Value;
  /** Whether every field it reads is in `catalogue` (it is evaluated only on such alerts). */
  appliesTo(catalogue: FieldCatalogue): boolean;
}

/** What filters are checked against at start-up. */
export interface CompileOptions {
  /** Catalogues of the writer schemas the stream may carry (`registryCatalogues`, `FieldCatalogue.fromSchema`). */
  catalogues: readonly FieldCatalogue[];
  /** The transient classifier's classes, in probability order (its card's labels). */
  classes: readonly string[];
}

/**
 * Compiles every filter at start-up. Each expression is parsed and checked: every name must be
 * a score (`class`, `score`, `realbogus`, `p["..."]`) or resolve to a packet field of at least
 * one catalogue (by `AlertView.field`'s rule) with a kind that fits its operator. The first
 * that does not is a ConfigError naming the filter, the field and close matches.
 */
export function compileFilters(specs: readonly FilterSpec[], opts: CompileOptions): CompiledFilter[] {
  const parsed = filtersSchema.safeParse(specs);
  if (!parsed.success) throw new ConfigError('filters', parsed.error.issues.map((i) => `${issueWhere(specs, i.path)}: ${i.message}`).join('; '));
  if (opts.catalogues.length === 0) throw new ConfigError('filters', 'no writer schema to check the filters against');
  return parsed.data.map((spec) => {
    const compiled = compileExpression(spec.expr, { filter: spec.name, catalogues: opts.catalogues, classes: opts.classes });
    const ev = compiled.ev;
    return {
      name: spec.name,
      topic: spec.topic,
      expr: spec.expr,
      fields: compiled.fields,
      evaluate: ev,
      appliesTo: (c: FieldCatalogue) => compiled.fields.every((p) => c.resolve(p) !== undefined),
    };
  });
}

/** `filter "name" (filters.3.expr)` for a zod issue at `path`: the name when the entry has one. */
function issueWhere(specs: readonly FilterSpec[], path: readonly PropertyKey[]): string {
  const name = typeof path[0] === 'number' ? (specs[path[0]] as { name?: unknown } | undefined)?.name : undefined;
  const at = ['filters', ...path.map(String)].join('.');
  return typeof name === 'string' ? `filter "${name}" (${at})` : at;
}
