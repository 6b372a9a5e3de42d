/**
 * Float64 reference interpreter of the IR: the float ground truth against which the
 * fixed-point firmware is checked, and the source of per-layer ranges for calibration.
 * Clarity over speed: plain loops, one function per layer kind, no reuse of buffers.
 */
import { FrameShapeError } from '../../host/src/core/errors.js';
import { assert } from '../../host/src/core/assert.js';
import { IR_INPUT, shapeSize } from './ir.js';
import { quantizeValue } from './qonnx.js';
import type { ConvLayer, DepthwiseConvLayer, Ir, Layer, PoolLayer, Shape, SoftmaxLayer } from './ir.js';

/** Observed output range of one layer (or of `IR_INPUT`). */
export interface ValueRange {
  min: number;
  max: number;
}

export interface RunOptions {
  /** When given, widened in place with the output range of every layer and of the input,
   * keyed by layer name (`IR_INPUT` for the input). Pass the same map to many runs to
   * calibrate over a data set. */
  readonly ranges?: Map<string, ValueRange>;
  /** When given, filled with every layer's output (and the input under `IR_INPUT`) of this run. */
  readonly values?: Map<string, Float64Array>;
}

/**
 * Runs `ir` on one batch-less input (`input.length` must equal the input shape's size, else
 * `FrameShapeError`) in float64 and returns the output rounded to float32. The caller keeps
 * ownership of `input`; the result is a fresh array.
 */
export function runIr(ir: Ir, input: Float32Array, options: RunOptions = {}): Float32Array {
  return Float32Array.from(runIrF64(ir, input, options));
}

/** As `runIr`, but returns the float64 output unrounded. */
export function runIrF64(ir: Ir, input: ArrayLike<number>, options: RunOptions = {}): Float64Array {
  const need = shapeSize(ir.inputShape);
  if (input.length !== need) {
    throw new FrameShapeError(ir.source, `input has ${input.length} values; the model needs ${need} ([${ir.inputShape.join(',')}])`);
  }
  const values = options.values ?? new Map<string, Float64Array>();
  values.clear();
  values.set(IR_INPUT, Float64Array.from(input));
  widen(options.ranges, IR_INPUT, values.get(IR_INPUT)!);
  for (const layer of ir.layers) {
    const ins = layer.inputs.map((n) => {
      const v = values.get(n);
      assert(v !== undefined, 'layer inputs are computed before the layer (topological order)');
      return v;
    });
    const out = runLayer(layer, ins);
    assert(out.length === shapeSize(layer.outputShape), 'layer output matches its recorded shape');
    values.set(layer.name, out);
    widen(options.ranges, layer.name, out);
  }
  const result = values.get(ir.output);
  assert(result !== undefined, 'the IR output is computed');
  return result;
}

/** Runs `runIr` over each input in order; `options.ranges` accumulates over all of them. */
export function runIrBatch(ir: Ir, inputs: readonly Float32Array[], options: RunOptions = {}): Float32Array[] {
  return inputs.map((x) => runIr(ir, x, options));
}

/** Per-layer output ranges over a calibration set (convenience over `runIrBatch`). */
export function calibrateRanges(ir: Ir, inputs: readonly Float32Array[]): Map<string, ValueRange> {
  const ranges = new Map<string, ValueRange>();
  runIrBatch(ir, inputs, { ranges });
  return ranges;
}

function widen(ranges: Map<string, ValueRange> | undefined, name: string, data: Float64Array): void {
  if (!ranges) return;
  const r = ranges.get(name) ?? { min: Infinity, max: -Infinity };
  for (const v of data) {
    if (v < r.min) r.min = v;
    if (v > r.max) r.max = v;
  }
  ranges.set(name, r);
}

function runLayer(layer: Layer, ins: Float64Array[]): Float64Array {
  const x = ins[0];
  const shape = layer.inputShapes[0];
  switch (layer.kind) {
    case 'dense': {
      const out = new Float64Array(layer.nOut);
      for (let o = 0; o < layer.nOut; o++) {
        let acc = layer.bias[o];
        for (let i = 0; i < layer.nIn; i++) acc += x[i] * layer.weights[i * layer.nOut + o];
        out[o] = acc;
      }
      return out;
    }
    case 'conv1d':
    case 'conv2d':
      return conv(layer, x, shape);
    case 'dwconv2d':
      return depthwise(layer, x, shape);
    case 'maxpool1d':
    case 'maxpool2d':
    case 'avgpool1d':
    case 'avgpool2d':
      return pool(layer, x, shape);
    case 'globalavgpool': {
      const per = shapeSize(shape.slice(1));
      return Float64Array.from({ length: shape[0] }, (_, c) => {
        let s = 0;
        for (let k = 0; k < per; k++) s += x[c * per + k];
        return s / per;
      });
    }
    case 'reshape':
      return Float64Array.from(x);
    case 'transpose':
      return transpose(x, shape, layer.perm);
    case 'relu':
      return x.map((v) => (v > 0 ? v : 0));
    case 'leakyrelu':
      return x.map((v) => (v >= 0 ? v : layer.alpha * v));
    case 'sigmoid':
      return x.map((v) => 1 / (1 + Math.exp(-v)));
    case 'tanh':
      return x.map(Math.tanh);
    case 'softmax':
      return softmax(layer, x, shape);
    case 'add':
      return x.map((v, i) => v + ins[1][i]);
    case 'elu':
    case 'selu':
      return x.map((v) => (v > 0 ? layer.gamma * v : layer.gamma * layer.alpha * Math.expm1(v)));
    case 'softplus':
      return x.map((v) => (v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v))));
    case 'hardsigmoid':
      return x.map((v) => Math.max(0, Math.min(1, layer.alpha * v + layer.beta)));
    case 'quant':
      return x.map((v) => quantizeValue(v, layer.quant));
    case 'batchnorm': {
      const per = shapeSize(shape.slice(1));
      return x.map((v, i) => v * layer.scale[Math.floor(i / per)] + layer.shift[Math.floor(i / per)]);
    }
  }
}

/** Views a 1-D spatial layer as 2-D with height 1, so one loop nest serves both. */
function as2d(kernel: number[], strides: number[], pads: number[], shape: Shape) {
  if (kernel.length === 2) {
    return { kh: kernel[0], kw: kernel[1], sh: strides[0], sw: strides[1], pt: pads[0], pl: pads[1], h: shape[1], w: shape[2] };
  }
  return { kh: 1, kw: kernel[0], sh: 1, sw: strides[0], pt: 0, pl: pads[0], h: 1, w: shape[1] };
}

function conv(layer: ConvLayer, x: Float64Array, shape: Shape): Float64Array {
  const g = as2d(layer.kernel, layer.strides, layer.pads, shape);
  const oh = layer.kernel.length === 2 ? layer.outputShape[1] : 1;
  const ow = layer.outputShape[layer.outputShape.length - 1];
  const out = new Float64Array(layer.cOut * oh * ow);
  for (let co = 0; co < layer.cOut; co++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let acc = layer.bias[co];
        for (let ci = 0; ci < layer.cIn; ci++) {
          for (let ky = 0; ky < g.kh; ky++) {
            const iy = oy * g.sh + ky - g.pt;
            if (iy < 0 || iy >= g.h) continue;
            for (let kx = 0; kx < g.kw; kx++) {
              const ix = ox * g.sw + kx - g.pl;
              if (ix < 0 || ix >= g.w) continue;
              acc += x[(ci * g.h + iy) * g.w + ix] * layer.weights[((co * layer.cIn + ci) * g.kh + ky) * g.kw + kx];
            }
          }
        }
        out[(co * oh + oy) * ow + ox] = acc;
      }
    }
  }
  return out;
}

/** Depthwise: channel c of the output is channel c of the input convolved with filter c. */
function depthwise(layer: DepthwiseConvLayer, x: Float64Array, shape: Shape): Float64Array {
  const g = as2d(layer.kernel, layer.strides, layer.pads, shape);
  const [, oh, ow] = layer.outputShape as [number, number, number];
  const out = new Float64Array(layer.channels * oh * ow);
  for (let c = 0; c < layer.channels; c++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let acc = layer.bias[c];
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.sh + ky - g.pt;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.sw + kx - g.pl;
            if (ix >= 0 && ix < g.w) acc += x[(c * g.h + iy) * g.w + ix] * layer.weights[(c * g.kh + ky) * g.kw + kx];
          }
        }
        out[(c * oh + oy) * ow + ox] = acc;
      }
    }
  }
  return out;
}

function pool(layer: PoolLayer, x: Float64Array, shape: Shape): Float64Array {
  const g = as2d(layer.kernel, layer.strides, layer.pads, shape);
  const isMax = layer.kind.startsWith('max');
  const c = shape[0];
  const oh = layer.kernel.length === 2 ? layer.outputShape[1] : 1;
  const ow = layer.outputShape[layer.outputShape.length - 1];
  // Padded extent: with count_include_pad, ONNX divides by the window clipped to the
  // padded input, not to the real one.
  const rank = layer.kernel.length;
  const hPad = g.h + (rank === 2 ? layer.pads[0] + layer.pads[2] : 0);
  const wPad = g.w + (rank === 2 ? layer.pads[1] + layer.pads[3] : layer.pads[0] + layer.pads[1]);
  const out = new Float64Array(c * oh * ow);
  for (let ch = 0; ch < c; ch++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let acc = isMax ? -Infinity : 0;
        let n = 0;
        let nPadded = 0;
        for (let ky = 0; ky < g.kh; ky++) {
          for (let kx = 0; kx < g.kw; kx++) {
            const py = oy * g.sh + ky;
            const px = ox * g.sw + kx;
            if (py < hPad && px < wPad) nPadded++;
            const iy = py - g.pt;
            const ix = px - g.pl;
            if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
            const v = x[(ch * g.h + iy) * g.w + ix];
            acc = isMax ? Math.max(acc, v) : acc + v;
            n++;
          }
        }
        out[(ch * oh + oy) * ow + ox] = isMax ? acc : acc / (layer.countIncludePad ? nPadded : n);
      }
    }
  }
  return out;
}

function transpose(x: Float64Array, shape: Shape, perm: number[]): Float64Array {
  const rank = shape.length;
  const outShape = perm.map((d) => shape[d]);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= shape[d];
  }
  const out = new Float64Array(x.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d] * inStrides[perm[d]];
    out[o] = x[src];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

function softmax(layer: SoftmaxLayer, x: Float64Array, shape: Shape): Float64Array {
  const outer = shapeSize(shape.slice(0, layer.axis));
  const n = layer.span === 'axis' ? shape[layer.axis] : shapeSize(shape.slice(layer.axis));
  const inner = layer.span === 'axis' ? shapeSize(shape.slice(layer.axis + 1)) : 1;
  const out = new Float64Array(x.length);
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const at = (k: number): number => (a * n + k) * inner + b;
      let m = -Infinity;
      for (let k = 0; k < n; k++) m = Math.max(m, x[at(k)]);
      let sum = 0;
      for (let k = 0; k < n; k++) sum += Math.exp(x[at(k)] - m);
      for (let k = 0; k < n; k++) out[at(k)] = Math.exp(x[at(k)] - m) / sum;
    }
  }
  return out;
}
