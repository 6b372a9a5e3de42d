// The generated firmware's io_stream body (writer-stream.ts, what synthesis builds) against its
// io_parallel body (what the simulator library runs): the zoo's cell students compiled with the
// io plan for their latency targets, both testbenches built with g++ (`make csim_tb` and
// `make csim_tb_stream`) and run on the same 200 seeded N(0,1) inputs: the raw output bits agree
// on every sample. (hls/nnet/stream.test.ts checks the layers one by one.)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel, randomInputs } from './compile.js';
import { writeTbInputs } from './writer.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const SAMPLES = 200;

describe('io_stream firmware is bit-exact with the io_parallel firmware', () => {
  for (const [task, nIn] of [['cells-lymphocyte', 2304], ['cells-bccd', 3072]] as const) {
    it(`${task} student`, async () => {
      const name = `stream_${task.replace('-', '_')}`;
      const out = join(REPO, 'hls', 'build', `test-${name}`);
      const r = await compileModel({ model: join(REPO, 'models/zoo', task, 'student.onnx'), out, name, precision: 'default',
        strategy: 'latency', reuse: 1, clockMhz: 200, check: 0, seed: 5, task, lib: false });
      expect(r.fpga.io).toBe('stream');
      const top = readFileSync(join(r.dir, 'firmware', `${name}.cpp`), 'utf8');
      expect(top).toContain('#pragma HLS DATAFLOW');
      expect(readFileSync(join(r.dir, 'build_prj.tcl'), 'utf8')).toContain('xcu50-fsvh2104-2-e');
      const tb = writeTbInputs(r.dir, randomInputs(SAMPLES, nIn, 11), nIn);
      execFileSync('make', ['-s', '-C', r.dir, 'csim_tb', 'csim_tb_stream'], { stdio: 'pipe' });
      const run = (bin: string): string[] => {
        const raw = join(r.dir, 'tb_data', `${bin}_raw.dat`);
        execFileSync(join(r.dir, bin), [tb, raw, join(r.dir, 'tb_data', `${bin}_float.log`)], { stdio: 'pipe' });
        return readFileSync(raw, 'utf8').trim().split('\n');
      };
      const parallel = run('csim_tb');
      const stream = run('csim_tb_stream');
      expect(parallel).toHaveLength(SAMPLES);
      expect(stream).toEqual(parallel);
      expect(new Set(parallel).size).toBeGreaterThan(SAMPLES / 2); // outputs vary, so agreeing means something
    }, 300_000);
  }
});
