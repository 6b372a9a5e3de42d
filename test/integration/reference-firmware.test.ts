// The generated firmware against two independent references, both read in place from
// ../shared/reference (never copied into the project):
//  (a) the generated project (hls/build/<name>, from `make firmware`) built with g++ against
//      the vendor's ap_fixed headers (its Makefile's csim_tb_vendor: -DHT_USE_VENDOR_AP, so
//      nnet_types.h swaps ht::ap_fixed for the vendor type and the fast paths drop out) gives
//      the simulator library's raw outputs;
//  (b) a harness running hls4ml's own layer templates on vendor types, with config structs
//      derived from our IR and types and our weight headers (test/support/hls4ml-harness.ts),
//      gives the same raw outputs bit for bit.
// On the jet tagger (16-64-32-32-5 dense) and the BCCD conv student (conv 3x3, relu, max pool 2,
// twice, then dense). Compiles take tens of seconds on a loaded machine: the vendor testbench
// stays in the project (make rebuilds it when the project changes), the harnesses in one temp
// dir per run of this file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildIr } from '../../hls/compiler/build-ir.js';
import { parseOnnx } from '../../hls/compiler/onnx-reader.js';
import { exactLiteral, stripTrailingSoftmax } from '../../hls/compiler/writer.js';
import { createRng } from '../../host/src/core/rng.js';
import { firmwareLib, JET_ONNX, recordingInputs, REPO, zooStudent } from '../../host/src/backends/sim.fixture.js';
import { loadSimModel } from '../../host/src/native/addon.js';
import { HLS_STREAM_STUB, hls4mlHarness, type ModelJson } from '../support/hls4ml-harness.js';

const REFERENCE = resolve(REPO, '..', 'shared', 'reference');
const VENDOR_INCLUDE = join(REFERENCE, 'xilinx-ap-types', 'include');
const HLS4ML_INCLUDE = join(REFERENCE, 'hls4ml-nnet-utils');
const SAMPLES = 300;
const BUILD_TIMEOUT_MS = 300_000;
const tmp = mkdtempSync(join(tmpdir(), 'ht-reference-fw-'));

// -DNDEBUG: without it a debug assertion in the vendor's ap_private.h misfires (reference README).
const VENDOR_FLAGS = ['-std=c++17', '-O1', '-DNDEBUG', '-I', VENDOR_INCLUDE];

interface Case {
  name: string;
  onnx: string;
  inputs: () => Float32Array[];
}

const CASES: Case[] = [
  {
    name: 'jets_hls4ml_student',
    onnx: JET_ONNX,
    inputs: () => {
      // N(0, 3^2) (so outputs saturate and accumulators see large sums), plus values far out of
      // range and exact LSB boundaries.
      const rng = createRng(7);
      const xs = Array.from({ length: SAMPLES - 2 }, () => Float32Array.from({ length: 16 }, () => rng.normal() * 3));
      xs.push(Float32Array.from({ length: 16 }, (_, i) => (i % 2 ? 1 : -1) * (40 + i * 7.3)));
      xs.push(Float32Array.from({ length: 16 }, (_, i) => (i - 8) / 1024));
      return xs;
    },
  },
  { name: 'cells_bccd_student', onnx: zooStudent('cells-bccd').onnx, inputs: () => recordingInputs(zooStudent('cells-bccd').card, SAMPLES) },
];

function writeInputs(name: string, xs: Float32Array[]): string {
  const file = join(tmp, `${name}.in`);
  writeFileSync(file, xs.map((x) => Array.from(x, (v) => exactLiteral(v, 'input')).join(' ')).join('\n') + '\n');
  return file;
}

function parseRaw(text: string): number[][] {
  return text.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
}

/** The simulator library's raw outputs (the daemon's sim backend), through its float entry point. */
function libraryRaw(name: string, xs: Float32Array[]): number[][] {
  const m = loadSimModel(firmwareLib(name));
  const info = m.info();
  const scale = 2 ** (info.outWidth - info.outInt);
  const y = new Float32Array(info.nOut);
  const out = xs.map((x) => {
    m.predict(x, y);
    return Array.from(y, (v) => v * scale);
  });
  m.close();
  return out;
}

for (const c of CASES) {
  describe(`${c.name}: bit-exact with the vendor ap_fixed and with hls4ml's templates`, () => {
    let project = '';
    let xs: Float32Array[] = [];
    let input = '';
    let want: number[][] = [];
    beforeAll(() => {
      project = dirname(firmwareLib(c.name));
      xs = c.inputs();
      input = writeInputs(c.name, xs);
      want = libraryRaw(c.name, xs);
    });

    it('(a) the generated project built against the vendor headers', () => {
      // The project's own switch (bridge.ts's Makefile); make rebuilds it only when the project changed.
      execFileSync('make', ['-s', '-C', project, 'csim_tb_vendor', `AP_INCLUDE=${VENDOR_INCLUDE}`], { stdio: 'pipe' });
      execFileSync(join(project, 'csim_tb_vendor'), [input, join(tmp, `${c.name}_vendor.raw`), join(tmp, `${c.name}_vendor.float`)], { stdio: 'pipe' });
      const got = parseRaw(readFileSync(join(tmp, `${c.name}_vendor.raw`), 'utf8'));
      expect(got.length).toBe(xs.length);
      expect(got).toEqual(want);
      // Not vacuous: the outputs vary across samples.
      expect(new Set(got.map((r) => r.join())).size).toBeGreaterThan(xs.length / 4);
    }, BUILD_TIMEOUT_MS);

    it('(b) hls4ml nnet templates on vendor types, configs and weights from our project', () => {
      const { ir } = stripTrailingSoftmax(buildIr(parseOnnx(readFileSync(c.onnx), c.onnx)));
      const model = JSON.parse(readFileSync(join(project, 'model.json'), 'utf8')) as ModelJson;
      const dir = mkdtempSync(join(tmp, `${c.name}-hls4ml-`));
      writeFileSync(join(dir, 'hls_stream.h'), HLS_STREAM_STUB);
      writeFileSync(join(dir, 'harness.cc'), hls4mlHarness(ir, model));
      const exe = join(dir, 'harness');
      // -I dir first (hls_stream.h), then hls4ml's headers; firmware/ only for weights/*.h (our
      // own templates sit in firmware/nnet/, which is not on the path).
      execFileSync('g++', [...VENDOR_FLAGS, '-I', dir, '-I', HLS4ML_INCLUDE, '-I', join(project, 'firmware'),
        '-Wno-return-type', '-o', exe, join(dir, 'harness.cc')], { stdio: 'pipe' });
      const got = parseRaw(execFileSync(exe, { input: readFileSync(input), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
      expect(got.length).toBe(xs.length);
      expect(got).toEqual(want);
    }, BUILD_TIMEOUT_MS);
  });
}
