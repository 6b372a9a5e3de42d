import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../host/src/core/errors.js';
import { compileModel } from './compile.js';

const REPO = resolve(import.meta.dirname, '..', '..');

describe('compileModel (hairtrigger compile)', () => {
  it('writes the project, models its latency and checks the C simulation against float ONNX', async () => {
    const out = join(REPO, 'hls', 'build', 'test-compile-bccd');
    const r = await compileModel({ model: join(REPO, 'models/zoo/cells-bccd/student.onnx'), out, name: 'cells_bccd', precision: 'default', strategy: 'latency', reuse: 1, clockMhz: 200, check: 100, seed: 3 });
    for (const f of ['firmware/cells_bccd.cpp', 'firmware/parameters.h', 'build_prj.tcl', 'tb/cells_bccd_test.cpp', 'model.json']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(r.check!.n).toBe(100);
    expect(r.check!.agreementTop1).toBeGreaterThanOrEqual(0.99);
    expect(r.check!.maxAbsError).toBeLessThan(0.05);
    expect(r.fpga.latencyCycles).toBeGreaterThan(0);
    expect(r.fpga.clockMhz).toBe(200);
  });

  it('compares probabilities for a model that ends in softmax (the jet tagger)', async () => {
    const model = resolve(REPO, '..', 'shared', 'data', 'models', 'hls4ml-examples', 'three_layer_keras.onnx');
    const r = await compileModel({ model, out: join(REPO, 'hls', 'build', 'test-compile-jet'), name: 'jet', precision: 'auto', strategy: 'latency', reuse: 1, clockMhz: 200, check: 300, seed: 5 });
    expect(r.postprocess).toBe('softmax');
    expect(r.check!.agreementTop1).toBeGreaterThanOrEqual(0.99);
    expect(r.check!.maxAbsError).toBeLessThan(0.02);
  });

  it('refuses a precision it cannot read, naming the option', async () => {
    await expect(compileModel({ model: join(REPO, 'models/zoo/cells-bccd/student.onnx'), out: join(REPO, 'hls', 'build', 'test-compile-bad'), name: 'x', precision: 'float16', strategy: 'latency', reuse: 1, clockMhz: 200, check: 0, seed: 1 })).rejects.toThrow(ConfigError);
  });
});
