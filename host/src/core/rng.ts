import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { assert } from './assert.js';

/**
 * A seeded source of random numbers for simulations. Mutable, and nothing it does per draw
 * allocates. Hot paths use the `fill*` forms: V8 boxes a float returned from a call it did
 * not inline (a 16-byte heap number per draw), while a float written into a typed array is
 * never boxed, whatever the optimiser decides.
 */
export interface Rng {
  /** Next raw 32 bits as an unsigned integer in [0, 2^32). */
  uint32(): number;
  /** Uniform in [0, 1), 32 bits of resolution. */
  uniform(): number;
  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number;
  /** Writes `count` raw 32-bit draws into `out[0 .. count)`. */
  fillUint32(out: Uint32Array, count: number): void;
  /** Writes `count` uniforms in [0, 1) into `out[0 .. count)`. */
  fillUniform(out: Float64Array, count: number): void;
  /** Writes `count` standard normals into `out[0 .. count)`. */
  fillNormal(out: Float64Array, count: number): void;
}

const twoPow32 = 4_294_967_296;
/** Outputs thrown away after seeding so that nearby seeds have decorrelated streams. */
const warmupDraws = 16;

/** murmur3's 32-bit finaliser: a bijection on 32-bit words, so distinct words stay distinct. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

class XoroshiroRng implements Rng {
  private readonly gen: RandomGenerator;
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    // pure-rand's own seeding keeps only the low 32 bits (`seed | 0`); seeds that differ above
    // bit 31 would collide. Both halves go into the 128-bit state instead, each through a
    // bijection, so distinct safe-integer seeds give distinct states, and the state is never
    // all zero (s00 and s01 are images of two different words under the same bijection).
    const hi = Math.floor(seed / twoPow32);
    const lo = (seed - hi * twoPow32) >>> 0;
    const s00 = fmix32(lo);
    const s01 = fmix32(lo ^ 0x9e3779b9);
    const s10 = fmix32(hi ^ 0x7f4a7c15);
    const s11 = fmix32(hi ^ 0x2545f491);
    this.gen = xoroshiro128plusFromState([s01, s00, s11, s10]);
    for (let i = 0; i < warmupDraws; i++) this.gen.next();
  }

  uint32(): number {
    return this.gen.next() >>> 0;
  }

  uniform(): number {
    return (this.gen.next() >>> 0) / twoPow32;
  }

  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u1 = 1 - this.uniform(); // (0, 1]: log stays finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return r * Math.cos(theta);
  }

  fillUint32(out: Uint32Array, count: number): void {
    assert(count <= out.length, 'fillUint32 count exceeds the buffer');
    const gen = this.gen;
    for (let i = 0; i < count; i++) out[i] = gen.next();
  }

  fillUniform(out: Float64Array, count: number): void {
    assert(count <= out.length, 'fillUniform count exceeds the buffer');
    const gen = this.gen;
    for (let i = 0; i < count; i++) out[i] = (gen.next() >>> 0) / twoPow32;
  }

  fillNormal(out: Float64Array, count: number): void {
    assert(count <= out.length, 'fillNormal count exceeds the buffer');
    for (let i = 0; i < count; i++) out[i] = this.normal();
  }
}

/**
 * Creates a xoroshiro128+ stream (pure-rand) from a seed. Same seed, same stream; distinct
 * seeds give distinct initial states over the whole safe-integer range (not only the low 32
 * bits).
 *
 * @param seed - a safe integer. Callers validate user input and raise `ConfigError`; a
 * non-integer here is a programmer error and fails an assertion.
 */
export function createRng(seed: number): Rng {
  assert(Number.isSafeInteger(seed), 'rng seed must be a safe integer');
  return new XoroshiroRng(seed);
}
