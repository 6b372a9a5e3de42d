/**
 * `/metrics` of a daemon running several pipelines: each pipeline keeps its own
 * `PrometheusExporter` (its own registry, its snapshot, every series labelled
 * `pipeline="<name>"`), and the process-wide series (process metrics, the server's) live in
 * one registry of their own. A scrape merges the expositions so that each metric family
 * appears once, HELP and TYPE once, with the samples of every pipeline under it, as the
 * text format requires.
 *
 * Written here rather than with prom-client's `AggregatorRegistry.aggregate`: that one takes
 * the registries' JSON and re-renders everything synchronously, losing each exporter's
 * per-snapshot cache and its one-metric-per-macrotask render (prometheus.ts).
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { assert } from '../core/assert.js';
import { renderRegistry, type MetricsExposition } from './prometheus.js';

/** One pipeline's exposition: a `PrometheusExporter` in this thread, or a pipeline's worker
 * thread answering with its exporter's text (cli/worker-run.ts). */
export interface PipelineExposition {
  metricsText(): Promise<string>;
}

/** The merged exposition of several pipelines' exporters and the process-wide registry. */
export class PipelineExpositions implements MetricsExposition {
  /** Process-wide series: prom-client's process metrics and whatever the server adds. */
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;

  /** `exporters`: one per pipeline, each made with `labels: { pipeline }` and no default metrics. */
  constructor(private readonly exporters: readonly PipelineExposition[]) {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Every pipeline's exposition and the process-wide one, merged by family. */
  async metricsText(): Promise<string> {
    const texts = [await renderRegistry(this.registry)];
    for (const e of this.exporters) texts.push(await e.metricsText());
    return mergeExpositions(texts);
  }
}

/**
 * Merges Prometheus text expositions as `renderRegistry` writes them (families separated by a
 * blank line, each `# HELP`, `# TYPE`, then samples): a family found in several keeps the
 * first's HELP and TYPE and gathers every exposition's samples, in order. Families of one
 * name must have one type (an assert: it is the code's own series).
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, { head: string[]; samples: string[] }>();
  for (const text of texts) {
    for (const block of text.split('\n\n')) {
      const lines = block.split('\n').filter((l) => l !== '');
      if (lines.length === 0) continue;
      const head = lines.filter((l) => l.startsWith('#'));
      const name = /^# (?:HELP|TYPE) (\S+)/.exec(head[0] ?? '')?.[1];
      assert(name !== undefined, `a metric family starts with # HELP or # TYPE: ${lines[0]}`);
      const family = families.get(name);
      if (family === undefined) families.set(name, { head, samples: lines.filter((l) => !l.startsWith('#')) });
      else {
        assert(family.head.join('\n').includes(head.find((l) => l.startsWith('# TYPE')) ?? ''), `metric ${name} has one type in every pipeline`);
        family.samples.push(...lines.filter((l) => !l.startsWith('#')));
      }
    }
  }
  return `${[...families.values()].map((f) => [...f.head, ...f.samples].join('\n')).join('\n\n')}\n`;
}
