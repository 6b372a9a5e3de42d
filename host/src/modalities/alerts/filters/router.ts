import { FilterError, isOperatingError } from '../../../core/errors.js';
import type { AlertView } from '../types.js';
import { FieldCatalogue } from './catalogue.js';
import type { CompiledFilter } from './filters.js';
import type { Scores } from './scores.js';

/**
 * Where one alert went: `routed` (at least one filter matched), `unmatched` (no filter
 * matched, none failed) or `error` (none matched and at least one failed on it). A filter
 * whose fields are not all in the alert's writer schema is skipped for that alert (a ZTF
 * filter on a Rubin alert), which is neither a match nor an error.
 */
export type RouteOutcome = 'routed' | 'unmatched' | 'error';

/**
 * The result of `route`, reused by the next call (copy what you keep): the outcome, the
 * distinct topics in filter order, and for each filter (in config order) whether it matched.
 */
export interface Routing {
  outcome: RouteOutcome;
  readonly topics: string[];
  readonly matched: Uint8Array;
}

/** Counts of one filter (monotonic): every alert it saw lands in exactly one. */
export interface FilterCounters {
  matched: number;
  /** Evaluated to false. */
  notMatched: number;
  /** Evaluated to unknown (a null met a comparison): not a match. */
  unknown: number;
  /** FilterErrors (a field the packet lacks, a value of another kind). */
  errors: number;
  /** Its fields are not in the alert's schema. */
  skipped: number;
}

/** The router's counters: routed + unmatched + error = alerts; a topic counts the alerts sent to it. */
export interface RouterCounters {
  alerts: number;
  routed: number;
  unmatched: number;
  error: number;
  topics: Record<string, number>;
  filters: Record<string, FilterCounters>;
}

/**
 * Evaluates every filter on each alert and names the topics it goes to. Never throws an
 * operating error: a filter that fails on an alert is counted (and passed to `onError`) and
 * the other filters still run. `route` creates no objects of its own per alert (the result,
 * its topic list and the counters are reused); a writer schema's catalogue is built at its
 * first alert. What `AlertView.field` allocates is the view's.
 */
export class TopicRouter {
  readonly filters: readonly CompiledFilter[];
  /** Distinct topics, in the order the filters name them. */
  readonly topics: readonly string[];
  private readonly topicOf: Uint16Array;
  private readonly hit: Uint8Array;
  private readonly result: Routing;
  private readonly onError: (err: FilterError) => void;
  private readonly applicable = new WeakMap<object, Uint8Array | FilterError>();
  private readonly perFilter: FilterCounters[];
  private readonly perTopic: Float64Array;
  private readonly outcomes = { alerts: 0, routed: 0, unmatched: 0, error: 0 };

  constructor(filters: readonly CompiledFilter[], onError: (err: FilterError) => void = () => {}) {
    this.filters = filters;
    this.topics = [...new Set(filters.map((f) => f.topic))];
    this.topicOf = Uint16Array.from(filters, (f) => this.topics.indexOf(f.topic));
    this.hit = new Uint8Array(this.topics.length);
    this.result = { outcome: 'unmatched', topics: [], matched: new Uint8Array(filters.length) };
    this.onError = onError;
    this.perFilter = filters.map(() => ({ matched: 0, notMatched: 0, unknown: 0, errors: 0, skipped: 0 }));
    this.perTopic = new Float64Array(this.topics.length);
  }

  /** Routes one alert (see `Routing`; the object is reused by the next call). */
  route(alert: AlertView, scores: Scores): Routing {
    const r = this.result;
    r.topics.length = 0;
    r.matched.fill(0);
    this.hit.fill(0);
    this.outcomes.alerts++;
    const applicable = this.applicableTo(alert);
    if (applicable instanceof FilterError) return this.fail(applicable);
    let errors = 0;
    for (let i = 0; i < this.filters.length; i++) {
      if (applicable[i] === 0) {
        this.perFilter[i].skipped++;
        continue;
      }
      if (!this.evaluate(i, alert, scores)) errors++;
    }
    for (let t = 0; t < this.hit.length; t++) {
      if (this.hit[t] === 0) continue;
      r.topics.push(this.topics[t]);
      this.perTopic[t]++;
    }
    r.outcome = r.topics.length > 0 ? 'routed' : errors > 0 ? 'error' : 'unmatched';
    this.outcomes[r.outcome]++;
    return r;
  }

  /** Runs filter `i`; false when it failed (counted and reported). */
  private evaluate(i: number, alert: AlertView, scores: Scores): boolean {
    const c = this.perFilter[i];
    let v;
    try {
      v = this.filters[i].evaluate(alert, scores);
    } catch (err) {
      if (!isOperatingError(err)) throw err;
      c.errors++;
      const where = `filter "${this.filters[i].name}" on ${alert.source} record ${alert.index}`;
      this.onError(err instanceof FilterError ? err : new FilterError(where, err.message, { cause: err }));
      return false;
    }
    if (v === true) {
      c.matched++;
      this.result.matched[i] = 1;
      this.hit[this.topicOf[i]] = 1;
    } else if (v === null) c.unknown++;
    else c.notMatched++;
    return true;
  }

  private fail(err: FilterError): Routing {
    for (const c of this.perFilter) c.errors++;
    this.onError(err);
    this.result.outcome = 'error';
    this.outcomes.error++;
    return this.result;
  }

  /** Which filters apply to the alert's writer schema, worked out once per schema. */
  private applicableTo(alert: AlertView): Uint8Array | FilterError {
    const key = typeof alert.schema.json === 'object' && alert.schema.json !== null ? alert.schema.json : alert.schema;
    let known = this.applicable.get(key);
    if (known === undefined) {
      try {
        const cat = FieldCatalogue.fromSchema(alert.schema.json, `schema ${alert.schema.name} of ${alert.source}`);
        known = Uint8Array.from(this.filters, (f) => (f.appliesTo(cat) ? 1 : 0));
      } catch (err) {
        if (!isOperatingError(err)) throw err;
        known = new FilterError(`schema ${alert.schema.name} of ${alert.source}`, `no filter can run on it: ${err.message}`, { cause: err });
      }
      this.applicable.set(key, known);
    }
    return known;
  }

  /** The result of the last `route` (the same object `route` returned). */
  get last(): Routing {
    return this.result;
  }

  /** The names of the filters that sent the last routed alert to `topic`. */
  matchedFilters(topic: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.filters.length; i++) if (this.result.matched[i] === 1 && this.filters[i].topic === topic) out.push(this.filters[i].name);
    return out;
  }

  /**
   * The counters in the snapshot's `route` shape (numbers, and maps of numbers): the outcomes,
   * `topics`, and per filter `matched`, `notMatched`, `unknown`, `errors`, `skipped`.
   */
  snapshotCounters(): Record<string, number | Record<string, number>> {
    const c = this.counters();
    const per = (k: keyof FilterCounters) => Object.fromEntries(Object.entries(c.filters).map(([name, f]) => [name, f[k]]));
    return { alerts: c.alerts, routed: c.routed, unmatched: c.unmatched, error: c.error, topics: c.topics, matched: per('matched'), notMatched: per('notMatched'), unknown: per('unknown'), errors: per('errors'), skipped: per('skipped') };
  }

  /** A copy of the counters. */
  counters(): RouterCounters {
    const topics: Record<string, number> = {};
    this.topics.forEach((t, i) => (topics[t] = this.perTopic[i]));
    const filters: Record<string, FilterCounters> = {};
    this.filters.forEach((f, i) => (filters[f.name] = { ...this.perFilter[i] }));
    return { ...this.outcomes, topics, filters };
  }
}
