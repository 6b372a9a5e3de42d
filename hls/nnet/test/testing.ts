// Test support shared by the layer golden tests (layers.test.ts, layers-extra.test.ts) and
// the fast-path test (fastpath.test.ts): the seeded PRNG, raw <-> value helpers, drawing raw
// values, and compiling and running the batch drivers in this folder (whose stdin / stdout
// format is driver_io.h's). Test code only: excluded from the build by its name.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** hls/nnet/, where the layer headers live. */
export const nnetDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
/** hls/build/test/, where the tests build their drivers. */
export const buildDir = path.join(nnetDir, '..', 'build', 'test');
/** Bound on a driver's stdout (and the compiler's output) read back by a test. */
export const driverBytesMax = 64 * 1024 * 1024;

/** mulberry32: small seeded PRNG, uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The part of an ap_fixed<W, I> that raw <-> value needs: w bits, i integer bits. */
export interface FixedShape {
  w: number;
  i: number;
}
/** Fractional bits of t. */
export const frac = (t: FixedShape): number => t.w - t.i;
/** The value of one LSB of t. */
export const lsb = (t: FixedShape): number => 2 ** -frac(t);
/** The value a raw of t stands for (exact while |raw| < 2^53). */
export const toDouble = (raw: bigint, t: FixedShape): number => Number(raw) * lsb(t);

/** n raws of type t with values uniform in [-max, max), max rounded to whole LSBs of t. */
export function drawUniform(rand: () => number, n: number, t: FixedShape, max: number): bigint[] {
  const span = Math.round(max / lsb(t));
  return Array.from({ length: n }, () => BigInt(Math.floor(rand() * 2 * span) - span));
}

/**
 * g++ arguments that build test/<name>.cc into out: C++17, -O2, the extra flags, warnings
 * as errors (labels and HLS pragmas are for synthesis, so g++'s warnings about both are
 * off), hls/nnet/ and any further include folders on the path.
 */
export function driverCompileArgs(name: string, out: string, flags: readonly string[] = [],
  includeDirs: readonly string[] = []): string[] {
  return ['-std=c++17', '-O2', ...flags, '-Wall', '-Wextra', '-Werror', '-Wno-unknown-pragmas', '-Wno-unused-label',
    '-I', nnetDir, ...includeDirs.flatMap((d) => ['-I', d]), path.join(nnetDir, 'test', `${name}.cc`), '-o', out];
}

/** Builds test/<name>.cc into hls/build/test/<name> and returns its path; throws with g++'s errors. */
export function compileDriver(name: string): string {
  mkdirSync(buildDir, { recursive: true });
  const out = path.join(buildDir, name);
  const cc = spawnSync('g++', driverCompileArgs(name, out), { encoding: 'utf8', maxBuffer: driverBytesMax });
  if (cc.status !== 0) throw new Error(`compiling ${name} failed:\n${cc.stderr}`);
  return out;
}

/**
 * Runs driver MODE with params and then every sample on stdin (raws, driver_io.h's format)
 * and returns its raw outputs, nOut per sample; expects one line per sample and throws on a
 * non-zero exit, with the driver's stderr.
 */
export function runDriver(driver: string, mode: string, params: bigint[], samples: bigint[][], nOut: number): bigint[][] {
  const input = [params.join(' '), ...samples.map((s) => s.join(' '))].join('\n') + '\n';
  const r = spawnSync(driver, [mode], { input, encoding: 'utf8', maxBuffer: driverBytesMax });
  if (r.status !== 0) throw new Error(`${path.basename(driver)} ${mode} exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(samples.length);
  return lines.map((l) => {
    const v = l.split(' ').map((s) => BigInt(s));
    expect(v).toHaveLength(nOut);
    return v;
  });
}

/**
 * Whether header + body passes g++ -fsyntax-only against the layer headers (for the
 * static_assert tests), with the compiler's messages; the source goes to
 * hls/build/test/<fileName>, so each test file names its own.
 */
export function configCompiles(fileName: string, header: string, body: string): { ok: boolean; stderr: string } {
  mkdirSync(buildDir, { recursive: true });
  const file = path.join(buildDir, fileName);
  writeFileSync(file, header + body);
  const r = spawnSync('g++', ['-std=c++17', '-fsyntax-only', '-Wno-unknown-pragmas', '-I', nnetDir, file], { encoding: 'utf8' });
  return { ok: r.status === 0, stderr: r.stderr };
}
