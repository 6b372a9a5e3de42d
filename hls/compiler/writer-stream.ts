/**
 * The io_stream form of the top function (the io plan's `stream` part, io-plan.ts): stream word
 * types and stream configs for parameters.h, and the body that the top function runs in
 * synthesis (and in C simulation with -DHT_IO_STREAM, `make csim_tb_stream`): the input array
 * as a stream, the streamed layers (nnet_conv2d_stream.h, nnet_pooling_stream.h, relu_stream)
 * under `#pragma HLS DATAFLOW`, gathered back into the last streamed layer's array, then the
 * io_parallel layers after it as writer.ts writes them. The simulator library keeps the
 * io_parallel body: hls/nnet/stream.test.ts and writer-stream.test.ts show the two bit-exact.
 */
import type { Ir, Layer } from './ir.js';
import type { IoPlan, StreamLayerPlan } from './latency-stream.js';

export interface StreamFirmware {
  /** Word typedefs and stream configs, after the layer configs in parameters.h. */
  readonly configs: string;
  /** The top function's io_stream body up to and including the gather into `<last>_out`. */
  readonly body: string[];
  /** Layers the stream body computes (their io_parallel bodies are left out of it). */
  readonly streamed: ReadonlySet<string>;
}

const wordType = (name: string): string => `${name}_word_t`;
const resultType = (name: string): string => `${name}_result_t`;

/** Word typedef, config and call of one streamed layer reading stream `src` of words `srcWord`. */
function streamLayer(l: Layer, p: StreamLayerPlan, src: string, srcWord: string): { configs: string[]; body: string[] } {
  const n = l.name;
  const c = l.outputShape[0]!;
  const configs = [`typedef nnet::array<${resultType(n)}, ${c * p.pixelsOut}> ${wordType(n)};`];
  const decl = `  hls::stream<${wordType(n)}> s_${n}("s_${n}");`;
  if (l.kind === 'relu') {
    const words = (l.outputShape[1]! * l.outputShape[2]!) / p.pixelsIn;
    configs.push(`struct config_${n}_stream {\n  static constexpr int n_words = ${words}, word_size = ${c * p.pixelsIn}, reuse_factor = ${p.reuse};\n};`);
    return { configs, body: [decl, `  nnet::relu_stream<${srcWord}, ${wordType(n)}, config_${n}_stream>(${src}, s_${n});`] };
  }
  configs.push(`struct config_${n}_stream : config_${n} {\n  static constexpr int pixels_in = ${p.pixelsIn}, pixels_out = ${p.pixelsOut};\n};`);
  const fn = l.kind === 'conv2d' ? 'conv_2d_stream' : l.kind === 'maxpool2d' ? 'max_pool_2d_stream' : 'avg_pool_2d_stream';
  const params = l.kind === 'conv2d' ? `, ${n}_w, ${n}_b` : '';
  return { configs, body: [decl, `  nnet::${fn}<${srcWord}, ${wordType(n)}, config_${n}_stream>(${src}, s_${n}${params});`] };
}

/** The stream part of `plan` for `ir` as parameters.h text and top-function lines. */
export function streamFirmware(ir: Ir, plan: IoPlan): StreamFirmware {
  const [c0, h0, w0] = ir.inputShape as [number, number, number];
  const configs = [
    `// io_stream (the io plan): words of pixels x channels between the streamed layers (nnet_stream.h).`,
    `typedef nnet::array<input_t, ${c0 * plan.inputPixels}> input_word_t;`,
    `struct config_input_stream {\n  static constexpr int n_chan = ${c0}, n_pixels = ${h0 * w0}, pixels = ${plan.inputPixels};\n};`,
  ];
  const body = [
    '#pragma HLS DATAFLOW',
    '  hls::stream<input_word_t> s_input("s_input");',
    '  nnet::array_to_stream<input_t, input_word_t, config_input_stream>(x, s_input);',
  ];
  let src = 's_input';
  let srcWord = 'input_word_t';
  for (const p of plan.stream) {
    const l = ir.layers.find((x) => x.name === p.name)!;
    const e = streamLayer(l, p, src, srcWord);
    configs.push(...e.configs);
    body.push(...e.body);
    src = `s_${l.name}`;
    srcWord = wordType(l.name);
  }
  const lastPlan = plan.stream[plan.stream.length - 1]!;
  const last = ir.layers.find((x) => x.name === lastPlan.name)!;
  const [c, h, w] = last.outputShape as [number, number, number];
  configs.push(`struct config_${last.name}_gather {\n  static constexpr int n_chan = ${c}, n_pixels = ${h * w}, pixels = ${lastPlan.pixelsOut};\n};`);
  body.push(`  HT_LAYER_BUFFER ${resultType(last.name)} ${last.name}_out[${c * h * w}];`,
    `  nnet::stream_to_array<${srcWord}, ${resultType(last.name)}, config_${last.name}_gather>(${src}, ${last.name}_out);`);
  return { configs: configs.join('\n'), body, streamed: new Set(plan.stream.map((p) => p.name)) };
}
