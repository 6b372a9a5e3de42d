import { expect, it } from 'vitest';
import type { Backend, ModelRef } from './backend.js';

/**
 * The contract every backend passes (onnx now; sim and fpga later run the same suite).
 * `inputs` are valid model inputs; `reference` gives the expected logits for an input, from
 * an implementation other than the one under test, within `tolerance`.
 */
export function backendContract(
  name: string,
  load: () => Promise<Backend>,
  ref: ModelRef,
  inputs: () => Float32Array[],
  reference: (x: Float32Array) => Promise<Float32Array>,
  tolerance: number,
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
