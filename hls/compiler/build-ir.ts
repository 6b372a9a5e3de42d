/**
 * Stage 2 of the model compiler: `OnnxGraph` -> `Ir`. Infers batch-less shapes from the
 * single graph input, maps each supported operator onto a layer, fuses MatMul+Add into
 * dense, folds BatchNormalization into a directly preceding conv/dense, drops Identity and
 * Dropout, and folds the constant subgraphs exporters put around Reshape.
 *
 * Anything it does not support is a `ModelError` naming the operator, the node and the file;
 * it never returns a partial IR.
 */
import { ModelError } from '../../host/src/core/errors.js';
import { assert } from '../../host/src/core/assert.js';
import type { OnnxAttribute, OnnxGraph, OnnxNode, OnnxTensor } from './onnx-reader.js';
import { IR_INPUT, isMacLayer, macOutputs, shapeSize } from './ir.js';
import type { Ir, Layer, LayerKind, MacLayer, PoolLayer, Shape } from './ir.js';
import { FOLDABLE_OPS, foldNode, resolveReshape } from './const-fold.js';
import type { FixedType } from './precision.js';
import { QONNX_DOMAINS, quantFixedType } from './qonnx.js';
import { foldQuant, readQuant, VALUE_PRESERVING_FOLDS } from './qonnx-import.js';

/** A computed tensor: the IR value (layer name or IR_INPUT) and its batch-less shape. */
interface Value {
  readonly ref: string;
  readonly shape: Shape;
}

interface Ctx {
  readonly graph: OnnxGraph;
  readonly consts: Map<string, OnnxTensor>;
  readonly values: Map<string, Value>;
  readonly layers: Layer[];
  readonly byName: Map<string, Layer>;
  /** ONNX tensor -> indices of nodes reading it. */
  readonly readers: Map<string, number[]>;
  readonly graphOutputs: Set<string>;
  /** Node indices already absorbed into an earlier layer (an Add fused into dense). */
  readonly absorbed: Set<number>;
  readonly kindCounts: Map<LayerKind, number>;
  /** Constants quantised by a QONNX Quant: the fixed-point type that holds them exactly. */
  readonly constTypes: Map<string, FixedType>;
}

type Handler = (ctx: Ctx, node: OnnxNode, index: number) => void;

/** Distributes Omit over the Layer union so each variant keeps its own fields. */
type LayerDraft = Layer extends infer L ? (L extends Layer ? Omit<L, 'name' | 'sources' | 'inputs' | 'inputShapes'> : never) : never;

/**
 * Builds the IR of `graph`. Throws `ModelError` (code E_MODEL) naming file and node for
 * unsupported operators, attributes outside the supported range, non-constant weights, or
 * shapes that do not agree. The IR's weight arrays are fresh copies owned by the IR.
 */
export function buildIr(graph: OnnxGraph): Ir {
  const ctx = newContext(graph);
  const input = graphInput(graph);
  ctx.values.set(input.name, { ref: IR_INPUT, shape: input.shape });
  graph.nodes.forEach((node, index) => {
    if (ctx.absorbed.has(index)) return;
    if (QONNX_DOMAINS.has(node.domain)) return quantNode(ctx, node);
    if (node.domain !== '' && node.domain !== 'ai.onnx') throw unsupported(ctx, node);
    if (tryFold(ctx, node)) return;
    const handler = HANDLERS[node.opType];
    if (!handler) throw unsupported(ctx, node);
    handler(ctx, node, index);
  });
  if (graph.outputs.length !== 1) {
    throw new ModelError(graph.source, `${graph.source} has ${graph.outputs.length} outputs; the compiler supports exactly one`);
  }
  const out = ctx.values.get(graph.outputs[0].name);
  if (!out) throw new ModelError(graph.source, `output "${graph.outputs[0].name}" of ${graph.source} is not a computed tensor`);
  return { source: graph.source, inputName: input.name, inputShape: input.shape, layers: ctx.layers, output: out.ref, outputShape: out.shape };
}

function newContext(graph: OnnxGraph): Ctx {
  const readers = new Map<string, number[]>();
  graph.nodes.forEach((n, i) => {
    for (const t of n.inputs) if (t !== '') readers.set(t, [...(readers.get(t) ?? []), i]);
  });
  return {
    graph,
    consts: new Map(graph.initializers),
    values: new Map(),
    layers: [],
    byName: new Map(),
    readers,
    graphOutputs: new Set(graph.outputs.map((o) => o.name)),
    absorbed: new Set(),
    kindCounts: new Map(),
    constTypes: new Map(),
  };
}

function graphInput(graph: OnnxGraph): { name: string; shape: Shape } {
  if (graph.inputs.length !== 1) {
    throw new ModelError(graph.source, `${graph.source} has ${graph.inputs.length} non-constant inputs; the compiler supports exactly one`);
  }
  const { name, shape } = graph.inputs[0];
  if (!shape || shape.length < 2 || shape.slice(1).some((d) => d <= 0)) {
    throw new ModelError(graph.source, `input "${name}" of ${graph.source} has shape [${shape?.join(',') ?? 'unknown'}]; need [batch, fixed dims...]`);
  }
  return { name, shape: shape.slice(1) };
}

// ---------------------------------------------------------------------------------------
// Helpers shared by the handlers

function where(ctx: Ctx, node: OnnxNode): string {
  return `${ctx.graph.source} node "${node.name}"`;
}

function bad(ctx: Ctx, node: OnnxNode, message: string): ModelError {
  return new ModelError(where(ctx, node), `${node.opType} at node "${node.name}" of ${ctx.graph.source}: ${message}`);
}

/** What to change when a shape-only operator reaches computed data (it is folded only on constants). */
const SHAPE_ONLY_ADVICE: Readonly<Record<string, string>> = {
  Unsqueeze: 'it only adds dims of size 1: replace it with a Reshape to a constant shape (or drop it, if a later Reshape/Flatten sets the shape), and re-export',
  Squeeze: 'it only removes dims of size 1: replace it with a Reshape to a constant shape, or a Flatten, and re-export',
  Concat: 'concatenating computed tensors is not supported; only constant shapes may be concatenated',
  Gather: 'gathering from computed data is not supported; only constant shapes may be indexed',
  Cast: 'the firmware has one numeric type per tensor: remove the Cast and re-export in float32',
};

function unsupported(ctx: Ctx, node: OnnxNode): ModelError {
  const op = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.opType}` : node.opType;
  const foldable = FOLDABLE_OPS.has(node.opType) && (node.domain === '' || node.domain === 'ai.onnx' || !node.domain);
  const advice = foldable ? ` ${node.opType} is folded on constants only, and "${node.inputs[0] ?? ''}" is computed data: ${SHAPE_ONLY_ADVICE[node.opType] ?? 'compute it from constants only'}.` : '';
  return new ModelError(where(ctx, node), `unsupported operator ${op} at node "${node.name}" of ${ctx.graph.source}.${advice} ` +
    `Supported on data: ${SUPPORTED_OPS.join(', ')}; on constants only: ${[...FOLDABLE_OPS].join(', ')}`);
}

function tryFold(ctx: Ctx, node: OnnxNode): boolean {
  if (!FOLDABLE_OPS.has(node.opType)) return false;
  const present = node.inputs.filter((t) => t !== '');
  const shapeOfComputed = node.opType === 'Shape' && ctx.values.has(present[0]);
  if (!shapeOfComputed && !present.every((t) => ctx.consts.has(t))) return false;
  const t = foldNode(node, ctx.graph.opset, (n) => ctx.consts.get(n), (n) => ctx.values.get(n)?.shape, where(ctx, node));
  ctx.consts.set(node.outputs[0], t);
  const type = ctx.constTypes.get(node.inputs[0] ?? '');
  if (type !== undefined && VALUE_PRESERVING_FOLDS.has(node.opType)) ctx.constTypes.set(node.outputs[0], type);
  return true;
}

/** The computed (non-constant) input `i` of `node`. */
function dyn(ctx: Ctx, node: OnnxNode, i: number): Value {
  const v = ctx.values.get(node.inputs[i] ?? '');
  if (v) return v;
  if (ctx.consts.has(node.inputs[i])) throw bad(ctx, node, `input ${i} ("${node.inputs[i]}") is a constant; a computed tensor is required`);
  throw bad(ctx, node, `input ${i} ("${node.inputs[i] ?? ''}") is not produced by an earlier node`);
}

/** The constant input `i` of `node`, as floats. */
function weight(ctx: Ctx, node: OnnxNode, i: number): OnnxTensor & { type: 'float' } {
  const t = ctx.consts.get(node.inputs[i] ?? '');
  if (!t) throw bad(ctx, node, `input ${i} ("${node.inputs[i] ?? ''}") must be a constant initializer`);
  if (t.type !== 'float') throw bad(ctx, node, `input ${i} ("${t.name}") must be a float tensor`);
  return t;
}

function optionalWeight(ctx: Ctx, node: OnnxNode, i: number): (OnnxTensor & { type: 'float' }) | null {
  return node.inputs[i] ? weight(ctx, node, i) : null;
}

function attr(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attributes.get(name);
}

function attrNum(node: OnnxNode, name: string, fallback: number): number {
  const v = attr(node, name);
  return typeof v === 'number' ? v : fallback;
}

function attrInts(node: OnnxNode, name: string, fallback: number[]): number[] {
  const v = attr(node, name);
  return Array.isArray(v) ? (v as number[]) : fallback;
}

/** True when tensor `t` feeds exactly one node and is not a graph output. */
function soleReader(ctx: Ctx, t: string): number | null {
  const r = ctx.readers.get(t) ?? [];
  return r.length === 1 && !ctx.graphOutputs.has(t) ? r[0] : null;
}

/**
 * True when the IR value `ref` has exactly one consumer among all the ONNX tensors bound to
 * it (looking through Identity/Dropout aliases) and none of them is a graph output: only
 * then may a following op be folded into the layer that produces it.
 */
function soleConsumer(ctx: Ctx, ref: string): boolean {
  let consumers = 0;
  for (const [t, v] of ctx.values) {
    if (v.ref !== ref) continue;
    if (ctx.graphOutputs.has(t)) return false;
    for (const i of ctx.readers.get(t) ?? []) {
      const reader = ctx.graph.nodes[i];
      const passThrough = (reader.opType === 'Identity' || reader.opType === 'Dropout') && ctx.values.get(reader.outputs[0])?.ref === ref;
      if (!passThrough) consumers++;
    }
  }
  return consumers === 1;
}

function requireUnused(ctx: Ctx, node: OnnxNode, outputIndex: number): void {
  const t = node.outputs[outputIndex];
  if (t && ((ctx.readers.get(t)?.length ?? 0) > 0 || ctx.graphOutputs.has(t))) {
    throw bad(ctx, node, `output ${outputIndex} ("${t}") is used; only the first output is supported`);
  }
}

/** Appends a layer fed by `inputs`, binds ONNX tensor `output` to it, and returns it. */
function emit(ctx: Ctx, node: OnnxNode, inputs: Value[], draft: LayerDraft, output = node.outputs[0]): Layer {
  const n = ctx.kindCounts.get(draft.kind) ?? 0;
  ctx.kindCounts.set(draft.kind, n + 1);
  const layer = {
    ...draft,
    name: `${draft.kind}_${n}`,
    sources: [node.name],
    inputs: inputs.map((v) => v.ref),
    inputShapes: inputs.map((v) => v.shape),
  } as Layer;
  assert(!ctx.byName.has(layer.name), 'layer names are unique');
  ctx.layers.push(layer);
  ctx.byName.set(layer.name, layer);
  ctx.values.set(output, { ref: layer.name, shape: layer.outputShape });
  return layer;
}

function alias(ctx: Ctx, node: OnnxNode): void {
  ctx.values.set(node.outputs[0], dyn(ctx, node, 0));
}

// ---------------------------------------------------------------------------------------
// Dense: Gemm, MatMul (+ Add of a constant)

const gemm: Handler = (ctx, node) => {
  const x = dyn(ctx, node, 0);
  if (attrNum(node, 'transA', 0) !== 0) throw bad(ctx, node, 'attribute transA=1 is not supported');
  const transB = attrNum(node, 'transB', 0) !== 0;
  const alpha = attrNum(node, 'alpha', 1);
  const beta = attrNum(node, 'beta', 1);
  const b = weight(ctx, node, 1);
  if (b.dims.length !== 2) throw bad(ctx, node, `weight "${b.name}" must be 2-D, has dims [${b.dims.join(',')}]`);
  const [nIn, nOut] = transB ? [b.dims[1], b.dims[0]] : [b.dims[0], b.dims[1]];
  checkDenseInput(ctx, node, x, nIn);
  const weights = new Float32Array(nIn * nOut);
  for (let i = 0; i < nIn; i++) {
    for (let o = 0; o < nOut; o++) weights[i * nOut + o] = alpha * (transB ? b.data[o * nIn + i] : b.data[i * nOut + o]);
  }
  const c = optionalWeight(ctx, node, 2);
  const bias = c ? broadcastBias(ctx, node, c, nOut, beta) : new Float32Array(nOut);
  const layer = emit(ctx, node, [x], { kind: 'dense', nIn, nOut, weights, bias, outputShape: [nOut] });
  // alpha/beta other than 1 scale the quantised values off their grid.
  if (alpha === 1 && beta === 1) setFixedTypes(ctx, layer, node.inputs[1], node.inputs[2]);
};

const matmul: Handler = (ctx, node) => {
  const x = dyn(ctx, node, 0);
  const b = weight(ctx, node, 1);
  if (b.dims.length !== 2) throw bad(ctx, node, `weight "${b.name}" must be 2-D, has dims [${b.dims.join(',')}]`);
  const [nIn, nOut] = b.dims;
  checkDenseInput(ctx, node, x, nIn);
  const layer = emit(ctx, node, [x], { kind: 'dense', nIn, nOut, weights: Float32Array.from(b.data), bias: new Float32Array(nOut), outputShape: [nOut] });
  setFixedTypes(ctx, layer, node.inputs[1], undefined);
  // Fuse a following Add of a constant (the Keras exporter's bias) into this layer.
  const next = soleReader(ctx, node.outputs[0]);
  const addNode = next === null ? null : ctx.graph.nodes[next];
  if (next === null || !addNode || addNode.opType !== 'Add') return;
  const other = addNode.inputs[0] === node.outputs[0] ? addNode.inputs[1] : addNode.inputs[0];
  const c = ctx.consts.get(other);
  if (!c || c.type !== 'float') return;
  assert(layer.kind === 'dense', 'matmul emits dense');
  layer.bias = broadcastBias(ctx, addNode, c, nOut, 1);
  setFixedTypes(ctx, layer, node.inputs[1], other);
  layer.sources.push(addNode.name);
  ctx.absorbed.add(next);
  ctx.values.set(addNode.outputs[0], { ref: layer.name, shape: layer.outputShape });
};

function checkDenseInput(ctx: Ctx, node: OnnxNode, x: Value, nIn: number): void {
  if (x.shape.length !== 1 || x.shape[0] !== nIn) {
    throw bad(ctx, node, `input shape [${x.shape.join(',')}] (batch dropped) must be [${nIn}]; flatten before a dense layer`);
  }
}

/** A bias of `n` values from a constant of n or 1 elements (any leading 1-dims), times `scale`. */
function broadcastBias(ctx: Ctx, node: OnnxNode, c: OnnxTensor & { type: 'float' }, n: number, scale: number): Float32Array {
  if (c.data.length !== n && c.data.length !== 1) {
    throw bad(ctx, node, `bias "${c.name}" has ${c.data.length} values; expected ${n} or 1`);
  }
  return Float32Array.from({ length: n }, (_, o) => scale * c.data[c.data.length === 1 ? 0 : o]);
}

// ---------------------------------------------------------------------------------------
// Convolution and pooling

/** Spatial pads from explicit `pads` or `auto_pad`; ModelError for dilations != 1. */
function spatialGeometry(ctx: Ctx, node: OnnxNode, inSpatial: number[], kernel: number[]): { strides: number[]; pads: number[]; outSpatial: number[] } {
  const rank = kernel.length;
  const dil = attrInts(node, 'dilations', kernel.map(() => 1));
  if (dil.some((d) => d !== 1)) throw bad(ctx, node, `attribute dilations=[${dil.join(',')}] is not supported (only 1)`);
  const strides = attrInts(node, 'strides', kernel.map(() => 1));
  let pads = attrInts(node, 'pads', new Array<number>(2 * rank).fill(0));
  const autoPad = String(attr(node, 'auto_pad') ?? 'NOTSET');
  if (autoPad === 'VALID') pads = new Array<number>(2 * rank).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array<number>(2 * rank).fill(0);
    for (let d = 0; d < rank; d++) {
      const out = Math.ceil(inSpatial[d] / strides[d]);
      const total = Math.max(0, (out - 1) * strides[d] + kernel[d] - inSpatial[d]);
      pads[d] = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
      pads[d + rank] = total - pads[d];
    }
  } else if (autoPad !== 'NOTSET') throw bad(ctx, node, `attribute auto_pad=${autoPad} is not supported`);
  if (strides.length !== rank || pads.length !== 2 * rank) throw bad(ctx, node, 'strides/pads do not match the kernel rank');
  const outSpatial = inSpatial.map((n, d) => Math.floor((n + pads[d] + pads[d + rank] - kernel[d]) / strides[d]) + 1);
  if (outSpatial.some((n) => n < 1)) throw bad(ctx, node, `output spatial size [${outSpatial.join(',')}] is empty`);
  return { strides, pads, outSpatial };
}

const conv: Handler = (ctx, node) => {
  const x = dyn(ctx, node, 0);
  const w = weight(ctx, node, 1);
  const rank = w.dims.length - 2;
  if (rank !== 1 && rank !== 2) throw bad(ctx, node, `only 1-D and 2-D convolutions are supported; weight has dims [${w.dims.join(',')}]`);
  const group = attrNum(node, 'group', 1);
  if (group !== 1) return depthwise(ctx, node, x, w, group);
  const [cOut, cIn] = w.dims;
  const kernel = w.dims.slice(2);
  if (x.shape.length !== rank + 1 || x.shape[0] !== cIn) {
    throw bad(ctx, node, `input shape [${x.shape.join(',')}] does not match weight [${w.dims.join(',')}] (need [${cIn}, ${rank} spatial dims])`);
  }
  const ks = attrInts(node, 'kernel_shape', kernel);
  if (ks.join() !== kernel.join()) throw bad(ctx, node, `attribute kernel_shape=[${ks.join(',')}] disagrees with weight dims`);
  const g = spatialGeometry(ctx, node, x.shape.slice(1), kernel);
  const b = optionalWeight(ctx, node, 2);
  const bias = b ? broadcastBias(ctx, node, b, cOut, 1) : new Float32Array(cOut);
  const layer = emit(ctx, node, [x], {
    kind: rank === 1 ? 'conv1d' : 'conv2d', cIn, cOut, kernel, strides: g.strides, pads: g.pads,
    weights: Float32Array.from(w.data), bias, outputShape: [cOut, ...g.outSpatial],
  });
  setFixedTypes(ctx, layer, node.inputs[1], node.inputs[2]);
};

/**
 * Conv with group = input channels = output channels (weight [C][1][kh][kw]): a depthwise
 * conv2d. Other groupings (a channel multiplier, 1 < group < C) and 1-D are refused.
 */
function depthwise(ctx: Ctx, node: OnnxNode, x: Value, w: OnnxTensor & { type: 'float' }, group: number): void {
  const [cOut, perGroup] = w.dims;
  const c = x.shape[0];
  if (w.dims.length !== 4 || x.shape.length !== 3 || group !== c || cOut !== c || perGroup !== 1) {
    throw bad(ctx, node, `attribute group=${group} with weight [${w.dims.join(',')}] on input [${x.shape.join(',')}] is not supported ` +
      '(only group=1, or a 2-D depthwise conv: group = input channels = output channels, weight [C,1,kh,kw])');
  }
  const kernel = w.dims.slice(2);
  const ks = attrInts(node, 'kernel_shape', kernel);
  if (ks.join() !== kernel.join()) throw bad(ctx, node, `attribute kernel_shape=[${ks.join(',')}] disagrees with weight dims`);
  const g = spatialGeometry(ctx, node, x.shape.slice(1), kernel);
  const b = optionalWeight(ctx, node, 2);
  const layer = emit(ctx, node, [x], {
    kind: 'dwconv2d', channels: c, kernel, strides: g.strides, pads: g.pads, weights: Float32Array.from(w.data),
    bias: b ? broadcastBias(ctx, node, b, c, 1) : new Float32Array(c), outputShape: [c, ...g.outSpatial],
  });
  setFixedTypes(ctx, layer, node.inputs[1], node.inputs[2]);
}

const pool: Handler = (ctx, node) => {
  const x = dyn(ctx, node, 0);
  const isMax = node.opType === 'MaxPool';
  if (isMax) requireUnused(ctx, node, 1);
  const kernel = attrInts(node, 'kernel_shape', []);
  const rank = kernel.length;
  if ((rank !== 1 && rank !== 2) || x.shape.length !== rank + 1) {
    throw bad(ctx, node, `kernel_shape=[${kernel.join(',')}] on input [${x.shape.join(',')}]: only 1-D and 2-D pooling is supported`);
  }
  const ceil = attrNum(node, 'ceil_mode', 0);
  if (ceil !== 0) throw bad(ctx, node, `attribute ceil_mode=${ceil} is not supported (only 0)`);
  const g = spatialGeometry(ctx, node, x.shape.slice(1), kernel);
  const kind = `${isMax ? 'maxpool' : 'avgpool'}${rank}d` as PoolLayer['kind'];
  emit(ctx, node, [x], {
    kind, kernel, strides: g.strides, pads: g.pads,
    countIncludePad: !isMax && attrNum(node, 'count_include_pad', 0) !== 0,
    outputShape: [x.shape[0], ...g.outSpatial],
  });
};

const globalAvgPool: Handler = (ctx, node) => {
  const x = dyn(ctx, node, 0);
  if (x.shape.length < 2) throw bad(ctx, node, `input shape [${x.shape.join(',')}] has no spatial dims`);
  emit(ctx, node, [x], { kind: 'globalavgpool', outputShape: [x.shape[0], ...x.shape.slice(1).map(() => 1)] });
};

// ---------------------------------------------------------------------------------------
// Shape-only layers

/** Reshape on the full shape with batch 1; the batch dim must come out as 1. */
function reshapeTo(ctx: Ctx, node: OnnxNode, x: Value, fullOut: number[]): void {
  if (fullOut[0] !== 1 || shapeSize(fullOut) !== shapeSize(x.shape)) {
    throw bad(ctx, node, `output shape [${fullOut.join(',')}] (batch 1) mixes the batch dimension into the data`);
  }
  emit(ctx, node, [x], { kind: 'reshape', outputShape: fullOut.slice(1) });
}

const flatten: Handler = (ctx, node) => {
  const x = dyn(ctx, node, 0);
  const full = [1, ...x.shape];
  let axis = attrNum(node, 'axis', 1);
  if (axis < 0) axis += full.length;
  reshapeTo(ctx, node, x, [shapeSize(full.slice(0, axis)), shapeSize(full.slice(axis))]);
};

const reshape: Handler = (ctx, node) => {
  const x = dyn(ctx, node, 0);
  const t = node.inputs[1] ? ctx.consts.get(node.inputs[1]) : undefined;
  const target = t ? Array.from(t.data as ArrayLike<number>) : attrInts(node, 'shape', []);
  if (node.inputs[1] && !t) throw bad(ctx, node, `shape input "${node.inputs[1]}" is not a constant (or a foldable constant subgraph)`);
  reshapeTo(ctx, node, x, resolveReshape([1, ...x.shape], target, where(ctx, node)));
};

const transpose: Handler = (ctx, node) => {
  const x = dyn(ctx, node, 0);
  const rank = x.shape.length + 1;
  const perm = attrInts(node, 'perm', Array.from({ length: rank }, (_, i) => rank - 1 - i));
  if (perm.length !== rank || perm[0] !== 0 || [...perm].sort().join() !== Array.from({ length: rank }, (_, i) => i).join()) {
    throw bad(ctx, node, `attribute perm=[${perm.join(',')}] must keep the batch dim first`);
  }
  const p = perm.slice(1).map((d) => d - 1);
  emit(ctx, node, [x], { kind: 'transpose', perm: p, outputShape: p.map((d) => x.shape[d]) });
};

// ---------------------------------------------------------------------------------------
// Activations, softmax, add, batch norm

const activation = (kind: 'relu' | 'sigmoid' | 'tanh'): Handler => (ctx, node) => {
  const x = dyn(ctx, node, 0);
  emit(ctx, node, [x], { kind, outputShape: x.shape });
};

/** Elu, Selu, Softplus, HardSigmoid with their ONNX defaults (Selu's are float32 constants of the spec). */
const paramActivation = (kind: 'elu' | 'selu' | 'softplus' | 'hardsigmoid'): Handler => (ctx, node) => {
  const x = dyn(ctx, node, 0);
  const alphaDefault = { elu: 1, selu: 1.67326319217681884765625, softplus: 0, hardsigmoid: 0.2 }[kind];
  emit(ctx, node, [x], { kind, alpha: attrNum(node, 'alpha', alphaDefault), beta: kind === 'hardsigmoid' ? attrNum(node, 'beta', 0.5) : 0,
    gamma: kind === 'selu' ? attrNum(node, 'gamma', 1.05070102214813232421875) : 1, outputShape: x.shape });
};

const leakyRelu: Handler = (ctx, node) => {
  const x = dyn(ctx, node, 0);
  emit(ctx, node, [x], { kind: 'leakyrelu', alpha: attrNum(node, 'alpha', 0.01), outputShape: x.shape });
};

const softmax: Handler = (ctx, node) => {
  const x = dyn(ctx, node, 0);
  const legacy = ctx.graph.opset < 13;
  const rank = x.shape.length + 1;
  let axis = attrNum(node, 'axis', legacy ? 1 : -1);
  if (axis < 0) axis += rank;
  // Legacy axis 0 flattens the batch in too; with the batch evaluated as 1 it is axis 1.
  if (legacy && axis === 0) axis = 1;
  if (axis < 1 || axis >= rank) throw bad(ctx, node, `attribute axis=${attrNum(node, 'axis', 0)} must name a non-batch dim`);
  const span = legacy && axis < rank - 1 ? 'trailing' : 'axis';
  emit(ctx, node, [x], { kind: 'softmax', axis: axis - 1, span, outputShape: x.shape });
};

const add: Handler = (ctx, node) => {
  const constIdx = [0, 1].find((i) => ctx.consts.has(node.inputs[i]));
  if (constIdx !== undefined) return addBias(ctx, node, constIdx);
  const a = dyn(ctx, node, 0);
  const b = dyn(ctx, node, 1);
  if (a.shape.join() !== b.shape.join()) throw bad(ctx, node, `operand shapes [${a.shape.join(',')}] and [${b.shape.join(',')}] differ; broadcasting is not supported`);
  emit(ctx, node, [a, b], { kind: 'add', outputShape: a.shape });
};

/** Add of a per-channel constant right after a conv/dense: folded into that layer's bias. */
function addBias(ctx: Ctx, node: OnnxNode, constIdx: number): void {
  const x = dyn(ctx, node, 1 - constIdx);
  const prev = ctx.byName.get(x.ref);
  const c = weight(ctx, node, constIdx);
  if (!prev || !isFoldTarget(prev) || !soleConsumer(ctx, x.ref)) {
    throw bad(ctx, node, 'Add of a constant is supported only as the bias of a directly preceding MatMul/Gemm/Conv');
  }
  const n = macOutputs(prev);
  const extra = broadcastBias(ctx, node, c, n, 1);
  const biasType = prev.bias.every((v) => v === 0) ? ctx.constTypes.get(node.inputs[constIdx]) : undefined;
  prev.bias = prev.bias.map((v, o) => v + extra[o]);
  if (prev.fixedTypes) prev.fixedTypes = { ...prev.fixedTypes, bias: biasType };
  prev.sources.push(node.name);
  ctx.values.set(node.outputs[0], x);
}

function isFoldTarget(l: Layer): l is MacLayer {
  return isMacLayer(l);
}

const batchNorm: Handler = (ctx, node) => {
  const x = dyn(ctx, node, 0);
  for (let i = 1; i < node.outputs.length; i++) requireUnused(ctx, node, i);
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => weight(ctx, node, i));
  const eps = attrNum(node, 'epsilon', 1e-5);
  const c = gamma.data.length;
  if ([beta, mean, variance].some((t) => t.data.length !== c) || x.shape[0] !== c) {
    throw bad(ctx, node, `parameters of ${c} channels do not match input shape [${x.shape.join(',')}]`);
  }
  // Computed in float64 and rounded once, so folding adds one rounding per weight at most.
  const scale = Array.from({ length: c }, (_, k) => gamma.data[k] / Math.sqrt(variance.data[k] + eps));
  const shift = scale.map((s, k) => beta.data[k] - mean.data[k] * s);
  const prev = ctx.byName.get(x.ref);
  // Folding would move quantised weights off their grid: a BN after them stays a layer.
  if (prev && isFoldTarget(prev) && prev.fixedTypes?.weight === undefined && soleConsumer(ctx, x.ref)) {
    foldBatchNorm(prev, scale, shift);
    prev.sources.push(node.name);
    ctx.values.set(node.outputs[0], x);
    return;
  }
  emit(ctx, node, [x], { kind: 'batchnorm', scale: Float32Array.from(scale), shift: Float32Array.from(shift), outputShape: x.shape });
};

/** w' = w * s[o]; b' = b * s[o] + (beta - mean * s[o]) = (b - mean) * s + beta. */
function foldBatchNorm(layer: MacLayer, scale: number[], shift: number[]): void {
  const nOut = macOutputs(layer);
  assert(scale.length === nOut, 'batchnorm channels match the layer outputs');
  const w = layer.weights;
  if (layer.kind === 'dense') {
    for (let i = 0; i < layer.nIn; i++) for (let o = 0; o < nOut; o++) w[i * nOut + o] = w[i * nOut + o] * scale[o];
  } else {
    const per = w.length / nOut;
    for (let o = 0; o < nOut; o++) for (let k = 0; k < per; k++) w[o * per + k] = w[o * per + k] * scale[o];
  }
  layer.bias = Float32Array.from(layer.bias, (b, o) => b * scale[o] + shift[o]);
}

/**
 * Pad: only the no-op form, which torch.onnx.export writes in front of every AveragePool
 * (nn.AvgPool2d: `Pad` of constant zeros, here all 0, then the pool). Constant mode, value 0,
 * pads constant (input 1 from opset 11, else the attribute) and all zero: an alias.
 */
const pad: Handler = (ctx, node) => {
  const x = dyn(ctx, node, 0);
  const mode = String(attr(node, 'mode') ?? 'constant');
  const padsT = node.inputs[1] ? ctx.consts.get(node.inputs[1]) : undefined;
  if (node.inputs[1] && !padsT) throw bad(ctx, node, `pads input "${node.inputs[1]}" is not a constant`);
  const pads = padsT ? Array.from(padsT.data as ArrayLike<number>, Number) : attrInts(node, 'pads', []);
  const valueT = node.inputs[2] ? ctx.consts.get(node.inputs[2]) : undefined;
  const value = valueT ? Number((valueT.data as ArrayLike<number>)[0] ?? 0) : attrNum(node, 'value', 0);
  if (mode !== 'constant' || value !== 0 || (node.inputs[2] && !valueT) || node.inputs[3] || pads.some((p) => p !== 0)) {
    throw bad(ctx, node, `mode=${mode}, value ${value}, pads [${pads.join(',')}]: only a Pad of all-zero pads (a no-op, as ` +
      'torch.onnx.export writes before AveragePool) is supported; put non-zero padding on the Conv or pool itself');
  }
  alias(ctx, node);
};

const dropout: Handler = (ctx, node) => {
  requireUnused(ctx, node, 1);
  alias(ctx, node);
};

const HANDLERS: Record<string, Handler> = {
  Gemm: gemm,
  MatMul: matmul,
  Conv: conv,
  MaxPool: pool,
  AveragePool: pool,
  GlobalAveragePool: globalAvgPool,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Relu: activation('relu'),
  Sigmoid: activation('sigmoid'),
  Tanh: activation('tanh'),
  LeakyRelu: leakyRelu,
  Elu: paramActivation('elu'),
  Selu: paramActivation('selu'),
  Softplus: paramActivation('softplus'),
  HardSigmoid: paramActivation('hardsigmoid'),
  Softmax: softmax,
  Add: add,
  BatchNormalization: batchNorm,
  Dropout: dropout,
  Pad: pad,
  Identity: (ctx, node) => alias(ctx, node),
  Unsqueeze: (ctx, node) => squeezeOnData(ctx, node, 'Unsqueeze'),
  Squeeze: (ctx, node) => squeezeOnData(ctx, node, 'Squeeze'),
};

// ---------------------------------------------------------------------------------------
// QONNX quantisers and shape ops on data

/** Records the types of a quantised weight (and bias) constant on the layer built from them. */
function setFixedTypes(ctx: Ctx, layer: Layer, weightName: string | undefined, biasName: string | undefined): void {
  const weight = weightName ? ctx.constTypes.get(weightName) : undefined;
  const bias = biasName ? ctx.constTypes.get(biasName) : undefined;
  if (weight !== undefined || bias !== undefined) layer.fixedTypes = { weight, bias };
}

/** QONNX Quant / BipolarQuant: on a constant, folded (and its type recorded); on data, a `quant` layer. */
function quantNode(ctx: Ctx, node: OnnxNode): void {
  const at = where(ctx, node);
  const qn = readQuant(node, (n) => ctx.consts.get(n), at);
  const c = ctx.consts.get(node.inputs[0] ?? '');
  if (c !== undefined) {
    const { tensor, type } = foldQuant(c, qn, node.outputs[0]!, at);
    ctx.consts.set(node.outputs[0]!, tensor);
    ctx.constTypes.set(node.outputs[0]!, type);
    return;
  }
  const x = dyn(ctx, node, 0);
  if (qn.scale.data.length !== 1) throw bad(ctx, node, `a per-channel scale (${qn.scale.data.length} values) on computed data is not supported (only on constants)`);
  quantFixedType(qn.params, at); // refuses, naming the node, what has no fixed-point type
  emit(ctx, node, [x], { kind: 'quant', quant: qn.params, outputShape: x.shape });
}

/** Unsqueeze/Squeeze on computed data: a reshape (axes from the attribute, or input 1 from opset 13). */
function squeezeOnData(ctx: Ctx, node: OnnxNode, op: 'Unsqueeze' | 'Squeeze'): void {
  const x = dyn(ctx, node, 0);
  const axesT = node.inputs[1] ? ctx.consts.get(node.inputs[1]) : undefined;
  if (node.inputs[1] && !axesT) throw bad(ctx, node, `axes input "${node.inputs[1]}" is not a constant`);
  const full = [1, ...x.shape];
  const axes = axesT ? Array.from(axesT.data as ArrayLike<number>, Number) : attrInts(node, 'axes', op === 'Squeeze' ? full.flatMap((d, i) => (d === 1 && i > 0 ? [i] : [])) : []);
  const outRank = op === 'Unsqueeze' ? full.length + axes.length : full.length;
  const norm = axes.map((a) => (a < 0 ? a + outRank : a));
  if (norm.some((a) => a <= 0 || a >= outRank)) throw bad(ctx, node, `axes [${axes.join(',')}] must name non-batch dims`);
  let out: number[];
  if (op === 'Squeeze') {
    if (norm.some((a) => full[a] !== 1)) throw bad(ctx, node, `axes [${axes.join(',')}] of [${full.join(',')}] are not all of size 1`);
    out = full.filter((_, i) => !norm.includes(i));
  } else {
    out = [];
    for (let i = 0, k = 0; i < outRank; i++) out.push(norm.includes(i) ? 1 : full[k++]!);
  }
  reshapeTo(ctx, node, x, out);
}

/** Operator types `buildIr` accepts (besides the constant-folded ones). */
export const SUPPORTED_OPS: readonly string[] = Object.keys(HANDLERS);
