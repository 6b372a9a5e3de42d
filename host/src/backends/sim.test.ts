import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { ModelError } from '../core/errors.js';
import { backendContract } from './contract.js';
import { loadSimBackend } from './sim.js';
import { firmwareLib, JET_ONNX, recordingInputs, REPO, zooStudent } from './sim.fixture.js';

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Float ONNX on one input: the reference the fixed-point firmware is held to. */
function onnxReference(path: string, dims: readonly number[]): (x: Float32Array) => Promise<Float32Array> {
  let session: ort.InferenceSession | null = null;
  afterAll(async () => session?.release());
  return async (x) => {
    session ??= await ort.InferenceSession.create(path, { logSeverityLevel: 3 });
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, ...dims]) });
    return out[session.outputNames[0]!]!.data as Float32Array;
  };
}

// Tolerances: ap_fixed<16,6> logits of these students on their own data differ from float
// by at most ~0.02 (the cards' maxAbsLogitError); 0.1 leaves room and still catches a wrong
// model, layout or scale.
for (const task of ['cells-bccd', 'cells-lymphocyte']) {
  describe(`sim backend on the ${task} student`, () => {
    const { card, onnx, lib } = zooStudent(task);
    const ref = { path: lib, inputShape: card.inputShape, classes: card.labels.length, params: card.params.student, sourceSha256: sha256(onnx) };
    // The firmware stops at the logits (these students end in a dense layer).
    backendContract('sim', async () => loadSimBackend(ref), ref, () => recordingInputs(card, 8), onnxReference(onnx, card.inputShape), 0.1, 'logits');
  });
}

describe('sim backend on the jet tagger (16 features -> 5 logits)', () => {
  const lib = firmwareLib('jets_hls4ml_student');
  const ref = { path: lib, inputShape: [16], classes: 5, sourceSha256: sha256(JET_ONNX) };
  const inputs = () => {
    const rng = createRng(5);
    return Array.from({ length: 8 }, () => Float32Array.from({ length: 16 }, () => rng.normal()));
  };
  // The ONNX model ends in softmax, which the firmware leaves to the host: compare logits
  // through softmax, as the daemon's policy does.
  const probs = onnxReference(JET_ONNX, [16]);
  const softmaxOf = (y: Float32Array): Float32Array => {
    const m = Math.max(...y);
    const e = Array.from(y, (v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return Float32Array.from(e, (v) => v / s);
  };
  it('reports the host-side softmax and the modelled latency', () => {
    const b = loadSimBackend(ref);
    expect(b.info()).toMatchObject({ kind: 'sim', outputs: 5, outputKind: 'logits', precision: 'ap_fixed<16,6,AP_TRN,AP_SAT>' });
    expect(b.info().modelledCycles).toBeGreaterThan(0);
    void b.close();
  });
  it('softmax of its logits matches float ONNX within 0.02', async () => {
    const b = loadSimBackend(ref);
    const y = new Float32Array(5);
    for (const x of inputs()) {
      b.predict(x, y);
      const want = await probs(x);
      const got = softmaxOf(y);
      for (let k = 0; k < 5; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThan(0.02);
    }
    await b.close();
  });
});

describe('sim backend refuses libraries that do not fit, naming the file and the reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ht-sim-'));
  const gxx = (name: string, src: string): string => {
    writeFileSync(join(dir, `${name}.c`), src);
    execFileSync('gcc', ['-shared', '-fPIC', '-o', join(dir, `${name}.so`), join(dir, `${name}.c`)]);
    return join(dir, `${name}.so`);
  };
  const base = { inputShape: [16], classes: 5 };

  it('a missing file: not_found', () => {
    expect(() => loadSimBackend({ ...base, path: join(dir, 'nope.so') })).toThrow(/nope\.so: model library refused \(not_found\)/);
  });
  it('a file that is not a shared object: dlopen', () => {
    writeFileSync(join(dir, 'text.so'), 'not an ELF file\n');
    expect(() => loadSimBackend({ ...base, path: join(dir, 'text.so') })).toThrow(/text\.so: model library refused \(dlopen\): .*cannot load: .*(file too short|invalid ELF header)/);
  });
  it('a shared object without the ABI: symbol', () => {
    const so = gxx('plain', 'int answer(void) { return 42; }\n');
    expect(() => loadSimBackend({ ...base, path: so })).toThrow(/refused \(symbol\).*missing symbol ht_model_abi_version/);
  });
  it('another ABI version: abi', () => {
    const so = gxx('v99', 'unsigned ht_model_abi_version(void) { return 99; }\n');
    expect(() => loadSimBackend({ ...base, path: so })).toThrow(/refused \(abi\).*model ABI version 99, this host speaks 2/);
  });
  it('a missing predict function after a good version: symbol', () => {
    const so = gxx('half', 'unsigned ht_model_abi_version(void) { return 2; }\nconst void* ht_model_get_info(void) { return 0; }\n');
    expect(() => loadSimBackend({ ...base, path: so })).toThrow(/refused \(symbol\).*missing symbol ht_model_predict_f32/);
  });
  it('a library of ABI 1 (no pixel entry): symbol ht_model_predict_u8', () => {
    const so = gxx('v1', ['unsigned ht_model_abi_version(void) { return 2; }', 'const void* ht_model_get_info(void) { return 0; }',
      ...['f32', 'f32_batch', 'raw'].map((k) => `int ht_model_predict_${k}(void) { return 0; }`)].join('\n') + '\n');
    expect(() => loadSimBackend({ ...base, path: so })).toThrow(/refused \(symbol\).*missing symbol ht_model_predict_u8/);
  });
  it('a library without pixels takes no frames as bytes', async () => {
    const b = loadSimBackend({ path: firmwareLib('jets_hls4ml_student'), inputShape: [16], classes: 5 });
    expect(b.pixelBytes).toBeUndefined();
    await b.close();
    const { loadSimModel } = await import('../native/addon.js');
    const m = loadSimModel(firmwareLib('jets_hls4ml_student'));
    expect(m.info().nPx).toBe(0);
    expect(() => m.bindPixels(new Uint8Array(16), new Float32Array(5))).toThrow(/takes no pixels/);
    m.close();
  });
  it('sizes that differ from the pipeline', () => {
    const lib = firmwareLib('jets_hls4ml_student');
    expect(() => loadSimBackend({ path: lib, inputShape: [3, 32, 32], classes: 5 })).toThrow(/takes 16 inputs; the pipeline feeds \[3, 32, 32\] = 3072/);
    expect(() => loadSimBackend({ path: lib, inputShape: [16], classes: 3 })).toThrow(/writes 5 outputs; the pipeline expects 3 classes/);
  });
  it('a library compiled from another ONNX file', () => {
    const lib = firmwareLib('jets_hls4ml_student');
    expect(() => loadSimBackend({ path: lib, inputShape: [16], classes: 5, sourceSha256: '0'.repeat(64) })).toThrow(ModelError);
    expect(() => loadSimBackend({ path: lib, inputShape: [16], classes: 5, sourceSha256: '0'.repeat(64) })).toThrow(/compiled from ONNX .*rebuild it/);
  });
  it('a library that asks for a postprocess the host does not apply', () => {
    const abi = join(REPO, 'hls', 'abi');
    const src = `#include "ht_model_abi.h"
static const ht_model_info info = { HT_MODEL_ABI_VERSION, 16, 5, 16, 6, 16, 6, 1, 1, 1, 200.0, "odd", "${'0'.repeat(64)}", "ap_fixed<16,6>", "sigmoid", 0 };
uint32_t ht_model_abi_version(void) { return HT_MODEL_ABI_VERSION; }
const ht_model_info* ht_model_get_info(void) { return &info; }
int32_t ht_model_predict_f32(const float* x, float* y) { (void)x; (void)y; return 0; }
int32_t ht_model_predict_f32_batch(const float* x, float* y, uint32_t n) { (void)x; (void)y; (void)n; return 0; }
int32_t ht_model_predict_raw(const int32_t* x, int32_t* y) { (void)x; (void)y; return 0; }
int32_t ht_model_predict_u8(const uint8_t* px, float* y) { (void)px; (void)y; return HT_MODEL_E_NO_PIXELS; }
`;
    writeFileSync(join(dir, 'odd.c'), src);
    execFileSync('gcc', ['-shared', '-fPIC', `-I${abi}`, '-o', join(dir, 'odd.so'), join(dir, 'odd.c')]);
    expect(() => loadSimBackend({ ...base, path: join(dir, 'odd.so') })).toThrow(ModelError);
    expect(() => loadSimBackend({ ...base, path: join(dir, 'odd.so') })).toThrow(/odd\.so: library odd asks the host for postprocess "sigmoid"/);
  });
});
