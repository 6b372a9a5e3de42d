import { describe, expect, it } from 'vitest';
import { ModelError } from '../../host/src/core/errors.js';
import { buildIr } from './build-ir.js';
import { parseOnnx, readOnnx } from './onnx-reader.js';
import { runIr } from './interpret.js';
import { encodeModel, maxRelErr, normalSampler, ops2dSpec, ortRunner } from './testing.js';
import type { ModelSpec } from './testing.js';
import { MODEL_CASES } from './models.fixture.js';
import { shapeSize } from './ir.js';

const TOLERANCE = 1e-4;

describe('buildIr on the shared and zoo models', () => {
  for (const c of MODEL_CASES) {
    it(`${c.label} ${c.kinds ? 'builds' : 'fails with a ModelError'}`, () => {
      const graph = readOnnx(c.path);
      if (!c.kinds) {
        expect(() => buildIr(graph)).toThrow(c.failsWith!);
        return;
      }
      const ir = buildIr(graph);
      expect(ir.layers.map((l) => l.kind)).toEqual(c.kinds);
      expect(new Set(ir.layers.map((l) => l.name)).size).toBe(ir.layers.length);
      expect(ir.output).toBe(ir.layers[ir.layers.length - 1].name);
    });
  }

  it('infers the student shapes (batch dropped, channels first)', () => {
    const ir = buildIr(readOnnx(MODEL_CASES.find((c) => c.label === 'cells-bccd/student')!.path));
    expect(ir.inputShape).toEqual([3, 32, 32]);
    expect(ir.layers.map((l) => l.outputShape)).toEqual([
      [8, 30, 30], [8, 30, 30], [8, 15, 15], [16, 13, 13], [16, 13, 13], [16, 6, 6], [576], [3],
    ]);
    expect(ir.outputShape).toEqual([3]);
  });

  it('fuses MatMul + Add of a constant into one dense layer', () => {
    const ir = buildIr(readOnnx(MODEL_CASES.find((c) => c.label === 'two_layer_keras')!.path));
    expect(ir.layers[0]).toMatchObject({ kind: 'dense', nIn: 10, nOut: 32, sources: ['_class__keras_layers_core_Dense__', 'Add'] });
  });
});

const conv = (attrs: ModelSpec['nodes'][number]['attrs']): ModelSpec => ({
  input: { name: 'x', shape: ['N', 2, 6, 6] },
  output: { name: 'y', shape: ['N', 2, 4, 4] },
  initializers: [{ name: 'w', dims: [2, 2, 3, 3], data: new Float32Array(36).fill(0.1) }],
  nodes: [{ op: 'Conv', name: 'conv_a', inputs: ['x', 'w'], outputs: ['y'], attrs }],
});

function modelError(spec: ModelSpec, label: string): ModelError {
  try {
    buildIr(parseOnnx(encodeModel(spec), label));
  } catch (err) {
    expect(err).toBeInstanceOf(ModelError);
    return err as ModelError;
  }
  throw new Error('expected a ModelError');
}

describe('buildIr rejects what it does not support', () => {
  it('an LSTM node: names the operator, the node and the file', () => {
    const err = modelError({
      input: { name: 'x', shape: ['N', 4] },
      output: { name: 'y', shape: ['N', 4] },
      nodes: [
        { op: 'Relu', name: 'pre', inputs: ['x'], outputs: ['h'] },
        { op: 'LSTM', name: 'rnn_7', inputs: ['h', 'W', 'R'], outputs: ['y'], attrs: { hidden_size: { i: 4 } } },
      ],
    }, 'lstm.onnx');
    expect(err.code).toBe('E_MODEL');
    expect(err.message).toContain('unsupported operator LSTM at node "rnn_7" of lstm.onnx');
    expect(err.where).toBe('lstm.onnx node "rnn_7"');
  });

  it('group != 1 and dilations != 1: names the node and the attribute', () => {
    expect(modelError(conv({ group: { i: 2 } }), 'g.onnx').message).toMatch(/node "conv_a".*group=2/);
    expect(modelError(conv({ dilations: { ints: [2, 2] } }), 'd.onnx').message).toMatch(/node "conv_a".*dilations=\[2,2\]/);
  });

  it('an operator from another domain', () => {
    const err = modelError({
      input: { name: 'x', shape: ['N', 4] },
      output: { name: 'y', shape: ['N', 4] },
      nodes: [{ op: 'Relu', name: 'r', inputs: ['x'], outputs: ['y'], domain: 'com.example' }],
    }, 'dom.onnx');
    expect(err.message).toContain('unsupported operator com.example.Relu at node "r"');
  });
});

/** Conv -> BN (folds) -> Relu -> BN (stays) -> Flatten -> Gemm -> BN (folds into dense). */
function batchNormSpec(): ModelSpec {
  const rnd = normalSampler(7);
  const bn = (p: string, c: number) => [
    { name: `${p}_g`, dims: [c], data: rnd(c, 0.5).map((v) => 1 + v) },
    { name: `${p}_b`, dims: [c], data: rnd(c) },
    { name: `${p}_m`, dims: [c], data: rnd(c) },
    { name: `${p}_v`, dims: [c], data: rnd(c).map((v) => 0.5 + Math.abs(v)) },
  ];
  const bnNode = (p: string, x: string, y: string) => ({
    op: 'BatchNormalization', name: p, inputs: [x, `${p}_g`, `${p}_b`, `${p}_m`, `${p}_v`], outputs: [y], attrs: { epsilon: { f: 1e-3 } },
  });
  return {
    input: { name: 'x', shape: ['N', 3, 6, 6] },
    output: { name: 'y', shape: ['N', 5] },
    initializers: [
      { name: 'cw', dims: [4, 3, 3, 3], data: rnd(108, 0.3) },
      { name: 'cb', dims: [4], data: rnd(4) },
      { name: 'gw', dims: [5, 64], data: rnd(320, 0.2) },
      { name: 'gb', dims: [5], data: rnd(5) },
      ...bn('bn1', 4), ...bn('bn2', 4), ...bn('bn3', 5),
    ],
    nodes: [
      { op: 'Conv', name: 'conv', inputs: ['x', 'cw', 'cb'], outputs: ['c'], attrs: { kernel_shape: { ints: [3, 3] } } },
      bnNode('bn1', 'c', 'c1'),
      { op: 'Relu', name: 'relu', inputs: ['c1'], outputs: ['r'] },
      bnNode('bn2', 'r', 'r1'),
      { op: 'Flatten', name: 'flat', inputs: ['r1'], outputs: ['f'], attrs: { axis: { i: 1 } } },
      { op: 'Gemm', name: 'fc', inputs: ['f', 'gw', 'gb'], outputs: ['g'], attrs: { transB: { i: 1 } } },
      bnNode('bn3', 'g', 'y'),
    ],
  };
}

/** Shape -> Gather -> Unsqueeze -> Concat(-1) -> Reshape, as torch.flatten exports it, then MatMul. */
function constReshapeSpec(): ModelSpec {
  return {
    input: { name: 'x', shape: ['N', 2, 3, 2] },
    output: { name: 'y', shape: ['N', 4] },
    initializers: [
      { name: 'zero', dims: [], data: [0] },
      { name: 'axes', dims: [1], data: [0] },
      { name: 'w', dims: [12, 4], data: normalSampler(3)(48) },
    ],
    nodes: [
      { op: 'Shape', name: 'shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Gather', name: 'gather', inputs: ['s', 'zero'], outputs: ['b'], attrs: { axis: { i: 0 } } },
      { op: 'Unsqueeze', name: 'unsq', inputs: ['b', 'axes'], outputs: ['b1'] },
      { op: 'Constant', name: 'minus1', inputs: [], outputs: ['m'], attrs: {} },
      { op: 'Concat', name: 'cat', inputs: ['b1', 'm'], outputs: ['shp'], attrs: { axis: { i: 0 } } },
      { op: 'Reshape', name: 'reshape', inputs: ['x', 'shp'], outputs: ['f'] },
      { op: 'MatMul', name: 'mm', inputs: ['f', 'w'], outputs: ['y'] },
    ],
  };
}

describe('folding, checked against onnxruntime', () => {
  async function agree(spec: ModelSpec, label: string): Promise<ReturnType<typeof buildIr>> {
    const bytes = encodeModel(spec);
    const ir = buildIr(parseOnnx(bytes, label));
    const ort = await ortRunner(bytes);
    const draw = normalSampler(11);
    for (let i = 0; i < 20; i++) {
      const x = draw(shapeSize(ir.inputShape));
      const err = maxRelErr(runIr(ir, x), await ort(x, ir.inputShape));
      expect(err, `${label} sample ${i} (seed 11)`).toBeLessThanOrEqual(TOLERANCE);
    }
    return ir;
  }

  it('folds BatchNormalization into the conv/dense before it and keeps a lone one as a layer', async () => {
    const ir = await agree(batchNormSpec(), 'bn.onnx');
    expect(ir.layers.map((l) => l.kind)).toEqual(['conv2d', 'relu', 'batchnorm', 'reshape', 'dense']);
    expect(ir.layers[0].sources).toEqual(['conv', 'bn1']);
    expect(ir.layers[4].sources).toEqual(['fc', 'bn3']);
  });

  it('folds a Shape/Gather/Unsqueeze/Concat subgraph feeding Reshape', async () => {
    const spec = constReshapeSpec();
    const minus1 = spec.nodes.find((n) => n.name === 'minus1')!;
    minus1.attrs = { value_ints: { ints: [-1] } };
    const ir = await agree(spec, 'reshape.onnx');
    expect(ir.layers.map((l) => [l.kind, l.outputShape])).toEqual([['reshape', [12]], ['dense', [4]]]);
  });

  it('pools with and without count_include_pad, leakyrelu, tanh, sigmoid, a two-tensor Add and softmax over channels', async () => {
    const ir = await agree(ops2dSpec(21), 'ops2d.onnx');
    expect(ir.layers.map((l) => l.kind)).toEqual(['conv2d', 'avgpool2d', 'avgpool2d', 'add', 'leakyrelu', 'tanh', 'maxpool2d', 'sigmoid', 'softmax']);
    expect(ir.layers[3].inputs).toEqual(['avgpool2d_0', 'avgpool2d_1']);
  });

  it('1-D conv/pools with asymmetric pads, opset-11 softmax over trailing dims, global average pool', async () => {
    const rnd = normalSampler(22);
    const ir = await agree({
      opset: 11,
      input: { name: 'x', shape: ['N', 2, 9] },
      output: { name: 'y', shape: ['N', 4, 1] },
      initializers: [{ name: 'w', dims: [4, 2, 3], data: rnd(24, 0.5) }],
      nodes: [
        { op: 'Conv', name: 'c', inputs: ['x', 'w'], outputs: ['c'], attrs: { strides: { ints: [2] }, pads: { ints: [2, 1] } } },
        { op: 'AveragePool', name: 'ap', inputs: ['c'], outputs: ['a'], attrs: { kernel_shape: { ints: [2] }, pads: { ints: [1, 0] } } },
        { op: 'MaxPool', name: 'mp', inputs: ['a'], outputs: ['m'], attrs: { kernel_shape: { ints: [2] }, strides: { ints: [2] } } },
        // Opset < 13: softmax over the flattened [4, 2] (8 values), not along channels only.
        { op: 'Softmax', name: 'sm', inputs: ['m'], outputs: ['s'], attrs: { axis: { i: 1 } } },
        { op: 'GlobalAveragePool', name: 'gap', inputs: ['s'], outputs: ['y'] },
      ],
    }, 'ops1d.onnx');
    expect(ir.layers.map((l) => [l.kind, l.outputShape])).toEqual([
      ['conv1d', [4, 5]], ['avgpool1d', [4, 5]], ['maxpool1d', [4, 2]], ['softmax', [4, 2]], ['globalavgpool', [4, 1]],
    ]);
  });

  it('does not fold BatchNormalization (seen through an Identity) into a conv whose output has another reader', async () => {
    const rnd = normalSampler(23);
    const ir = await agree({
      input: { name: 'x', shape: ['N', 2, 5, 5] },
      output: { name: 'y', shape: ['N', 3, 3, 3] },
      initializers: [
        { name: 'w', dims: [3, 2, 3, 3], data: rnd(54, 0.5) },
        { name: 'g', dims: [3], data: Float32Array.of(2, 0.5, 1.5) }, { name: 'b', dims: [3], data: rnd(3) },
        { name: 'm', dims: [3], data: rnd(3) }, { name: 'v', dims: [3], data: Float32Array.of(1, 2, 0.5) },
      ],
      nodes: [
        { op: 'Conv', name: 'c', inputs: ['x', 'w'], outputs: ['c'] },
        { op: 'Identity', name: 'id', inputs: ['c'], outputs: ['ci'] },
        { op: 'BatchNormalization', name: 'bn', inputs: ['ci', 'g', 'b', 'm', 'v'], outputs: ['n'] },
        { op: 'Relu', name: 'r', inputs: ['c'], outputs: ['r'] },
        { op: 'Add', name: 'sum', inputs: ['n', 'r'], outputs: ['y'] },
      ],
    }, 'shared-conv.onnx');
    expect(ir.layers.map((l) => l.kind)).toEqual(['conv2d', 'batchnorm', 'relu', 'add']);
  });
});
