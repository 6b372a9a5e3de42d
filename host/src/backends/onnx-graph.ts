import onnxProto from 'onnx-proto';
import { ModelError } from '../core/errors.js';
import type { OutputKind } from './backend.js';

const { onnx } = onnxProto;

/** First opset whose Softmax normalises along `axis` alone; before it, over all dims from `axis`. */
const SOFTMAX_AXIS_OPSET = 13;

/**
 * Decodes ONNX bytes far enough to read the graph (onnx-proto, the same protobuf schema
 * onnxruntime reads). Refuses, with a ModelError naming `path`, bytes that are not an ONNX
 * model.
 */
export function decodeOnnxModel(bytes: Uint8Array, path: string): onnxProto.onnx.ModelProto {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ModelError(path, `not a loadable ONNX model: ${(err as Error).message}`, { cause: err });
  }
  if (model.graph === null || model.graph === undefined) throw new ModelError(path, 'not a loadable ONNX model: it has no graph');
  return model;
}

/**
 * What the graph output `output` (of shape [N, classes]) holds: `probabilities` when a
 * Softmax node over the class axis produces it (directly or through Identity), else
 * `logits`. A Softmax over the batch axis (opset >= 13, axis 0) is refused with a
 * ModelError: its outputs are all 1, neither logits nor a distribution over the classes.
 */
export function onnxOutputKind(model: onnxProto.onnx.ModelProto, output: string, path: string): OutputKind {
  const producer = new Map<string, onnxProto.onnx.INodeProto>();
  for (const node of model.graph!.node ?? []) for (const o of node.output ?? []) producer.set(o, node);
  let node = producer.get(output);
  while (node !== undefined && isDefaultDomain(node.domain) && node.opType === 'Identity') node = producer.get(node.input?.[0] ?? '');
  if (node === undefined || !isDefaultDomain(node.domain) || node.opType !== 'Softmax') return 'logits';
  const opset = defaultOpset(model);
  const axisAttr = (node.attribute ?? []).find((a) => a.name === 'axis');
  const axis = axisAttr === undefined ? (opset >= SOFTMAX_AXIS_OPSET ? -1 : 1) : int64(axisAttr.i);
  // Before opset 13 the input is flattened to 2-D at `axis`: over [N, classes] any axis
  // normalises across the classes (N = 1 at axis 0).
  if (opset >= SOFTMAX_AXIS_OPSET && axis !== -1 && axis !== 1) {
    throw new ModelError(path, `output "${output}" is a Softmax over axis ${axis}, not over the classes (axis 1 or -1)`);
  }
  return 'probabilities';
}

/** protobufjs gives int64 as a number or a {low, high} pair (a Long); attribute and opset
 * values are small, so the pair converts exactly. */
function int64(v: number | { low: number; high: number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.high * 4294967296 + (v.low >>> 0);
}

function isDefaultDomain(domain: string | null | undefined): boolean {
  return domain === undefined || domain === null || domain === '' || domain === 'ai.onnx';
}

/** Opset of the default domain (the ONNX default when the file names none). */
function defaultOpset(model: onnxProto.onnx.ModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => isDefaultDomain(o.domain));
  return entry === undefined ? 1 : int64(entry.version);
}
