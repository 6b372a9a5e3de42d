/**
 * The ONNX models the compiler tests run against (imported only by *.test.ts): the
 * hls4ml examples under ../shared and the project's zoo students and teachers.
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const examples = resolve(repoRoot, '../shared/data/models/hls4ml-examples');

export interface ModelCase {
  readonly label: string;
  readonly path: string;
  /** Layer kinds the IR must have, in order (null: the model must fail with `failsWith`). */
  readonly kinds: string[] | null;
  readonly failsWith?: RegExp;
}

const dense = (n: number, last: string): string[] => [...Array.from({ length: n - 1 }, () => ['dense', 'relu']).flat(), 'dense', last];

export const MODEL_CASES: readonly ModelCase[] = [
  { label: 'conv1d_small_keras', path: `${examples}/conv1d_small_keras.onnx`,
    kinds: ['transpose', 'conv1d', 'relu', 'conv1d', 'relu', 'conv1d', 'relu', 'transpose', 'reshape', 'dense', 'relu', 'dense', 'softmax'] },
  { label: 'conv2d_small_keras', path: `${examples}/conv2d_small_keras.onnx`,
    kinds: ['transpose', 'conv2d', 'relu', 'transpose', 'reshape', 'dense', 'softmax'] },
  { label: 'dense_big_keras', path: `${examples}/dense_big_keras.onnx`, kinds: dense(6, 'softmax') },
  { label: 'three_layer_keras', path: `${examples}/three_layer_keras.onnx`, kinds: dense(4, 'softmax') },
  { label: 'three_layer_pytorch', path: `${examples}/three_layer_pytorch.onnx`, kinds: dense(4, 'softmax') },
  { label: 'two_layer_keras', path: `${examples}/two_layer_keras.onnx`, kinds: dense(2, 'sigmoid') },
  ...(['cells-bccd', 'cells-lymphocyte'] as const).flatMap((task) => [
    { label: `${task}/student`, path: resolve(repoRoot, `models/zoo/${task}/student.onnx`),
      kinds: ['conv2d', 'relu', 'maxpool2d', 'conv2d', 'relu', 'maxpool2d', 'reshape', 'dense'] },
    { label: `${task}/teacher`, path: resolve(repoRoot, `models/zoo/${task}/teacher.onnx`),
      kinds: [
        ...Array.from({ length: task === 'cells-bccd' ? 3 : 4 }, () => ['conv2d', 'relu', 'maxpool2d']).flat(),
        'conv2d', 'relu', 'globalavgpool', 'reshape', 'dense',
      ] },
  ]),
];
