/**
 * Numerical profiling (`hairtrigger compile --profile`): for every layer, the float range its
 * output takes on a data set against the range of the layer's result type, with the number
 * of values that would overflow it and the number that fall below half an LSB (quantised to
 * zero); for layers with weights, the same for the weights and biases against their types.
 * A user reads it to choose widths: overflows want integer bits, a large share below the LSB
 * wants fractional bits.
 */
import { IR_INPUT, isMacLayer, type Ir } from './ir.js';
import { runIrF64 } from './interpret.js';
import { fracBits, layerPrecision, printFixedType, type FixedType, type PrecisionConfig } from './precision.js';

/** Range of a fixed-point type: [-2^(I-1), 2^(I-1) - LSB]. */
export function typeRange(t: FixedType): { min: number; max: number; lsb: number } {
  const lsb = 2 ** -fracBits(t);
  return { min: -(2 ** (t.integer - 1)), max: 2 ** (t.integer - 1) - lsb, lsb };
}

/** One tensor's profile against one type. */
export interface TensorProfile {
  /** Layer name; `input` for the model input. */
  readonly layer: string;
  /** `output`, `weight` or `bias`. */
  readonly tensor: 'output' | 'weight' | 'bias';
  readonly type: string;
  readonly typeMin: number;
  readonly typeMax: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
  /** Values above typeMax or below typeMin. */
  readonly overflows: number;
  /** Non-zero values with |v| < LSB / 2. */
  readonly belowLsb: number;
}

class Tally {
  min = Infinity;
  max = -Infinity;
  count = 0;
  overflows = 0;
  belowLsb = 0;
  constructor(readonly layer: string, readonly tensor: TensorProfile['tensor'], readonly t: FixedType) {}

  add(values: ArrayLike<number>): void {
    const r = typeRange(this.t);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      if (v > r.max || v < r.min) this.overflows++;
      else if (v !== 0 && Math.abs(v) < r.lsb / 2) this.belowLsb++;
    }
    this.count += values.length;
  }

  done(): TensorProfile {
    const r = typeRange(this.t);
    return { layer: this.layer, tensor: this.tensor, type: printFixedType(this.t), typeMin: r.min, typeMax: r.max,
      min: this.min, max: this.max, count: this.count, overflows: this.overflows, belowLsb: this.belowLsb };
  }
}

/** Profiles `ir` under `precision` on `inputs` (float64 interpretation of the float model). */
export function profileModel(ir: Ir, precision: PrecisionConfig, inputs: readonly Float32Array[]): TensorProfile[] {
  const outputs = new Map<string, Tally>([[IR_INPUT, new Tally('input', 'output', precision.input)]]);
  const params: Tally[] = [];
  for (const l of ir.layers) {
    if (l.kind === 'reshape') continue;
    const p = layerPrecision(precision, l.name);
    outputs.set(l.name, new Tally(l.name, 'output', p.result));
    if (isMacLayer(l)) {
      const w = new Tally(l.name, 'weight', p.weight);
      w.add(l.weights);
      const b = new Tally(l.name, 'bias', p.bias);
      b.add(l.bias);
      params.push(w, b);
    }
  }
  for (const x of inputs) {
    const values = new Map<string, Float64Array>();
    runIrF64(ir, x, { values });
    for (const [name, tally] of outputs) {
      const v = values.get(name);
      if (v !== undefined) tally.add(v);
    }
  }
  return [...[...outputs.values()].map((t) => t.done()), ...params.map((t) => t.done())];
}

/** A fixed-width text table of `rows`, for the terminal. */
export function formatProfile(rows: readonly TensorProfile[]): string {
  const head = ['layer', 'tensor', 'type', 'type range', 'observed', 'overflows', '< LSB/2'];
  const fmt = (v: number): string => (Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v));
  const body = rows.map((r) => [r.layer, r.tensor, r.type, `[${fmt(r.typeMin)}, ${fmt(r.typeMax)}]`, `[${fmt(r.min)}, ${fmt(r.max)}]`,
    `${r.overflows}/${r.count}`, `${r.belowLsb}`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}
