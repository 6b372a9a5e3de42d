// Test fixtures of the sim backend: the libraries `make firmware` builds, and model inputs
// from the bundled recordings (preprocessed as the daemon does).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readCapture } from '../capture/arrow-capture.js';
import { cardFirmwareName, FIRMWARE_DIR } from '../daemon.js';
import { readModelCard, type ModelCard } from '../model/card.js';
import { createModelPreprocessor } from '../preprocess/model-input.js';

export const REPO = resolve(import.meta.dirname, '..', '..', '..');
export const JET_ONNX = join(REPO, '..', 'shared', 'data', 'models', 'hls4ml-examples', 'three_layer_keras.onnx');
export const RECORDINGS: Record<string, string> = {
  'cells-bccd': 'sim/recordings/cells-bccd-test.arrows',
  'cells-lymphocyte': 'sim/recordings/cells-lymphocyte-1k.arrows',
};

/** The library of a firmware project built by `make firmware` (hls/build/<name>/lib<name>.so). */
export function firmwareLib(name: string): string {
  const lib = join(REPO, FIRMWARE_DIR, name, `lib${name}.so`);
  if (!existsSync(lib)) throw new Error(`${lib} is missing: run \`make firmware\` (make test does) before these tests`);
  return lib;
}

/** A zoo student's card and its library (`folder`: models/zoo/<folder>, a task or one of its sizes). */
export function zooStudent(folder: string): { card: ModelCard; onnx: string; lib: string } {
  const card = readModelCard(join(REPO, 'models', 'zoo', folder));
  return { card, onnx: join(card.dir, 'student.onnx'), lib: firmwareLib(cardFirmwareName(card, 'student')) };
}

/** The first `n` frames of a task's bundled recording as model inputs. */
export function recordingInputs(card: ModelCard, n: number): Float32Array[] {
  const cap = readCapture(join(REPO, RECORDINGS[card.task]!));
  const pre = createModelPreprocessor(card.preprocessing);
  return Array.from({ length: Math.min(n, cap.count) }, (_, i) => {
    const x = new Float32Array(pre.inputElements);
    pre.run(cap.frames, cap.offsets[i]!, x);
    return x;
  });
}
