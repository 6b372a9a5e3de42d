// ht::ap_fixed against the vendor's ap_fixed (../shared/reference/xilinx-ap-types, never
// copied into the project): the same driver, test/vendor_convert.cc, built with each type,
// converts the same doubles into 32 types (every overflow mode, several rounding modes and
// shapes) and must print the same raw bits. The doubles include NaNs of both signs and with
// payloads, infinities, zeros of both signs, subnormals, ties and values far out of range.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../host/src/core/rng.js';

const nnetDir = path.dirname(fileURLToPath(import.meta.url));
const VENDOR_INCLUDE = path.resolve(nnetDir, '..', '..', '..', 'shared', 'reference', 'xilinx-ap-types', 'include');
const BUILD_TIMEOUT_MS = 300_000;

/** Compiles the driver with ht_fixed.h or, with `vendor`, with the vendor's headers. */
function build(dir: string, vendor: boolean): string {
  const exe = path.join(dir, vendor ? 'convert_vendor' : 'convert_ht');
  // -DNDEBUG: without it a debug assertion in the vendor's ap_private.h misfires (reference README).
  const flags = vendor ? ['-DHT_USE_VENDOR_AP', '-DNDEBUG', '-I', VENDOR_INCLUDE] : [];
  execFileSync('g++', ['-std=c++17', '-O1', ...flags, '-I', nnetDir, '-o', exe, path.join(nnetDir, 'test', 'vendor_convert.cc')], { stdio: 'pipe' });
  return exe;
}

function hexOf(v: number): string {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, v);
  return b.getBigUint64(0).toString(16).padStart(16, '0');
}

/** The bit patterns to convert: special values by hand, then seeded random ones. */
function cases(seed: number): string[] {
  const special = ['7ff8000000000000', 'fff8000000000000', '7ff0000000000001', 'fff0000000000001', '7fffffffffffffff', 'ffffffffffffffff', '7ff4000000000abc', 'fff4000000000abc'];
  const values = [Infinity, -Infinity, 0, -0, 5e-324, -5e-324, 1, -1, 31.999, -32, 32, 0.5 / 1024, -0.5 / 1024, 1.5 / 1024, 2 ** 70, -(2 ** 70), 1e300, -1e300];
  const rng = createRng(seed);
  for (let k = 0; k < 400; k++) values.push(rng.normal() * 2 ** Math.floor(rng.uniform() * 40 - 12));
  return [...special, ...values.map(hexOf)];
}

describe('ht::ap_fixed conversions are bit-exact with the vendor ap_fixed (seed 12)', () => {
  it('NaN, infinities, zeros, ties and random doubles into 32 types', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ht-vendor-convert-'));
    const lines = cases(12);
    const run = (exe: string): string[] => execFileSync(exe, { input: lines.join('\n') + '\n', encoding: 'utf8' }).trim().split('\n');
    const ht = run(build(dir, false));
    const vendor = run(build(dir, true));
    expect(vendor).toHaveLength(lines.length);
    for (let k = 0; k < lines.length; k++) expect(ht[k], `double bits ${lines[k]}`).toBe(vendor[k]);
    // Not vacuous: a NaN saturates (max raw of ap_fixed<16,6,AP_TRN,AP_SAT> is 32767).
    expect(vendor[0]!.trim().split(' ')[8]).toBe('32767');
    expect(vendor[1]!.trim().split(' ')[8]).toBe('-32768');
  }, BUILD_TIMEOUT_MS);
});
