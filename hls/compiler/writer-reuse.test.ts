import { describe, expect, it } from 'vitest';
import { createRng } from '../../host/src/core/rng.js';
import { IR_INPUT, type Ir, type Layer } from './ir.js';
import { reusePlan, type ReuseLayer } from './writer-reuse.js';

/**
 * The sliding-window plan against a brute-force reading of the same question. Here every row of
 * every layer is given the set of input rows it reads (or "padding"), layer by layer; a row may
 * come from the previous window when neither it nor the row `shift` below it reads padding and
 * that row reads exactly its input rows moved down by S (the input's move). Which rows pass is
 * then compared with the plan's kept range, on the MLPerf Tiny DS-CNN and on seeded random
 * chains (kernels 1-7, strides 1-3, pads up to the kernel less one, 8-80 input rows).
 */
const PAD = -1;

interface Spec {
  kind: 'conv2d' | 'dwconv2d' | 'relu';
  kh: number;
  sh: number;
  pt: number;
  pb: number;
}

function chainIr(h: number, specs: readonly Spec[]): { ir: Ir; layers: ReuseLayer[] } | null {
  const layers: ReuseLayer[] = [];
  let rows = h;
  let prev = IR_INPUT;
  for (const [k, s] of specs.entries()) {
    const out = s.kind === 'relu' ? rows : Math.floor((rows + s.pt + s.pb - s.kh) / s.sh) + 1;
    if (out < 1) return null;
    const name = `${s.kind}_${k}`;
    const base = { name, sources: [], inputs: [prev], inputShapes: [[4, rows, 3]], outputShape: [4, out, 3] };
    const layer = (s.kind === 'relu' ? { ...base, kind: 'relu' }
      : { ...base, kind: s.kind, cIn: 4, cOut: 4, channels: 4, kernel: [s.kh, 3], strides: [s.sh, 1], pads: [s.pt, 1, s.pb, 1] }) as unknown as Layer;
    layers.push({ layer, input: { arr: 'x', type: 'input_t' }, value: { arr: `${name}_out`, type: `${name}_result_t`, size: 4 * out * 3 }, body: [`  nnet::${s.kind}<a, b, config_${name}>(x, y);`] });
    prev = name;
    rows = out;
  }
  const ir = { source: 'test', inputShape: [4, h, 3], outputShape: [4, rows, 3], output: prev, layers: layers.map((l) => l.layer) } as unknown as Ir;
  return { ir, layers };
}

/** Per layer, the rows that may be reused (brute force), and the input move S. */
function bruteForce(h: number, specs: readonly Spec[]): { s: number; kept: number[][] } {
  const s = specs.reduce((p, x) => p * (x.kind === 'relu' ? 1 : x.sh), 1);
  let deps: Set<number>[] = Array.from({ length: h }, (_, r) => new Set([r]));
  let product = 1;
  const kept: number[][] = [];
  for (const x of specs) {
    if (x.kind !== 'relu') {
      const out = Math.floor((deps.length + x.pt + x.pb - x.kh) / x.sh) + 1;
      deps = Array.from({ length: out }, (_, oy) => {
        const d = new Set<number>();
        for (let ky = 0; ky < x.kh; ky++) {
          const iy = oy * x.sh + ky - x.pt;
          for (const v of iy >= 0 && iy < deps.length ? deps[iy]! : [PAD]) d.add(v);
        }
        return d;
      });
      product *= x.sh;
    }
    const shift = s / product;
    const rows: number[] = [];
    for (let oy = 0; oy + shift < deps.length; oy++) {
      const now = deps[oy]!;
      const before = deps[oy + shift]!;
      const moved = [...now].map((v) => v + s).sort((a, b) => a - b);
      if (!now.has(PAD) && !before.has(PAD) && moved.join() === [...before].sort((a, b) => a - b).join()) rows.push(oy);
    }
    kept.push(rows);
  }
  return { s, kept };
}

const range = (lo: number, hi: number) => Array.from({ length: Math.max(0, hi - lo) }, (_, i) => lo + i);

function check(h: number, specs: readonly Spec[]): boolean {
  const built = chainIr(h, specs);
  if (built === null) return false;
  const plan = reusePlan(built.ir, built.layers);
  const want = bruteForce(h, specs);
  if (want.s >= h || want.kept.every((r) => r.length === 0)) {
    expect(plan).toBeNull();
    return false;
  }
  expect(plan).not.toBeNull();
  expect(plan!.inputShift).toBe(want.s);
  expect(plan!.rows.map((r) => range(r.left, r.right))).toEqual(want.kept);
  return true;
}

describe('reusePlan against a brute-force row dependency walk', () => {
  it('MLPerf Tiny DS-CNN (49 x 10 MFCC: conv 10x4 stride 2 pad 5, three 3x3 depthwise + pointwise blocks)', () => {
    const dw: Spec = { kind: 'dwconv2d', kh: 3, sh: 1, pt: 1, pb: 1 };
    const pw: Spec = { kind: 'conv2d', kh: 1, sh: 1, pt: 0, pb: 0 };
    const relu: Spec = { kind: 'relu', kh: 1, sh: 1, pt: 0, pb: 0 };
    const specs: Spec[] = [{ kind: 'conv2d', kh: 10, sh: 2, pt: 5, pb: 4 }, relu, ...[1, 2, 3].flatMap(() => [dw, relu, pw, relu])];
    expect(check(49, specs)).toBe(true);
    const plan = reusePlan(chainIr(49, specs)!.ir, chainIr(49, specs)!.layers)!;
    // The first conv's rows 3-21 of 25 stay (rows 0-2 read the top padding, 22-24 the new frames);
    // each 3x3 block takes one more row off each end.
    expect([plan.rows[0]!.left, plan.rows[0]!.right]).toEqual([3, 22]);
    expect([plan.rows.at(-1)!.left, plan.rows.at(-1)!.right]).toEqual([6, 19]);
  });

  it('an activation with no convolution before it ends the chain (the simulator applies it with that convolution)', () => {
    const relu: Spec = { kind: 'relu', kh: 1, sh: 1, pt: 0, pb: 0 };
    const conv: Spec = { kind: 'conv2d', kh: 3, sh: 1, pt: 1, pb: 1 };
    const built = chainIr(30, [conv, relu, relu, conv])!;
    expect(reusePlan(built.ir, built.layers)!.rows.map((r) => r.name)).toEqual(['conv2d_0', 'relu_1']);
    const first = chainIr(30, [relu, conv])!;
    expect(reusePlan(first.ir, first.layers)).toBeNull();
  });

  it('seeded random chains of convolutions and depthwise convolutions, each with or without a ReLU', () => {
    const rng = createRng(20261207);
    const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
    let planned = 0;
    for (let t = 0; t < 400; t++) {
      // Convolutions, each followed by a ReLU or not (the units the simulator computes).
      const specs = Array.from({ length: int(1, 5) }, (): Spec[] => {
        const kind = (['conv2d', 'dwconv2d'] as const)[int(0, 1)]!;
        const kh = int(1, 7);
        const conv: Spec = { kind, kh, sh: int(1, 3), pt: int(0, kh - 1), pb: int(0, kh - 1) };
        return int(0, 1) === 1 ? [conv, { kind: 'relu', kh: 1, sh: 1, pt: 0, pb: 0 }] : [conv];
      }).flat();
      if (check(int(8, 80), specs)) planned++;
    }
    // Most random chains leave rows to keep; the others must give no plan (checked above).
    expect(planned).toBeGreaterThan(100);
  });
});
