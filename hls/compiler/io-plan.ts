/**
 * The io plan: the compiler's choice of io type (io_parallel or io_stream) and per-layer
 * parallelism (pixels per word, reuse factors, dense strategy) for a latency target on a named
 * part, from the models of latency.ts and latency-stream.ts (docs/latency-model.md).
 *
 * Search (small: a handful of candidates a model): for io_stream, every input parallelism P0
 * that divides the input width; each streamed layer then takes the pixels its input words
 * carry, writes words of the fewest pixels (a divisor of its output width) that keeps up with
 * what one iteration can produce (ceil(P_in / stride_w)), and the largest reuse factor that
 * does not make it slower than the chain before it. The io_parallel layers after the stream
 * (the dense head) get the largest reuse factor that still meets the target, the layer with
 * the most multiplies first. io_parallel is a candidate twice: with the command's --reuse and
 * --strategy for every layer, and with its dense layers' reuse chosen that way. Of the candidates that meet the target and fit the part, the one with the fewest
 * DSPs wins (then BRAM, then latency).
 */
import { ConfigError } from '../../host/src/core/errors.js';
import type { ConvLayer, Ir, Layer, PoolLayer } from './ir.js';
import { divisors, type Strategy } from './latency.js';
import { estimatePlan, streamablePrefix, type IoPlan, type PlanEstimate, type StreamLayerPlan } from './latency-stream.js';
import { PARTS } from './parts.js';

export interface PlanOptions {
  /** Latency target, µs at `clockMhz`. */
  readonly targetUs: number;
  /** Part whose resources bound the choice (a key of PARTS). */
  readonly part: string;
  readonly clockMhz: number;
  /** io_parallel candidate's, and the streamed layers', dense strategy and reuse factor. */
  readonly strategy: Strategy;
  readonly reuse: number;
}

export interface ChosenPlan {
  readonly plan: IoPlan;
  readonly estimate: PlanEstimate;
  readonly part: string;
  readonly targetUs: number;
}

/** The same plan for every layer: io_parallel at one reuse factor and strategy (the compiler's
 * choice when no latency target applies). */
export function uniformPlan(ir: Ir, strategy: Strategy, reuse: number): IoPlan {
  return { io: 'parallel', inputPixels: 1, stream: [], layers: Object.fromEntries(ir.layers.map((l) => [l.name, { reuse, strategy }])) };
}

/**
 * Chooses the plan with the fewest resources that meets `o.targetUs` and fits `o.part`.
 * Throws `ConfigError` for an unknown part or bad target, and naming the layer that keeps the
 * model over the target (at its most parallel) or over the part's resources (in the plan
 * needing the fewest) when no candidate does both.
 */
export function choosePlan(ir: Ir, o: PlanOptions): ChosenPlan {
  const part = PARTS[o.part];
  if (part === undefined) throw new ConfigError('--part', `${o.part} is not a known part; known: ${Object.keys(PARTS).join(', ')}`);
  if (!(o.targetUs > 0)) throw new ConfigError('--latency-target-us', `got ${o.targetUs}; use a latency in µs > 0`);
  const parallel: IoPlan = { io: 'parallel', inputPixels: 1, stream: [], layers: {} };
  const candidates = [uniformPlan(ir, o.strategy, o.reuse), withTailReuse(ir, parallel, o), ...streamPlans(ir, o)].map((plan) => ({ plan, estimate: estimatePlan(ir, plan, o.clockMhz) }));
  const fits = (e: PlanEstimate) => e.dsp <= part.dsp && e.weightStorageBits <= part.memoryBits && (part.bram18k === undefined || e.bram18k <= part.bram18k);
  const fast = candidates.filter((c) => c.estimate.latencyUs <= o.targetUs);
  const good = fast.filter((c) => fits(c.estimate));
  if (good.length > 0) {
    good.sort((a, b) => a.estimate.dsp - b.estimate.dsp || a.estimate.bram18k - b.estimate.bram18k || a.estimate.latencyCycles - b.estimate.latencyCycles);
    return { ...good[0]!, part: o.part, targetUs: o.targetUs };
  }
  if (fast.length === 0) {
    const best = candidates.reduce((a, b) => (b.estimate.latencyCycles < a.estimate.latencyCycles ? b : a)).estimate;
    // The bottleneck: the layer (not an adapter) whose frame takes longest (iterations x II).
    const named = best.stages.filter((s) => ir.layers.some((l) => l.name === s.name));
    const slow = named.reduce((a, b) => (b.ii > a.ii ? b : a));
    throw new ConfigError(`${ir.source}: layer ${slow.name}`,
      `no io type or parallelism meets ${o.targetUs} µs at ${o.clockMhz} MHz: the fastest plan (${best.io}) takes ${best.latencyUs.toFixed(2)} µs, ` +
      `its slowest layer ${slow.name} taking ${slow.ii} cycles a frame at its most parallel; raise the target or the clock`);
  }
  const least = fast.reduce((a, b) => (b.estimate.dsp < a.estimate.dsp ? b : a)).estimate;
  const big = least.stages.reduce((a, b) => (b.multipliers > a.multipliers ? b : a));
  throw new ConfigError(`${ir.source}: layer ${big.name}`,
    `no plan meeting ${o.targetUs} µs fits ${o.part} (${part.dsp} DSP, ${part.bram18k ?? '?'} BRAM_18K): the smallest needs ${least.dsp} DSP, ` +
    `${least.bram18k} BRAM_18K, ${big.multipliers} DSP of them in ${big.name}; raise the target or choose a larger part`);
}

/** One io_stream plan per input parallelism that divides the input width (none without a conv prefix). */
function streamPlans(ir: Ir, o: PlanOptions): IoPlan[] {
  const prefix = streamablePrefix(ir);
  if (prefix.length === 0 || ir.inputShape.length !== 3) return [];
  const [, h, w] = ir.inputShape as [number, number, number];
  const plans: IoPlan[] = [];
  for (const p0 of divisors(w)) {
    const stream = streamChain(prefix, p0, (h * w) / p0);
    if (stream !== null) plans.push(withTailReuse(ir, { io: 'stream', inputPixels: p0, stream, layers: {} }, o));
  }
  return plans;
}

/** Pixels per word and reuse factor of each streamed layer, for input words of p0 pixels arriving
 * over `teff` iterations; null when a layer cannot take that many pixels a word. */
function streamChain(prefix: readonly Layer[], p0: number, teff0: number): StreamLayerPlan[] | null {
  const out: StreamLayerPlan[] = [];
  let p = p0;
  let teff = teff0;
  for (const l of prefix) {
    if (l.kind === 'relu') {
      out.push({ name: l.name, kind: 'relu', pixelsIn: p, pixelsOut: p, reuse: 1 });
      continue;
    }
    const win = l as ConvLayer | PoolLayer;
    const [c, hh, ww] = win.inputShapes[0]! as [number, number, number];
    const pads = win.pads;
    if (ww % p !== 0 || (p > 1 && (pads[1]! > 0 || pads[3]! > 0))) return null;
    const pOut = divisors(win.outputShape[2]!).find((d) => d >= Math.ceil(p / win.strides[1]!));
    if (pOut === undefined) return null;
    const iterations = ((hh + pads[0]! + pads[2]!) * (ww + pads[1]! + pads[3]!)) / p;
    // Only a conv shares multipliers; a pool at R > 1 would only be slower.
    const shareable = l.kind === 'conv2d' ? divisors(c * win.kernel[0]! * win.kernel[1]! * (l as ConvLayer).cOut * p) : [1];
    const reuse = [...shareable].reverse().find((r) => iterations * r <= teff) ?? 1;
    teff = Math.max(teff, iterations * reuse);
    out.push({ name: l.name, kind: l.kind as StreamLayerPlan['kind'], pixelsIn: p, pixelsOut: pOut, reuse });
    p = pOut;
  }
  return out;
}

/** The plan with every layer's reuse set: streamed layers as chosen, the dense layers after the
 * stream at the largest reuse factor meeting the target (resource strategy when > 1). */
function withTailReuse(ir: Ir, plan: IoPlan, o: PlanOptions): IoPlan {
  const layers: Record<string, { reuse: number; strategy: Strategy }> = {};
  for (const l of ir.layers) layers[l.name] = { reuse: 1, strategy: o.strategy };
  for (const s of plan.stream) layers[s.name] = { reuse: s.reuse, strategy: o.strategy };
  const streamed = new Set(plan.stream.map((s) => s.name));
  const dense = ir.layers.filter((l) => l.kind === 'dense' && !streamed.has(l.name)) as Extract<Layer, { kind: 'dense' }>[];
  dense.sort((a, b) => b.nIn * b.nOut - a.nIn * a.nOut);
  for (const d of dense) {
    for (const r of divisors(d.nIn * d.nOut).reverse()) {
      layers[d.name] = { reuse: r, strategy: r > 1 ? 'resource' : o.strategy };
      if (estimatePlan(ir, { ...plan, layers }, o.clockMhz).latencyUs <= o.targetUs) break;
    }
  }
  return { ...plan, layers };
}
