import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { copyBytesFn, createEmulator, nativeAddon, nativeClock, type EmulatorOptions } from './addon.js';

describe('native clock: stamp bindings belong to each clock (no process-wide table, no cap)', () => {
  const addon = nativeAddon();
  if (addon === null) throw new Error('the native addon is not built: run `make build` before these tests');

  it('more than 8 clocks (the old global cap) each stamp their own arrays, at the addon clock time', () => {
    const clocks = Array.from({ length: 20 }, () => nativeClock()!);
    expect(new Set(clocks).size).toBe(20);
    // Each clock stamps three arrays (three bindings each, 60 in all): a whole buffer, and two
    // views into one shared buffer at different offsets.
    const shared = clocks.map(() => new Float64Array(16).fill(-1));
    const own = clocks.map(() => new Float64Array(4).fill(-1));
    for (let round = 0; round < 3; round++) {
      for (const [k, clock] of clocks.entries()) {
        const before = addon.nowNs();
        clock.stamp(own[k]!, round);
        clock.stamp(shared[k]!.subarray(4, 8), round);
        clock.stamp(shared[k]!.subarray(8), round + 1);
        const after = addon.nowNs();
        for (const v of [own[k]![round]!, shared[k]![4 + round]!, shared[k]![9 + round]!]) {
          expect(v).toBeGreaterThanOrEqual(before);
          expect(v).toBeLessThanOrEqual(after);
        }
      }
    }
    // Nothing else was written: each stamp landed at its view's offset in its own buffer.
    for (const k of clocks.keys()) {
      expect(own[k]![3]).toBe(-1);
      expect(Array.from(shared[k]!.subarray(0, 4))).toEqual([-1, -1, -1, -1]);
      expect(shared[k]![7]).toBe(-1);
      expect(shared[k]![8]).toBe(-1);
      expect(shared[k]![12]).toBe(-1);
      // Stamps in one array are monotonic.
      expect(own[k]![1]!).toBeGreaterThanOrEqual(own[k]![0]!);
    }
  });

  it('a binding refuses an index outside its array', () => {
    const b = new addon.StampBinding(new Float64Array(2));
    expect(() => b.stamp(2)).toThrow(RangeError);
    expect(() => b.stamp(-1)).toThrow(RangeError);
    expect(() => new addon.StampBinding(new Float32Array(2) as unknown as Float64Array)).toThrow(TypeError);
  });
});

describe('hot entries: run and runPixels are plain functions of each object (host/native/src/hot_method.h)', () => {
  const addon = nativeAddon()!;
  const lib = join(import.meta.dirname, '..', '..', '..', 'hls', 'build', 'jets_hls4ml_student', 'libjets_hls4ml_student.so');

  it('a detached run predicts for its own model as predict(x, y) does, and throws once the model is closed', () => {
    const a = new addon.SimModel(lib), b = new addon.SimModel(lib);
    const x = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i) * 2), y = new Float32Array(5), want = new Float32Array(5), other = new Float32Array(5);
    a.bind(x, y);
    b.bind(new Float32Array(16), other);
    expect(Object.hasOwn(a, 'run') && Object.hasOwn(a, 'runPixels')).toBe(true);
    expect(a.run).not.toBe(b.run);
    const run = a.run;
    run();
    a.predict(x, want);
    expect(Array.from(y)).toEqual(Array.from(want));
    expect(Array.from(other)).toEqual([0, 0, 0, 0, 0]);
    a.close();
    expect(() => run()).toThrow(/SimModel: used after close\(\)/);
    b.close();
  });

  it('throws, instead of reaching freed memory, when called after its object was collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const detached = ((): (() => void) => {
      const m = new addon.SimModel(lib);
      m.bind(new Float32Array(16), new Float32Array(5));
      return m.run;
    })();
    // A full collection finds the model unreachable; its finalizer (the wrapper's destructor) may
    // run after the collection, on a later turn.
    let message = '';
    for (let i = 0; i < 20 && message === ''; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
      try {
        detached();
      } catch (err) {
        message = (err as Error).message;
      }
    }
    expect(message).toMatch(/called after its object was collected/);
  });
});

describe('the emulator is its own addon', () => {
  it("the daemon's addon exports no emulator; createEmulator loads hairtrigger_emulator.node", () => {
    expect(Object.keys(nativeAddon()!).sort()).toEqual(['FpgaDevice', 'SimModel', 'StampBinding', 'copyBytes', 'gunzipInto', 'monotonicOriginNs', 'nowNs', 'stamp']);
    const bytes = readFileSync(join(import.meta.dirname, '..', '..', 'native', 'build', 'Release', 'hairtrigger_native.node')).toString('latin1');
    expect(bytes).not.toMatch(/Emulator/);
    expect(() => createEmulator({ devicePath: '/dev/shm/ht-addon-test-none', libraryPath: '/nonexistent/lib.so', regmap: {} as EmulatorOptions['regmap'] })).toThrow(TypeError);
  });
});

describe('copyBytes', () => {
  it('is the addon\'s memmove (make builds it) and copies a span of a larger buffer as slice + set would', () => {
    expect(nativeAddon()?.copyBytes).toBeTypeOf('function');
    const copy = copyBytesFn();
    expect(copy).toBe(nativeAddon()!.copyBytes);
    const src = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff));
    for (const [at, from, n] of [[0, 0, 300], [5, 17, 100], [99, 299, 1], [10, 0, 0]] as const) {
      const dst = new Uint8Array(400).fill(0xaa);
      const want = Uint8Array.from(dst);
      want.set(src.slice(from, from + n), at);
      copy(dst, at, src, from, n);
      expect(dst).toEqual(want);
    }
  });

  it('refuses a span outside either array (RangeError) and anything but byte arrays (TypeError)', () => {
    const copy = copyBytesFn();
    const dst = new Uint8Array(8);
    const src = new Uint8Array(8);
    expect(() => copy(dst, 4, src, 0, 5)).toThrow(RangeError);
    expect(() => copy(dst, 0, src, 6, 3)).toThrow(RangeError);
    expect(() => copy(dst, -1, src, 0, 1)).toThrow(RangeError);
    expect(() => copy(new Float32Array(8) as unknown as Uint8Array, 0, src, 0, 1)).toThrow(TypeError);
    expect(dst).toEqual(new Uint8Array(8));
  });
});
