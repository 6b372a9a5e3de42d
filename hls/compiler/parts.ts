/**
 * Resources of the FPGA parts the compiler targets, and whether a design (the latency and
 * resource model's estimate, docs/latency-model.md) fits them. Only DSPs and on-chip memory
 * bits are compared: the model estimates nothing else (no LUTs, no FFs).
 */
import type { NetworkEstimate } from './latency.js';

export interface PartResources {
  /** DSP48 slices. */
  readonly dsp: number;
  /** Block RAM plus UltraRAM, in bits. */
  readonly memoryBits: number;
  /** Where the figures come from. */
  readonly source: string;
  /** BRAM_18K blocks, where known (the io plan checks line buffers and dense weight banks against them). */
  readonly bram18k?: number;
  /** CLB LUTs and flip-flops, where known (for the record: the model does not estimate them). */
  readonly lut?: number;
  readonly ff?: number;
}

const BRAM18K_BITS = 18 * 1024;

/**
 * The part the compiler budgets resources for when it chooses the io type and parallelism: the
 * Alveo U50's (a mid-range data-centre card with Vivado board files, so the plan's part is a card
 * the block design can put the kernel on). The plan takes the fewest DSPs meeting the target, so
 * a larger part than the KU5P changes no plan that fits the KU5P.
 */
export const IO_PLAN_PART = 'xcu50-fsvh2104-2-e';
/** Kintex UltraScale+ KU5P: the io plan's budget before the U50; kept as a smaller comparison part. */
export const KU5P_PART = 'xcku5p-ffvb676-2-e';
const URAM_BITS = 288 * 1024;

/**
 * Known parts. xcu250-figd2104-2L-e (Alveo U250, the writer's default part): 12,288 DSP48E,
 * 5,376 BRAM_18K and 1,280 URAM, the "Available" row of the Vivado HLS 2019 synthesis reports
 * in ../shared/reference/hls-reports/jet-mlp-tutorial-fork-vivado2019 (model_1, model_3).
 */
export const PARTS: Readonly<Record<string, PartResources>> = {
  'xcu250-figd2104-2L-e': {
    dsp: 12_288,
    memoryBits: 5_376 * BRAM18K_BITS + 1_280 * URAM_BITS,
    source: 'Vivado HLS report, Available row (hls-reports/jet-mlp-tutorial-fork-vivado2019)',
  },
  // The io plan's default budget: the Alveo U50's Virtex UltraScale+ HBM part, 5,952 DSP48E2,
  // 1,344 36Kb block RAMs (2,688 BRAM_18K, 47.3 Mb), 640 UltraRAMs (180 Mb), 872K CLB LUTs,
  // 1,743K flip-flops (AMD DS965, Alveo U50 Data Center Accelerator Card Data Sheet, Table 1).
  // The exact counts are the "Available" row of a Vivado HLS synthesis report for this part
  // (hls-reports/dnnonsilicon-mnist-cnn-and-mlp, MNIST_R16 and MNIST_original myproject_csynth.rpt:
  // BRAM_18K 2688, DSP48E 5952, FF 1743360, LUT 871680, URAM 640), which agree with DS965.
  [IO_PLAN_PART]: {
    dsp: 5_952,
    memoryBits: 2_688 * BRAM18K_BITS + 640 * URAM_BITS,
    bram18k: 2_688,
    lut: 871_680,
    ff: 1_743_360,
    source: 'AMD DS965, Alveo U50 Data Sheet; Vivado HLS report, Available row (hls-reports/dnnonsilicon-mnist-cnn-and-mlp)',
  },
  // A smaller mid-range part, the io plan's budget before the U50: Kintex UltraScale+ KU5P, 1,824 DSP48E2,
  // 480 36Kb block RAMs (960 BRAM_18K, 16.9 Mb), 64 UltraRAMs (18.0 Mb), 216,960 CLB LUTs,
  // 433,920 flip-flops (AMD DS890, UltraScale Architecture and Product Data Sheet: Overview,
  // "Kintex UltraScale+ FPGA Feature Summary").
  [KU5P_PART]: {
    dsp: 1_824,
    memoryBits: 960 * BRAM18K_BITS + 64 * URAM_BITS,
    bram18k: 960,
    lut: 216_960,
    ff: 433_920,
    source: 'AMD DS890, Kintex UltraScale+ FPGA Feature Summary (KU5P)',
  },
};

export interface PartFit {
  readonly part: string;
  readonly dsp: { readonly need: number; readonly available: number };
  readonly memoryBits: { readonly need: number; readonly available: number };
  readonly fits: boolean;
  /** One line naming the part and each resource, with what is needed against what is there. */
  readonly message: string;
}

/**
 * The estimate against `part`'s resources; null when the part is not in `PARTS` (nothing to
 * compare with). A design that needs more DSPs or weight memory than the part has does not fit;
 * the message says by how much and what to change.
 */
export function partFit(part: string, est: Pick<NetworkEstimate, 'dsp' | 'weightStorageBits'>): PartFit | null {
  const r = PARTS[part];
  if (r === undefined) return null;
  const dsp = { need: est.dsp, available: r.dsp };
  const memoryBits = { need: est.weightStorageBits, available: r.memoryBits };
  const fits = dsp.need <= dsp.available && memoryBits.need <= memoryBits.available;
  const line = (name: string, x: { need: number; available: number }): string =>
    `${name} ${x.need.toLocaleString('en-US')} of ${x.available.toLocaleString('en-US')}${x.need > x.available ? ` (${(x.need / x.available).toFixed(1)}x too many)` : ''}`;
  const what = `${line('DSP', dsp)}, weight memory bits ${line('', memoryBits).trim()}`;
  const message = fits ? `fits ${part}: ${what}`
    : `does not fit ${part}: ${what}; raise the reuse factor (--reuse: DSPs are multiplies / reuse), or target a larger part`;
  return { part, dsp, memoryBits, fits, message };
}
