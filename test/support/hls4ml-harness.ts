// An independent build of a compiled model for tests: a C++ harness that runs the model's
// layers through hls4ml's own templates (../shared/reference/hls4ml-nnet-utils, nnet::dense,
// nnet::relu, nnet::conv_2d_cl, nnet::pooling2d_cl) on the vendor's ap_fixed
// (../shared/reference/xilinx-ap-types), with hls4ml-style config structs derived from our IR
// and the types our compiler chose (model.json), and our generated weight headers (the
// constants). Nothing of hls/nnet is compiled in. Both references are read in place, never
// copied into the project.
//
// What is ours in the harness, and why it cannot change a bit:
// * hls4ml's io_parallel convolutions are channels-last (there is no conv_2d_cf), while our
//   IR is channels-first: the harness transposes a tensor CHW -> HWC before each conv and
//   pool and back after it, and reorders conv weights [f][c][kh][kw] -> [kh][kw][c][f]. That
//   is data movement only.
// * hls4ml's Python writes each conv layer's im2col (`fill_buffer`) into the generated
//   project; the harness writes the same function here (one output pixel per partition).
// * hls4ml sums products cast to accum_t, we sum full products into accum_t; with accum_t
//   holding every product exactly and wrapping (AP_TRN, AP_WRAP, our default <32,12> for
//   16-bit operands) both give the same bits in any order.
import type { ConvLayer, Ir, Layer, PoolLayer } from '../../hls/compiler/ir.js';
import { IR_INPUT, shapeSize } from '../../hls/compiler/ir.js';

/** Types the compiler chose, as model.json records them. */
export interface ModelJson {
  readonly input: { type: string };
  readonly layers: readonly { name: string; result?: string; weight?: string; bias?: string; accum?: string }[];
}

const IO_PARALLEL = 'static const unsigned io_type = nnet::io_parallel;';

/** Minimal `hls::stream` (hls4ml's headers include hls_stream.h; the io_parallel path never uses a stream). */
export const HLS_STREAM_STUB = `#ifndef HLS_STREAM_H
#define HLS_STREAM_H
#include <deque>
namespace hls {
template <class T> class stream {
 public:
  stream() {}
  explicit stream(const char*) {}
  T read() { T v = q_.front(); q_.pop_front(); return v; }
  void read(T& v) { v = read(); }
  void write(const T& v) { q_.push_back(v); }
  bool empty() const { return q_.empty(); }
  int size() const { return static_cast<int>(q_.size()); }
 private:
  std::deque<T> q_;
};
}  // namespace hls
#endif
`;

function typedefs(model: ModelJson): string {
  const lines = [`typedef ${model.input.type} input_t;`];
  for (const l of model.layers) {
    // A reshape has no type of its own (model.json leaves it out): run() aliases its input's.
    if (l.result !== undefined) lines.push(`typedef ${l.result} ${l.name}_result_t;`);
    for (const k of ['weight', 'bias', 'accum'] as const) if (l[k] !== undefined) lines.push(`typedef ${l[k]} ${l.name}_${k}_t;`);
  }
  return lines.join('\n');
}

function denseConfig(types: string, name: string, nIn: number, nOut: number): string {
  return `struct config_${name} : nnet::dense_config {
  static const unsigned n_in = ${nIn}, n_out = ${nOut};
  ${IO_PARALLEL}
  static const unsigned strategy = nnet::latency;
  static const unsigned reuse_factor = 1, n_zeros = 0, n_nonzeros = ${nIn * nOut}, multiplier_limit = ${nIn * nOut};
  static const bool store_weights_in_bram = false;
  typedef ${types}_accum_t accum_t;
  typedef ${types}_bias_t bias_t;
  typedef ${types}_weight_t weight_t;
  template <class data_T, class res_T, class CONFIG_T> using kernel = nnet::DenseLatency<data_T, res_T, CONFIG_T>;
  template <class x_T, class y_T> using product = nnet::product::mult<x_T, y_T>;
};`;
}

function convConfig(l: ConvLayer): string {
  const [c, h, w] = l.inputShapes[0]!;
  const [, oh, ow] = l.outputShape;
  const [kh, kw] = l.kernel;
  const nIn = kh! * kw! * c!;
  return `${denseConfig(l.name, `${l.name}_mult`, nIn, l.cOut)}
template <class data_T, typename CONFIG_T> struct fill_buffer_${l.name} {
  // im2col of one output pixel (hls4ml generates this per layer); i_in = (kh * fw + kw) * n_chan + c.
  static void fill_buffer(data_T data[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
                          data_T buffer[CONFIG_T::n_pixels][CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_chan],
                          const unsigned partition) {
    const unsigned oy = partition / CONFIG_T::out_width, ox = partition % CONFIG_T::out_width;
    for (unsigned ky = 0; ky < CONFIG_T::filt_height; ky++)
      for (unsigned kx = 0; kx < CONFIG_T::filt_width; kx++)
        for (unsigned ch = 0; ch < CONFIG_T::n_chan; ch++)
          buffer[0][(ky * CONFIG_T::filt_width + kx) * CONFIG_T::n_chan + ch] =
              data[((oy * CONFIG_T::stride_height + ky) * CONFIG_T::in_width + ox * CONFIG_T::stride_width + kx) * CONFIG_T::n_chan + ch];
  }
};
struct config_${l.name} : nnet::conv2d_config {
  static const unsigned pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  static const unsigned in_height = ${h}, in_width = ${w}, n_chan = ${c}, filt_height = ${kh}, filt_width = ${kw};
  static const unsigned kernel_size = filt_height * filt_width, n_filt = ${l.cOut};
  static const unsigned stride_height = ${l.strides[0]}, stride_width = ${l.strides[1]}, out_height = ${oh}, out_width = ${ow};
  static const unsigned dilation_height = 1, dilation_width = 1, reuse_factor = 1, n_zeros = 0;
  static const unsigned multiplier_limit = ${nIn * l.cOut}, n_pixels = 1, n_partitions = ${oh! * ow!};
  static const bool store_weights_in_bram = false;
  static const unsigned strategy = nnet::latency;
  ${IO_PARALLEL}
  typedef ${l.name}_accum_t accum_t;
  typedef ${l.name}_bias_t bias_t;
  typedef ${l.name}_weight_t weight_t;
  typedef config_${l.name}_mult mult_config;
  template <class data_T, class CONFIG_T> using fill_buffer = fill_buffer_${l.name}<data_T, CONFIG_T>;
};`;
}

function poolConfig(l: PoolLayer): string {
  const [c, h, w] = l.inputShapes[0]!;
  const [, oh, ow] = l.outputShape;
  return `struct config_${l.name} : nnet::pooling2d_config {
  static const unsigned in_height = ${h}, in_width = ${w}, n_filt = ${c}, stride_height = ${l.strides[0]}, stride_width = ${l.strides[1]};
  static const unsigned pool_height = ${l.kernel[0]}, pool_width = ${l.kernel[1]}, out_height = ${oh}, out_width = ${ow};
  static const unsigned pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  static const bool count_pad = false;
  static const nnet::Pool_Op pool_op = nnet::Max;
  static const unsigned reuse_factor = 1;
  ${IO_PARALLEL}
  typedef ${l.name}_result_t accum_t;
};`;
}

function reluConfig(l: Layer): string {
  return `struct config_${l.name} : nnet::activ_config {
  static const unsigned n_in = ${shapeSize(l.outputShape)}, table_size = 1024, reuse_factor = 1;
  ${IO_PARALLEL}
  typedef ap_fixed<18, 8> table_t;
};`;
}

/** Why a layer cannot go through this harness, or null when it can. */
function unsupported(l: Layer): string | null {
  if (l.kind === 'conv2d' || l.kind === 'maxpool2d') {
    if (l.pads.some((p) => p !== 0)) return `${l.name}: padded (hls4ml pads in a separate layer)`;
    return null;
  }
  return ['dense', 'relu', 'reshape'].includes(l.kind) ? null : `${l.name}: ${l.kind} not in this harness`;
}

/** The CHW <-> HWC copies around a channels-last template. */
const TRANSPOSE_HELPERS = `template <class T> void to_hwc(const T* x, T* y, int c, int h, int w) {
  for (int i = 0; i < c; i++) for (int p = 0; p < h * w; p++) y[p * c + i] = x[i * h * w + p];
}
template <class T> void to_chw(const T* x, T* y, int c, int h, int w) {
  for (int i = 0; i < c; i++) for (int p = 0; p < h * w; p++) y[i * h * w + p] = x[p * c + i];
}`;

function typeOf(name: string): string {
  return name === IR_INPUT ? 'input_t' : `${name}_result_t`;
}

function arrayOf(name: string): string {
  return name === IR_INPUT ? 'x' : `${name}_out`;
}

function layerCall(l: Layer): string {
  const inT = typeOf(l.inputs[0]!);
  const inA = arrayOf(l.inputs[0]!);
  const out = `static ${l.name}_result_t ${l.name}_out[${shapeSize(l.outputShape)}];`;
  switch (l.kind) {
    case 'dense':
      return `${out}\n  nnet::dense<${inT}, ${l.name}_result_t, config_${l.name}>(${inA}, ${l.name}_out, const_cast<${l.name}_weight_t*>(${l.name}_w), const_cast<${l.name}_bias_t*>(${l.name}_b));`;
    case 'relu':
      return `${out}\n  nnet::relu<${inT}, ${l.name}_result_t, config_${l.name}>(${inA}, ${l.name}_out);`;
    case 'reshape':
      return `typedef ${inT} ${l.name}_result_t;\n  ${out}\n  for (int i = 0; i < ${shapeSize(l.outputShape)}; i++) ${l.name}_out[i] = ${inA}[i];`;
    case 'conv2d':
    case 'maxpool2d': {
      const [c, h, w] = l.inputShapes[0]!;
      const [oc, oh, ow] = l.outputShape;
      const call = l.kind === 'conv2d'
        ? `nnet::conv_2d_cl<${inT}, ${l.name}_result_t, config_${l.name}>(in_cl, out_cl, ${l.name}_w_cl, const_cast<${l.name}_bias_t*>(${l.name}_b));`
        : `nnet::pooling2d_cl<${inT}, ${l.name}_result_t, config_${l.name}>(in_cl, out_cl);`;
      return `${out}\n  {\n    static ${inT} in_cl[${c! * h! * w!}];\n    static ${l.name}_result_t out_cl[${oc! * oh! * ow!}];\n` +
        `    to_hwc(${inA}, in_cl, ${c}, ${h}, ${w});\n    ${call}\n    to_chw(out_cl, ${l.name}_out, ${oc}, ${oh}, ${ow});\n  }`;
    }
    default:
      throw new Error(`hls4ml harness: ${l.name} (${l.kind}) is not supported`);
  }
}

/** Reorders each conv's weights to hls4ml's [kh][kw][c][f], once, before the first sample. */
function convWeightSetup(l: ConvLayer): string {
  const [kh, kw] = l.kernel;
  return `static ${l.name}_weight_t ${l.name}_w_cl[${l.weights.length}];
void setup_${l.name}() {
  for (int f = 0; f < ${l.cOut}; f++) for (int c = 0; c < ${l.cIn}; c++) for (int y = 0; y < ${kh}; y++) for (int x = 0; x < ${kw}; x++)
    ${l.name}_w_cl[((y * ${kw} + x) * ${l.cIn} + c) * ${l.cOut} + f] = ${l.name}_w[((f * ${l.cIn} + c) * ${kh} + y) * ${kw} + x];
}`;
}

/**
 * The harness source for `ir` (softmax already stripped) with the types of `model`. The
 * program reads samples as the generated testbench does (one line of decimals per sample,
 * converted by input_t's double constructor) and prints each output's raw bits. Throws, naming
 * each layer, when a layer has no hls4ml counterpart in this harness.
 */
export function hls4mlHarness(ir: Ir, model: ModelJson): string {
  const bad = ir.layers.map(unsupported).filter((m) => m !== null);
  if (bad.length > 0) throw new Error(`hls4ml harness: ${bad.join('; ')}`);
  const configs = ir.layers.map((l) => l.kind === 'dense' ? denseConfig(l.name, l.name, l.nIn, l.nOut)
    : l.kind === 'conv2d' ? convConfig(l) : l.kind === 'maxpool2d' ? poolConfig(l) : l.kind === 'relu' ? reluConfig(l) : '');
  const weights = ir.layers.filter((l) => l.kind === 'dense' || l.kind === 'conv2d')
    .flatMap((l) => [`#include "weights/${l.name}_w.h"`, `#include "weights/${l.name}_b.h"`]);
  const convs = ir.layers.filter((l): l is ConvLayer => l.kind === 'conv2d');
  const nIn = shapeSize(ir.inputShape);
  const nOut = shapeSize(ir.layers.find((l) => l.name === ir.output)!.outputShape);
  return `// Generated by test/support/hls4ml-harness.ts: hls4ml templates on vendor types.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <iostream>
#include "ap_fixed.h"
#include "nnet_common.h"
#include "nnet_activation.h"
#include "nnet_conv2d.h"
#include "nnet_dense.h"
#include "nnet_pooling.h"

${typedefs(model)}
${weights.join('\n')}

${configs.filter((c) => c !== '').join('\n\n')}

${TRANSPOSE_HELPERS}
${convs.map(convWeightSetup).join('\n')}

void run(input_t x[${nIn}], long long y[${nOut}]) {
  ${ir.layers.map(layerCall).join('\n  ')}
  for (int i = 0; i < ${nOut}; i++) {
    ap_int<${ir.output}_result_t::width> r;
    r.range() = ${ir.output}_out[i].range();
    y[i] = r.to_int64();
  }
}

int main() {
  ${convs.map((l) => `setup_${l.name}();`).join(' ')}
  static input_t x[${nIn}];
  long long y[${nOut}];
  std::string line;
  while (std::getline(std::cin, line)) {
    const char* p = line.c_str();
    int n = 0;
    char* end = nullptr;
    for (double v = std::strtod(p, &end); end != p; v = std::strtod(p, &end)) {
      if (n == ${nIn}) return 2;
      x[n++] = v;
      p = end;
    }
    if (n == 0) continue;
    if (n != ${nIn}) return 2;
    run(x, y);
    for (int i = 0; i < ${nOut}; i++) std::printf(i ? " %lld" : "%lld", y[i]);
    std::printf("\\n");
  }
  return 0;
}
`;
}
