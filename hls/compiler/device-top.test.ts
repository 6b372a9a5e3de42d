import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileModel } from './compile.js';
import { createRng } from '../../host/src/core/rng.js';
import { REG, type RegisterMap } from './regmap.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const JET_ONNX = resolve(ROOT, '..', 'shared', 'data', 'models', 'hls4ml-examples', 'three_layer_keras.onnx');
const VENDOR_INCLUDE = resolve(ROOT, '..', 'shared', 'reference', 'xilinx-ap-types', 'include');
const SEED = 20261207;
// g++ on the generated firmware takes minutes on a loaded 2-core machine.
const BUILD_MS = 1_500_000;

/** Compiles the jet tagger with `precision`, C-simulates the network on `check` inputs (tb_data/csim_raw.dat). */
async function project(name: string, precision: string): Promise<{ dir: string; map: RegisterMap }> {
  const out = join(mkdtempSync(join(tmpdir(), 'ht-devtop-')), name);
  await compileModel({ model: JET_ONNX, out, name, precision, strategy: 'latency', reuse: 1, clockMhz: 200, check: 40, seed: SEED, lib: false });
  return { dir: out, map: JSON.parse(readFileSync(join(out, 'regmap.json'), 'utf8')) as RegisterMap };
}

let jetProject: Promise<{ dir: string; map: RegisterMap }> | null = null;
/** The 16-bit project, compiled once for the tests that only read or build it. */
function jet(): Promise<{ dir: string; map: RegisterMap }> {
  jetProject ??= project('jet', 'ap_fixed<16,6>');
  return jetProject;
}

/** Builds a make target of the project and runs the binary it names; its exit status and output. */
function buildAndRun(dir: string, target: string, extra: string[] = []): { status: number | null; out: string } {
  execFileSync('make', ['-s', '-C', dir, target, ...extra], { stdio: 'pipe' });
  const r = spawnSync(join(dir, target), [], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe(`the generated device top (jet tagger, seed ${SEED})`, () => {
  it('pins every register and window of the s_axilite bundle at the offset regmap.ts computes', async () => {
    const { dir, map } = await jet();
    const cpp = readFileSync(join(dir, 'firmware', 'jet_device.cpp'), 'utf8');
    const pinned = new Map([...cpp.matchAll(/#pragma HLS INTERFACE s_axilite port=(\w+) bundle=control offset=0x([0-9a-f]+)/g)].map((m) => [m[1]!, parseInt(m[2]!, 16)]));
    const windows: Record<string, number> = { in_win: map.inOffset, out_win: map.outOffset, thresh: map.threshOffset, fifo: map.fifoOffset };
    for (const [port, offset] of pinned) expect(offset, port).toBe(windows[port] ?? REG[port.toUpperCase() as keyof typeof REG]);
    // Everything but the handshake's block and what the tool keeps (CTRL..ISR, CYCLE) is a port of the kernel.
    const kernelRegs = Object.keys(REG).filter((k) => !['CTRL', 'GIE', 'IER', 'ISR', 'CYCLE_LO', 'CYCLE_HI'].includes(k));
    expect([...pinned.keys()].filter((p) => !(p in windows)).map((p) => p.toUpperCase()).sort()).toEqual(kernelRegs.sort());
    expect(cpp).toContain('#pragma HLS INTERFACE s_axilite port=return bundle=control');
    expect(cpp).toContain('#pragma HLS INTERFACE axis port=sensor_in');
    expect(cpp).toContain('#pragma HLS INTERFACE axis port=trigger_out');
    expect(cpp).toMatch(/^void jet_device\(/m);
  }, BUILD_MS);

  it('device_prj.tcl is complete Tcl that synthesises jet_device on the model\'s part and clock, and exports xo and ip_catalog', async () => {
    const { dir } = await jet();
    const model = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { part: string };
    // Stand-ins for the Vitis commands, each recording its call, then the script itself.
    const harness = join(dir, 'harness.tcl');
    writeFileSync(harness, `
foreach cmd {open_project set_top add_files open_solution set_part create_clock config_rtl csim_design csynth_design cosim_design export_design} {
  proc $cmd args "puts \\"$cmd \\$args\\""
}
proc exit args {}
set f [open device_prj.tcl]; set text [read $f]; close $f
puts "complete [info complete $text]"
eval $text
puts "part $part"
puts "period $clock_period_ns"
`);
    const log = execFileSync('tclsh', [harness], { cwd: dir, encoding: 'utf8' }).split('\n');
    expect(log).toContain('complete 1');
    expect(log).toContain('set_top jet_device');
    expect(log).toContain(`part ${model.part}`);
    expect(log).toContain('period 5');
    for (const f of ['firmware/jet.cpp', 'firmware/jet_device.cpp', 'tb/jet_device_tb.cpp']) {
      expect(log.some((l) => l.startsWith(`add_files ${f === 'tb/jet_device_tb.cpp' ? '-tb ' : ''}${f}`)), f).toBe(true);
      expect(() => readFileSync(join(dir, f)), f).not.toThrow();
    }
    for (const step of ['csim_design', 'csynth_design', 'cosim_design']) expect(log).toContain(`${step} `);
    expect(log).toContain('export_design -format xo -output jet_device.xo');
    expect(log).toContain('export_design -format ip_catalog');
  }, BUILD_MS);

  it('the testbench drives both modes through the top on ht_fixed and passes; a wrong reference output makes it fail', async () => {
    const { dir } = await jet();
    const ok = buildAndRun(dir, 'device_tb');
    expect(ok.out).toContain('40 samples, both modes, pass');
    expect(ok.status).toBe(0);
    // The testbench compares with the network's own C simulation: one changed value there fails it.
    const ref = join(dir, 'tb_data', 'csim_raw.dat');
    const original = readFileSync(ref, 'utf8');
    const lines = original.split('\n');
    lines[7] = lines[7]!.split(' ').map((v, k) => (k === 2 ? String(Number(v) + 1) : v)).join(' ');
    writeFileSync(ref, lines.join('\n'));
    const bad = spawnSync(join(dir, 'device_tb'), [], { cwd: dir, encoding: 'utf8' });
    writeFileSync(ref, original);
    expect(bad.status).toBe(4);
    expect(bad.stderr).toContain('sample 7: output differs from tb_data/csim_raw.dat');
  }, BUILD_MS);

  it('6-bit inputs and outputs travel four to a word (P = 4), both modes pass', async () => {
    const { dir, map } = await project('jet6', 'ap_fixed<6,3>');
    expect([map.inPack, map.outPack, map.inWords, map.outWords]).toEqual([4, 4, 4, 2]);
    const r = buildAndRun(dir, 'device_tb');
    expect(r.out).toContain('40 samples, both modes, pass');
    expect(r.status).toBe(0);
  }, BUILD_MS);

  it('the top compiles and passes on the vendor\'s ap_fixed (hls_stream.h absent: the stand-in serves)', async () => {
    const { dir } = await jet();
    const r = buildAndRun(dir, 'device_tb_vendor', [`AP_INCLUDE=${VENDOR_INCLUDE}`]);
    expect(r.out).toContain('40 samples, both modes, pass');
    expect(r.status).toBe(0);
  }, BUILD_MS);
});

// The cell student's firmware takes the camera's bytes (regmap inKind 'pixels'): its device
// top unpacks pixel_t four a word and calls cells_bccd_student_pixels. The project `make
// firmware` built, copied so the tests' builds stay out of it. (Recorded frames through the
// emulated device: host/src/backends/fpga-pixels.test.ts.)
const BCCD_BUILT = join(ROOT, 'hls', 'build', 'cells_bccd_student');
describe.skipIf(!existsSync(join(BCCD_BUILT, 'regmap.json')))('the generated device top of a pixel project (cells-bccd student)', () => {
  const FRAMES = 8;
  let copy: string | null = null;
  /** A copy of the project with FRAMES seeded frames (uniform bytes, seed SEED) as tb_data/tb_pixels.dat. */
  function bccd(): string {
    if (copy !== null) return copy;
    const dir = join(mkdtempSync(join(tmpdir(), 'ht-devtop-px-')), 'cells_bccd_student');
    cpSync(BCCD_BUILT, dir, { recursive: true });
    const rng = createRng(SEED);
    const lines = Array.from({ length: FRAMES }, () => Array.from({ length: 3072 }, () => rng.uint32() >>> 24).join(' '));
    writeFileSync(join(dir, 'tb_data', 'tb_pixels.dat'), lines.join('\n') + '\n');
    copy = dir;
    return dir;
  }

  it('declares the pixel window and calls the pixel top', () => {
    const dir = bccd();
    const map = JSON.parse(readFileSync(join(dir, 'regmap.json'), 'utf8')) as RegisterMap;
    expect(map).toMatchObject({ inKind: 'pixels', nIn: 3072, inPack: 4, inWords: 768, inType: 0 });
    const cpp = readFileSync(join(dir, 'firmware', 'cells_bccd_student_device.cpp'), 'utf8');
    expect(cpp).toContain('cells_bccd_student_pixels(x, y);');
    expect(cpp).toMatch(/#pragma HLS INTERFACE s_axilite port=in_kind bundle=control offset=0x07c/);
    expect(readFileSync(join(dir, 'firmware', 'cells_bccd_student_regs.h'), 'utf8')).toContain('#define HT_CELLS_BCCD_STUDENT_IN_KIND 1u');
  });

  it('the testbench passes both modes on tb frames against the pixel top, and fails on a top that reads the bytes in the wrong order', () => {
    const dir = bccd();
    const ok = buildAndRun(dir, 'device_tb');
    expect(ok.out).toContain(`${FRAMES} samples, both modes, pass`);
    expect(ok.status).toBe(0);
    const device = join(dir, 'firmware', 'cells_bccd_student_device.cpp');
    const original = readFileSync(device, 'utf8');
    const lane = 'i % HT_DEV_IN_PACK, HT_DEV_IN_PACK));';
    expect(original).toContain(lane);
    writeFileSync(device, original.replace(lane, '3 - i % HT_DEV_IN_PACK, HT_DEV_IN_PACK));'));
    const bad = buildAndRun(dir, 'device_tb');
    writeFileSync(device, original);
    expect(bad.status).toBe(4);
    expect(bad.out).toContain('output window differs from the pixel top');
  }, BUILD_MS);

  it('passes on the vendor\'s types (pixel_t ap_uint<8>)', () => {
    const r = buildAndRun(bccd(), 'device_tb_vendor', [`AP_INCLUDE=${VENDOR_INCLUDE}`]);
    expect(r.out).toContain(`${FRAMES} samples, both modes, pass`);
    expect(r.status).toBe(0);
  }, BUILD_MS);
});
