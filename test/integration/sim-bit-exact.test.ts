// The simulator library the daemon runs and the C testbench of the same generated project
// (hls/build/<name>/, built by `make firmware`) compute the same bits: same inputs, identical
// raw outputs, through both the float and the raw fixed-point entry points of the addon. The
// testbench is built twice: as the library is (csim_tb), and with the layers' CPU fast paths
// off (csim_tb_generic: the template code exactly as Vitis reads it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFixedType } from '../../hls/compiler/precision.js';
import { exactLiteral } from '../../hls/compiler/writer.js';
import { createRng } from '../../host/src/core/rng.js';
import { firmwareLib, recordingInputs, zooStudent } from '../../host/src/backends/sim.fixture.js';
import { loadSimModel } from '../../host/src/native/addon.js';

const SAMPLES = 200;

function inputsFor(name: string): Float32Array[] {
  if (name === 'jets_hls4ml_student') {
    // Standard normals, plus values far outside ap_fixed<16,6>'s range (wrap-around) and on
    // exact LSB boundaries, where a conversion that rounds differently would show.
    const rng = createRng(99);
    const xs = Array.from({ length: SAMPLES - 2 }, () => Float32Array.from({ length: 16 }, () => rng.normal() * 3));
    xs.push(Float32Array.from({ length: 16 }, (_, i) => (i % 2 ? 1 : -1) * (40 + i * 7.3)));
    xs.push(Float32Array.from({ length: 16 }, (_, i) => (i - 8) / 1024));
    return xs;
  }
  const task = name === 'cells_bccd_student' ? 'cells-bccd' : 'cells-lymphocyte';
  return recordingInputs(zooStudent(task).card, SAMPLES);
}

for (const name of ['jets_hls4ml_student', 'cells_bccd_student', 'cells_lymphocyte_student']) {
  describe(`${name}: C testbench and addon agree bit for bit`, () => {
    it(`${SAMPLES} inputs through predict and predictRaw`, () => {
      const lib = firmwareLib(name);
      const dir = dirname(lib);
      execFileSync('make', ['-s', '-C', dir, 'csim_tb', 'csim_tb_generic'], { stdio: 'pipe' });
      const xs = inputsFor(name);
      const tmp = mkdtempSync(join(tmpdir(), 'ht-bitexact-'));
      writeFileSync(join(tmp, 'in.dat'), xs.map((x) => Array.from(x, (v) => exactLiteral(v, 'input')).join(' ')).join('\n') + '\n');
      const runTb = (bin: string): number[][] => {
        execFileSync(join(dir, bin), [join(tmp, 'in.dat'), join(tmp, `${bin}.raw`), join(tmp, `${bin}.float`)], { cwd: dir, stdio: 'pipe' });
        return readFileSync(join(tmp, `${bin}.raw`), 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
      };
      const tbRaw = runTb('csim_tb');
      expect(tbRaw.length).toBe(xs.length);
      expect(runTb('csim_tb_generic')).toEqual(tbRaw);

      const m = loadSimModel(lib);
      const info = m.info();
      const inType = parseFixedType((JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { input: { type: string } }).input.type, 'model.json');
      expect(inType.rounding).toBe('AP_TRN');
      expect(['AP_SAT', 'AP_WRAP']).toContain(inType.saturation);
      const outScale = 2 ** (info.outWidth - info.outInt);
      const inFrac = info.inWidth - info.inInt;
      const y = new Float32Array(info.nOut);
      const xr = new Int32Array(info.nIn);
      const yr = new Int32Array(info.nOut);
      let mismatches = 0;
      for (let s = 0; s < xs.length; s++) {
        m.predict(xs[s]!, y);
        const viaFloat = Array.from(y, (v) => v * outScale);
        // The input type (AP_TRN; AP_SAT or AP_WRAP, from model.json): raw = floor(x * 2^F),
        // clamped to W bits or wrapped modulo 2^W.
        for (let i = 0; i < info.nIn; i++) {
          const q = Math.floor(xs[s]![i]! * 2 ** inFrac);
          xr[i] = inType.saturation === 'AP_SAT' ? Math.min(Math.max(q, -(2 ** (info.inWidth - 1))), 2 ** (info.inWidth - 1) - 1)
            : (q << (32 - info.inWidth)) >> (32 - info.inWidth);
        }
        m.predictRaw(xr, yr);
        if (viaFloat.join() !== tbRaw[s]!.join() || Array.from(yr).join() !== tbRaw[s]!.join()) mismatches++;
      }
      m.close();
      expect(mismatches).toBe(0);
      // Not a vacuous match: the outputs vary across samples.
      expect(new Set(tbRaw.map((r) => r.join())).size).toBeGreaterThan(xs.length / 4);
    });
  });
}

describe('addon argument checks', () => {
  it('refuses wrong lengths and types with the expected sizes in the message, and use after close', () => {
    const m = loadSimModel(firmwareLib('jets_hls4ml_student'));
    expect(() => m.predict(new Float32Array(15), new Float32Array(5))).toThrow(/x length 15, the model needs 16/);
    expect(() => m.predict(new Float32Array(16), new Float32Array(4))).toThrow(/y length 4, the model writes 5/);
    expect(() => m.predict(new Float64Array(16) as unknown as Float32Array, new Float32Array(5))).toThrow(TypeError);
    expect(() => m.predictBatch(new Float32Array(32), new Float32Array(10), 3)).toThrow(/n \* nIn is 48/);
    expect(() => m.predictRaw(new Int32Array(16), new Int32Array(3))).toThrow(/y length 3/);
    expect(() => m.run()).toThrow(/no buffers bound/);
    const x = new Float32Array(32).map((_, i) => (i % 7) - 3);
    const batch = new Float32Array(10);
    m.predictBatch(x, batch, 2);
    const one = new Float32Array(5);
    m.predict(x.subarray(16), one);
    expect(Array.from(batch.subarray(5))).toEqual(Array.from(one));
    m.close();
    expect(() => m.predict(new Float32Array(16), new Float32Array(5))).toThrow(/after close/);
  });
});
