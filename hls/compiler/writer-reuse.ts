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
    } else if (ACTIVATIONS.has(layer.kind) && chain.length > 0 && chain[chain.length - 1]!.kind !== 'act') {
      // An activation is applied with the convolution before it (the state keeps its output).
      chain.push({ name: layer.name, kind: 'act', outShape, strideH: 1, a, b, product });
    } else {
      break;
    }
    prev = layer.name;
  }
  if (chain.length === 0 || product >= inShape[1]) return null;
  // A convolution's own output is not kept when an activation follows it: no later layer may read it.
  const internal = new Set(chain.filter((c, k) => c.kind !== 'act' && chain[k + 1]?.kind === 'act').map((c) => c.name));
  const chainNames = new Set(chain.map((c) => c.name));
  if (layers.some(({ layer }) => !chainNames.has(layer.name) && layer.inputs.some((i) => internal.has(i)))) return null;
  const rows = chain.map((c): RowPlan => {
    const shift = product / c.product;
    const lastKept = c.b - shift; // rows [a, b - shift] come from rows [a + shift, b] of the previous window
    const keep = c.a <= lastKept;
    return { name: c.name, kind: c.kind, outShape: c.outShape, strideH: c.strideH, shift, left: keep ? c.a : 0, right: keep ? lastKept + 1 : 0 };
  });
  if (!rows.some((r) => r.right > r.left)) return null;
  return { inputShift: product, inShape, rows };
}

/** A convolution and the activation after it (if any): computed together, the state keeps the unit's output. */
interface Unit {
  readonly conv: RowPlan;
  readonly act: RowPlan | null;
  /** The state member and the output's type. */
  readonly member: string;
  readonly type: string;
}

function units(plan: ReusePlan, byName: ReadonlyMap<string, ReuseLayer>): Unit[] {
  const out: Unit[] = [];
  plan.rows.forEach((r, k) => {
    if (r.kind === 'act') return;
    const next = plan.rows[k + 1];
    const act = next !== undefined && next.kind === 'act' ? next : null;
    const last = act ?? r;
    out.push({ conv: r, act, member: last.name, type: byName.get(last.name)!.value.type });
  });
  return out;
}

/** The header part: the state (the input and every unit's whole output) and the entry. */
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
${units(plan, byName).map((u) => `  ${u.type} ${u.member}[${u.conv.outShape[0] * u.conv.outShape[1] * u.conv.outShape[2]}];`).join('\n')}
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
  const byName = new Map(layers.map((l) => [l.layer.name, l]));
  const us = units(plan, byName);
  const chainNames = new Set(plan.rows.map((r) => r.name));
  const tail = layers.filter((l) => !chainNames.has(l.layer.name));
  // The unit's input: the model input or the state member of the unit before.
  const inArr = (k: number) => (k === 0 ? 's.x' : `s.${us[k - 1]!.member}`);
  const actStruct = (u: Unit): string | null => {
    if (u.act === null) return null;
    const conv = byName.get(u.conv.name)!;
    const act = byName.get(u.act.name)!;
    const fn = /nnet::(\w+)</.exec(act.body.join('\n'))![1];
    return `struct ${name}_act_${u.act.name} {\n  typedef ${act.value.type} out_t;\n  template <int N>\n  static void run(const ${conv.value.type}* in, out_t* out) {\n` +
      `    nnet::${fn}<${conv.value.type}, ${act.value.type}, nnet::reuse::span_cfg<config_${u.act.name}, N>>(in, out);\n  }\n};`;
  };
  const actOf = (u: Unit) => (u.act === null ? `nnet::reuse::no_act<${byName.get(u.conv.name)!.value.type}>` : `${name}_act_${u.act.name}`);
  const tmpl = (u: Unit) => `${byName.get(u.conv.name)!.input.type}, ${byName.get(u.conv.name)!.value.type}, config_${u.conv.name}, ${u.conv.kind === 'dw'}`;
  const args = (u: Unit, k: number) => `(${inArr(k)}, s.${u.member}, ${u.conv.name}_w, ${u.conv.name}_b);`;
  const rows = (u: Unit, k: number, lo: number, hi: number) =>
    lo >= hi ? [] : [`  nnet::reuse::conv_rows<${tmpl(u)}, ${lo}, ${hi}, ${actOf(u)}>${args(u, k)}`];
  const shifted = us.flatMap((u, k) => {
    const r = u.conv;
    const [ch, hh, ww] = r.outShape;
    if (r.right <= r.left) return rows(u, k, 0, hh);
    const move = `  nnet::reuse::shift_rows<${u.type}, ${ch}, ${hh}, ${ww}, ${r.shift}>(s.${u.member});`;
    // Stride 1 with rows at both ends: one call of the layer on the two ends' input rows stacked.
    if (r.strideH === 1 && r.left > 0 && r.right < hh) return [move, `  nnet::reuse::conv_ends<${tmpl(u)}, ${r.left}, ${r.right}, ${actOf(u)}>${args(u, k)}`];
    return [move, ...rows(u, k, 0, r.left), ...rows(u, k, r.right, hh)];
  });
  const full = us.flatMap((u, k) => rows(u, k, 0, u.conv.outShape[1]));
  const kept = plan.rows.filter((r) => r.kind !== 'act').map((r) => `${r.name} ${r.right > r.left ? `rows ${r.left}-${r.right - 1} of ${r.outShape[1]} moved up ${r.shift}` : `none of ${r.outShape[1]} rows`}`);
  return `
#ifndef __SYNTHESIS__
${us.map(actStruct).filter((x) => x !== null).join('\n')}
// Kept from the previous window: ${kept.join('; ')}.
void ${name}_reuse(${name}_reuse_state& s, bool shifted, result_t y[N_OUT]) {
  input_t* const x = s.x;
  if (shifted) {
${shifted.map((x) => '  ' + x).join('\n')}
  } else {
${full.map((x) => '  ' + x).join('\n')}
  }
${us.map((u) => `  ${u.type}* const ${byName.get(u.member)!.value.arr} = s.${u.member};`).join('\n')}
${tail.flatMap((l) => l.body).join('\n')}
  for (int i = 0; i < N_OUT; i++) y[i] = ${outArr}[i];
}
#endif
`;
}
