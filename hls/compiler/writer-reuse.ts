/**
 * The sliding-window plan of a model (simulation only, hls/nnet/nnet_shift_reuse.h): for a
 * network whose first layers are a chain of 2-D convolutions, depthwise convolutions and
 * ReLUs over [channels][time][features], which output rows of each layer the next window (the
 * input moved up by S rows, S the product of the chain's height strides) can take from the
 * previous result moved up, and which must be computed again: those near the window's two ends
 * (new frames, zero padding). The rest of the network (global pooling, dense) runs in full on
 * the chain's last output. Written as C++ beside the top function, guarded from synthesis: the
 * firmware itself computes every row, and the simulator's reuse gives the same bits.
 */
import { IR_INPUT } from './ir.js';
import type { Ir, Layer } from './ir.js';

/** One emitted layer as the writer has it: the IR layer, its input and output arrays and call lines. */
export interface ReuseLayer {
  readonly layer: Layer;
  readonly input: { readonly arr: string; readonly type: string };
  readonly value: { readonly arr: string; readonly type: string; readonly size: number };
  readonly body: readonly string[];
}

/** One chain layer's rows: recomputed [0, left) and [right, outH); the rest moved up by `shift`. */
export interface RowPlan {
  readonly name: string;
  readonly kind: 'conv' | 'dw' | 'act';
  readonly outShape: readonly [number, number, number];
  /** The layer's stride along the rows (1 for an activation). */
  readonly strideH: number;
  readonly shift: number;
  readonly left: number;
  readonly right: number;
}

export interface ReusePlan {
  /** Input rows a window moves between the calls one state serves. */
  readonly inputShift: number;
  readonly inShape: readonly [number, number, number];
  readonly rows: readonly RowPlan[];
}

const ACTIVATIONS = new Set(['relu', 'leakyrelu']);

/**
 * The plan, or null when the model does not start with such a chain or no row of it can be
 * reused (an input of other than 3 dims, a chain too short for its padding).
 */
export function reusePlan(ir: Ir, layers: readonly ReuseLayer[]): ReusePlan | null {
  if (ir.inputShape.length !== 3) return null;
  const inShape = ir.inputShape as unknown as [number, number, number];
  // Clean rows: whose receptive field holds no padding of any layer so far; [a, b] inclusive.
  let a = 0;
  let b = inShape[1] - 1;
  let product = 1;
  let prev = IR_INPUT;
  const chain: { name: string; kind: RowPlan['kind']; outShape: [number, number, number]; strideH: number; a: number; b: number; product: number }[] = [];
  for (const { layer } of layers) {
    if (layer.inputs.length !== 1 || layer.inputs[0] !== prev || layer.outputShape.length !== 3) break;
    const outShape = layer.outputShape as unknown as [number, number, number];
    if (layer.kind === 'conv2d' || layer.kind === 'dwconv2d') {
      const [kh] = layer.kernel;
      const [sh] = layer.strides;
      const pt = layer.pads[0]!;
      a = Math.ceil((a + pt) / sh!);
      b = Math.min(Math.floor((b + pt - kh! + 1) / sh!), outShape[1] - 1);
      product *= sh!;
      chain.push({ name: layer.name, kind: layer.kind === 'conv2d' ? 'conv' : 'dw', outShape, strideH: sh!, a, b, product });
    } else if (ACTIVATIONS.has(layer.kind)) {
      chain.push({ name: layer.name, kind: 'act', outShape, strideH: 1, a, b, product });
    } else {
      break;
    }
    prev = layer.name;
  }
  if (chain.length === 0 || product >= inShape[1]) return null;
  const rows = chain.map((c): RowPlan => {
    const shift = product / c.product;
    const lastKept = c.b - shift; // rows [a, b - shift] come from rows [a + shift, b] of the previous window
    const keep = c.a <= lastKept;
    return { name: c.name, kind: c.kind, outShape: c.outShape, strideH: c.strideH, shift, left: keep ? c.a : 0, right: keep ? lastKept + 1 : 0 };
  });
  if (!rows.some((r) => r.right > r.left)) return null;
  return { inputShift: product, inShape, rows };
}

/** The header part: the state (the input and every chain layer's whole output) and the entry. */
export function reuseHeader(name: string, plan: ReusePlan | null, layers: readonly ReuseLayer[]): string {
  if (plan === null) return '';
  const byName = new Map(layers.map((l) => [l.layer.name, l]));
  const [c, h, w] = plan.inShape;
  return `
#ifndef __SYNTHESIS__
// Sliding windows in simulation (hls/compiler/writer-reuse.ts, nnet/nnet_shift_reuse.h): a
// window that is the state's previous input moved up by HT_REUSE_SHIFT rows reuses the rows
// of the chain's layers that did not change. Not synthesised; the same bits as ${name}().
#include "nnet/nnet_shift_reuse.h"
#define HT_REUSE_PLAN 1
constexpr int HT_REUSE_C = ${c}, HT_REUSE_H = ${h}, HT_REUSE_W = ${w}, HT_REUSE_SHIFT = ${plan.inputShift};
struct ${name}_reuse_state {
  input_t x[N_IN];
${plan.rows.map((r) => `  ${byName.get(r.name)!.value.type} ${r.name}[${r.outShape[0] * r.outShape[1] * r.outShape[2]}];`).join('\n')}
};
// y from s.x (the caller has put the window there): shifted when s.x is the state's previous
// input moved up by HT_REUSE_SHIFT rows and s holds that input's layers; all rows otherwise.
void ${name}_reuse(${name}_reuse_state& s, bool shifted, result_t y[N_OUT]);
#endif
`;
}

/** The entry's definition, after the top function. */
export function reuseCpp(name: string, plan: ReusePlan | null, layers: readonly ReuseLayer[], outArr: string): string {
  if (plan === null) return '';
  const chainNames = new Set(plan.rows.map((r) => r.name));
  const byName = new Map(layers.map((l) => [l.layer.name, l]));
  const tail = layers.filter((l) => !chainNames.has(l.layer.name));
  const inArr = (l: ReuseLayer) => (l.layer.inputs[0] === IR_INPUT ? 's.x' : `s.${l.layer.inputs[0]}`);
  const call = (r: RowPlan, lo: number, hi: number): string => {
    const l = byName.get(r.name)!;
    if (lo >= hi) return '';
    if (r.kind === 'act') {
      const fn = /nnet::(\w+)</.exec(l.body.join('\n'))![1];
      const [ch, hh, ww] = r.outShape;
      if (lo === 0 && hi === hh) return `  nnet::${fn}<${l.input.type}, ${l.value.type}, config_${r.name}>(${inArr(l)}, s.${r.name});`;
      return `  nnet::reuse::act_rows<${l.input.type}, ${l.value.type}, ${ch}, ${hh}, ${ww}, ${lo}, ${hi}, &nnet::${fn}<${l.input.type}, ${l.value.type}, nnet::reuse::span_cfg<config_${r.name}, ${(hi - lo) * ww}>>>(${inArr(l)}, s.${r.name});`;
    }
    return `  nnet::reuse::conv_rows<${l.input.type}, ${l.value.type}, config_${r.name}, ${r.kind === 'dw'}, ${lo}, ${hi}>(${inArr(l)}, s.${r.name}, ${r.name}_w, ${r.name}_b);`;
  };
  const shifted = plan.rows.flatMap((r) => {
    const [ch, hh, ww] = r.outShape;
    // An activation over every row is one vectorised pass, cheaper than a move and two bands.
    if (r.right <= r.left || r.kind === 'act') return [call(r, 0, hh)];
    const move = `  nnet::reuse::shift_rows<${byName.get(r.name)!.value.type}, ${ch}, ${hh}, ${ww}, ${r.shift}>(s.${r.name});`;
    // Stride 1 with rows at both ends: one call of the layer on the two ends' input rows stacked.
    if (r.strideH === 1 && r.left > 0 && r.right < hh) {
      const l = byName.get(r.name)!;
      return [move, `  nnet::reuse::conv_ends<${l.input.type}, ${l.value.type}, config_${r.name}, ${r.kind === 'dw'}, ${r.left}, ${r.right}>(${inArr(l)}, s.${r.name}, ${r.name}_w, ${r.name}_b);`];
    }
    return [move, call(r, 0, r.left), call(r, r.right, hh)];
  }).filter((x) => x !== '');
  const full = plan.rows.map((r) => call(r, 0, r.outShape[1]));
  const kept = plan.rows.map((r) => `${r.name} ${r.right > r.left ? `rows ${r.left}-${r.right - 1} of ${r.outShape[1]} moved up ${r.shift}` : `none of ${r.outShape[1]} rows`}`);
  return `
#ifndef __SYNTHESIS__
// Kept from the previous window: ${kept.join('; ')}.
void ${name}_reuse(${name}_reuse_state& s, bool shifted, result_t y[N_OUT]) {
  input_t* const x = s.x;
  if (shifted) {
${shifted.map((x) => '  ' + x).join('\n')}
  } else {
${full.map((x) => '  ' + x).join('\n')}
  }
${plan.rows.map((r) => `  ${byName.get(r.name)!.value.type}* const ${byName.get(r.name)!.value.arr} = s.${r.name};`).join('\n')}
${tail.flatMap((l) => l.body).join('\n')}
  for (int i = 0; i < N_OUT; i++) y[i] = ${outArr}[i];
}
#endif
`;
}
