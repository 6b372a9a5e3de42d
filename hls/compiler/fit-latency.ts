/**
 * Fits the latency and resource model's constants (latency.ts, `FITTED_CONSTANTS`) to the
 * published hls4ml synthesis reports (published-designs.ts), keeping the held-out designs out
 * of the fit, and writes the result to hls/compiler/fit-latency.json (committed; the compile
 * output and docs/latency-model.md quote it) plus a markdown table on stdout.
 *
 *   make build && node build/hls/compiler/fit-latency.js > /tmp/fit.md
 *
 * Latency constants: an exhaustive grid search (small, integer or 0.25-0.5 ns steps: the data
 * are a handful of designs, a finer search would fit noise) minimising the sum of squared
 * log ratios (model+1)/(report+1) of the latency over the io_parallel fit designs. DSP share:
 * the closed-form least-squares fit of log(report / DSP-eligible products) over the fit designs
 * whose width rule gives DSP-eligible products, rounded to 0.01. Ties keep the first grid point.
 * Streaming constants (latency-stream.ts, `FITTED_STREAM_CONSTANTS`): then, with those fixed,
 * the same grid search over `STREAM_FIT_GRID` and the io_stream fit designs whose latency is
 * modelled (a streamed conv chain).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FITTED_CONSTANTS, type ModelConstants } from './latency.js';
import { FITTED_STREAM_CONSTANTS, type StreamConstants } from './latency-stream.js';
import { compareAll, compareDesign, COMPARED, errorSummary, type DesignComparison } from './report-compare.js';
import { FIT_RESULT_PATH, PUBLISHED_DESIGNS, REPO_ROOT } from './published-designs.js';

/** The grid the latency constants are searched over. */
export const FIT_GRID = {
  layerOverheadCycles: [0, 1, 2],
  multiplierNs: [0, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4],
  adderLevelNs: [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2],
  reluCycles: [0, 1],
  softmaxCycles: [0, 1, 2, 3, 4],
} as const;

/** The grid the streaming constants are searched over (cycles). */
export const STREAM_FIT_GRID = {
  registerCycles: [0, 1, 2],
  windowStageCycles: [0, 1, 2, 3, 4],
} as const;

const fitDesigns = PUBLISHED_DESIGNS.filter((d) => d.role === 'fit');

/** Sum of squared log latency ratios over the fit designs of `io` whose latency is modelled. */
function latencyLoss(k: ModelConstants, io: 'parallel' | 'stream' = 'parallel', s: StreamConstants = FITTED_STREAM_CONSTANTS): number {
  let loss = 0;
  for (const d of fitDesigns) {
    if (d.io !== io) continue;
    const c = compareDesign(d, k, s);
    if (c.model === null || !c.latencyModelled) continue;
    loss += Math.log((c.model.latency + 1) / (c.report.latencyMax + 1)) ** 2;
  }
  return loss;
}

function fitStream(k: ModelConstants): StreamConstants {
  let best: StreamConstants | null = null;
  let bestLoss = Infinity;
  for (const registerCycles of STREAM_FIT_GRID.registerCycles)
    for (const windowStageCycles of STREAM_FIT_GRID.windowStageCycles) {
      const s = { registerCycles, windowStageCycles };
      const loss = latencyLoss(k, 'stream', s);
      if (loss < bestLoss - 1e-12) { bestLoss = loss; best = s; }
    }
  return best!;
}

function fitLatency(): Omit<ModelConstants, 'dspShare'> {
  let best: Omit<ModelConstants, 'dspShare'> | null = null;
  let bestLoss = Infinity;
  for (const layerOverheadCycles of FIT_GRID.layerOverheadCycles)
    for (const multiplierNs of FIT_GRID.multiplierNs)
      for (const adderLevelNs of FIT_GRID.adderLevelNs)
        for (const reluCycles of FIT_GRID.reluCycles)
          for (const softmaxCycles of FIT_GRID.softmaxCycles) {
            const k = { layerOverheadCycles, multiplierNs, adderLevelNs, reluCycles, softmaxCycles };
            const loss = latencyLoss({ ...k, dspShare: 1 });
            if (loss < bestLoss - 1e-12) { bestLoss = loss; best = k; }
          }
  return best!;
}

function fitDspShare(k: Omit<ModelConstants, 'dspShare'>): number {
  const logs: number[] = [];
  for (const d of fitDesigns) {
    const c = compareDesign(d, { ...k, dspShare: 1 });
    if (c.model === null || c.model.dsp === 0 || c.report.dsp === 0) continue;
    logs.push(Math.log(c.report.dsp / c.model.dsp));
  }
  return Math.round(Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length) * 100) / 100;
}

const pct = (e: number): number => Math.round(e * 1000) / 10;

/** One row of the committed result: reported, modelled and error % per compared figure. */
function row(c: DesignComparison): Record<string, unknown> {
  const reported = { latency: c.report.latencyMax, ii: c.report.intervalMax, dsp: c.report.dsp, bram18k: c.report.bram18k };
  return {
    id: c.design.id, role: c.design.role, io: c.design.io, latencyModelled: c.latencyModelled, reported,
    modelled: c.model, errorPct: c.error && Object.fromEntries(COMPARED.map((f) => [f, pct(c.error![f])])),
    ...(c.refused ? { refused: c.refused } : {}), ...(c.design.note ? { note: c.design.note } : {}),
  };
}

/** Summary of |error| per figure, over the designs of `roles`, in percent. */
export function summarise(rows: readonly DesignComparison[], roles: readonly string[]): Record<string, { n: number; medianPct: number; maxPct: number }> {
  const sel = rows.filter((r) => roles.includes(r.design.role));
  return Object.fromEntries(COMPARED.map((f) => {
    const s = errorSummary(sel, f);
    return [f, { n: s.n, medianPct: pct(s.median), maxPct: pct(s.max) }];
  }));
}

function markdown(rows: readonly DesignComparison[]): string {
  const cell = (c: DesignComparison, f: (typeof COMPARED)[number], rep: number): string =>
    c.model === null ? `${rep} / –` : `${rep} / ${c.model[f]} (${pct(c.error![f]) > 0 ? '+' : ''}${pct(c.error![f])} %)`;
  const lines = ['| design | io | role | latency cycles rep / model (err) | II | DSP | BRAM_18K |', '|---|---|---|---|---|---|---|'];
  for (const c of rows) {
    const r = c.report;
    const lat = c.latencyModelled ? cell(c, 'latency', r.latencyMax) : `${r.latencyMax} / ${c.model?.latency ?? '–'} (not modelled)`;
    const ii = c.latencyModelled ? cell(c, 'ii', r.intervalMax) : `${r.intervalMax} / ${c.model?.ii ?? '–'} (not modelled)`;
    lines.push(`| ${c.design.id} | ${c.design.io} | ${c.design.role} | ${lat} | ${ii} | ${cell(c, 'dsp', r.dsp)} | ${cell(c, 'bram18k', r.bram18k)} |`);
  }
  return lines.join('\n');
}

function main(): void {
  const latency = fitLatency();
  const constants: ModelConstants = { ...latency, dspShare: fitDspShare(latency) };
  const streamConstants = fitStream(constants);
  const rows = compareAll(constants, streamConstants);
  const result = {
    generatedBy: 'hls/compiler/fit-latency.ts', grid: FIT_GRID, streamGrid: STREAM_FIT_GRID, constants, streamConstants,
    constantsInForce: FITTED_CONSTANTS, streamConstantsInForce: FITTED_STREAM_CONSTANTS,
    fit: PUBLISHED_DESIGNS.filter((d) => d.role === 'fit').map((d) => d.id),
    heldOut: PUBLISHED_DESIGNS.filter((d) => d.role === 'held-out').map((d) => d.id),
    excluded: PUBLISHED_DESIGNS.filter((d) => d.role === 'excluded').map((d) => d.id),
    summary: { fit: summarise(rows, ['fit']), heldOut: summarise(rows, ['held-out']), compared: summarise(rows, ['fit', 'held-out']) },
    rows: rows.map(row),
  };
  const out = resolve(REPO_ROOT, FIT_RESULT_PATH);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`constants: ${JSON.stringify(constants)} ${JSON.stringify(streamConstants)}\n` +
    `in force:  ${JSON.stringify(FITTED_CONSTANTS)} ${JSON.stringify(FITTED_STREAM_CONSTANTS)}\n\n${markdown(rows)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
