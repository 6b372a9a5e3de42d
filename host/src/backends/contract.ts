import { expect, it } from 'vitest';
import type { Backend, ModelRef, OutputKind } from './backend.js';

/** How far from 1 the sum of a backend's float32 probabilities may be. */
const PROBABILITY_SUM_TOLERANCE = 1e-4;

/**
 * The contract every backend passes (onnx, sim and fpga run the same suite).
 * `inputs` are valid model inputs; `reference` gives the expected outputs for an input, from
 * an implementation other than the one under test, within `tolerance`; `outputKind` is what
 * those outputs are, as known other than from the backend (the model's graph, the firmware's
 * design).
 */
export function backendContract(
  name: string,
  load: () => Promise<Backend>,
  ref: ModelRef,
  inputs: () => Float32Array[],
  reference: (x: Float32Array) => Promise<Float32Array>,
  tolerance: number,
  outputKind: OutputKind,
): void {
  it(`${name}: info() describes the model it runs`, async () => {
    const b = await load();
    const info = b.info();
    expect(info.inputShape).toEqual([...ref.inputShape]);
    expect(info.outputs).toBe(ref.classes);
    expect(info.model).toBe(ref.path);
    expect(typeof info.precision).toBe('string');
    await b.close();
  });

  it(`${name}: predict writes logits that match the reference`, async () => {
    const b = await load();
    const y = new Float32Array(ref.classes);
    for (const x of inputs()) {
      b.predict(x, y);
      const want = await reference(x);
      for (let k = 0; k < ref.classes; k++) expect(Math.abs(y[k] - want[k])).toBeLessThanOrEqual(tolerance);
    }
    await b.close();
  });

  it(`${name}: info().outputKind says what predict writes (${outputKind})`, async () => {
    const b = await load();
    expect(b.info().outputKind).toBe(outputKind);
    const y = new Float32Array(ref.classes);
    const distributions = inputs().map((x) => {
      b.predict(x, y);
      return isDistribution(y);
    });
    // Probabilities always form a distribution over the classes; logits (for these inputs) not
    // always: a backend that says logits but writes probabilities would be softmaxed twice.
    if (outputKind === 'probabilities') expect(distributions.every(Boolean)).toBe(true);
    else expect(distributions.every(Boolean)).toBe(false);
    await b.close();
  });

  it(`${name}: predict is deterministic, stateless, and keeps no reference to the caller's buffers`, async () => {
    const b = await load();
    const [x0, x1] = inputs();
    const x = x0.slice();
    const y = new Float32Array(ref.classes);
    b.predict(x, y);
    const first = y.slice();
    // Scribble over both buffers and run another input in between.
    x.set(x1);
    y.fill(123);
    b.predict(x, y);
    const other = y.slice();
    const again = new Float32Array(ref.classes);
    b.predict(x0.slice(), again);
    expect(Array.from(again)).toEqual(Array.from(first));
    expect(Array.from(other)).not.toEqual(Array.from(first));
    await b.close();
  });

  it(`${name}: predict after close is refused`, async () => {
    const b = await load();
    await b.close();
    expect(() => b.predict(inputs()[0], new Float32Array(ref.classes))).toThrow();
  });
}

function isDistribution(y: Float32Array): boolean {
  let sum = 0;
  for (const p of y) {
    if (!(p >= 0 && p <= 1)) return false;
    sum += p;
  }
  return Math.abs(sum - 1) <= PROBABILITY_SUM_TOLERANCE;
}
