/**
 * How far off the latency and resource model has been on published designs, as one line for
 * `hairtrigger compile` and the model card's `fpga` section. The figures are those of the
 * committed fit result (fit-latency.json, written by fit-latency.ts; report-compare.test.ts
 * checks that it matches the constants in force), over the fit and held-out designs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root: the nearest folder above this file with a package.json (this module
 * runs from source under vitest and from build/ in the CLI and the fit script). */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
export const REPO_ROOT = findRepoRoot();
/** The fit's committed result, relative to the checkout (written by fit-latency.ts). */
export const FIT_RESULT_PATH = 'hls/compiler/fit-latency.json';

interface FigureSummary { readonly n: number; readonly medianPct: number; readonly maxPct: number }

export interface ModelAccuracy {
  readonly latency: FigureSummary;
  readonly dsp: FigureSummary;
  readonly heldOutLatency: FigureSummary;
  /** One line: median and max |error| of latency (where modelled) and DSP, and where to read more. */
  readonly line: string;
}

let cached: ModelAccuracy | null | undefined;

/**
 * The model's error on the published hls4ml designs, or null when fit-latency.json is not in
 * the checkout (an installed copy without hls/compiler): the caller then prints nothing.
 */
export function modelAccuracy(): ModelAccuracy | null {
  if (cached !== undefined) return cached;
  let json: { summary: { compared: Record<string, FigureSummary>; heldOut: Record<string, FigureSummary> }; rows: unknown[] };
  try {
    json = JSON.parse(readFileSync(resolve(REPO_ROOT, FIT_RESULT_PATH), 'utf8'));
  } catch {
    cached = null;
    return cached;
  }
  const latency = json.summary.compared.latency!;
  const dsp = json.summary.compared.dsp!;
  const heldOutLatency = json.summary.heldOut.latency!;
  const line = `latency model: median |error| ${latency.medianPct}% (max ${latency.maxPct}%) on ${latency.n} published hls4ml io_parallel and io_stream designs, ` +
    `${heldOutLatency.maxPct}% max on the ${heldOutLatency.n} held out of the fit; DSP median ${dsp.medianPct}% (max ${dsp.maxPct}%) on ${dsp.n}; ` +
    `latency not modelled for ${json.rows.length - latency.n} more (dense-only io_stream, pointwise conv, refused or inexpressible settings); see docs/latency-model.md`;
  cached = { latency, dsp, heldOutLatency, line };
  return cached;
}
