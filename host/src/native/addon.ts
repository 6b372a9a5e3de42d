import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { monotonicClock, type Clock } from '../core/clock.js';
import { ModelError } from '../core/errors.js';

/**
 * The typed wrapper of the native addon (host/native), the only file allowed loose types.
 * Built by `make` (`node-gyp rebuild --nodedir=/usr` in host/native).
 */
interface NativeAddon {
  stamp(array: Float64Array, index: number): void;
  nowNs(): number;
  bindStamps(array: Float64Array): number;
  stampAt(handle: number, index: number): void;
  SimModel: new (path: string) => NativeSimModel;
}

/** What a compiled model library reports (hls/abi/ht_model_abi.h's ht_model_info). */
export interface SimModelInfo {
  readonly path: string;
  readonly abiVersion: number;
  readonly name: string;
  readonly modelSha256: string;
  /** Default precision of the model, e.g. `ap_fixed<16,6>`. */
  readonly precision: string;
  /** `softmax` when the host applies a softmax the firmware left out, else ''. */
  readonly postprocess: string;
  readonly nIn: number;
  readonly nOut: number;
  readonly inWidth: number;
  readonly inInt: number;
  readonly outWidth: number;
  readonly outInt: number;
  /** The raw variants work (input and result types at most 32 bits wide). */
  readonly rawOk: boolean;
  readonly latencyCycles: number;
  readonly ii: number;
  readonly clockMhz: number;
}

/**
 * One loaded model library (host/native/src/model_library.h). Every method is synchronous;
 * wrong argument types throw TypeError, wrong lengths RangeError, use after close Error.
 */
export interface NativeSimModel {
  info(): SimModelInfo;
  /** x[nIn] -> y[nOut]. */
  predict(x: Float32Array, y: Float32Array): void;
  /** n samples back to back: x[n * nIn] -> y[n * nOut]. */
  predictBatch(x: Float32Array, y: Float32Array, n: number): void;
  /** Raw bit patterns, sign-extended (value = raw * 2^-(W - I)). */
  predictRaw(x: Int32Array, y: Int32Array): void;
  /** Holds x and y for `run()` (until the next bind or close). */
  bind(x: Float32Array, y: Float32Array): void;
  /** predict(x, y) on the bound buffers, with no arguments to unwrap. */
  run(): void;
  close(): void;
}

const ADDON = 'hairtrigger_native.node';

/** The addon's path: from source (vitest) and from build/ (the compiled CLI). */
function addonPath(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '..', '..', 'native', 'build', 'Release', ADDON), resolve(here, '..', '..', '..', '..', 'host', 'native', 'build', 'Release', ADDON)];
  return candidates.find((p) => existsSync(p)) ?? null;
}

let loaded: NativeAddon | null | undefined;
let clock: Clock | null = null;

/** Loads the addon once; null when it has not been built. */
export function nativeAddon(): NativeAddon | null {
  if (loaded === undefined) {
    const path = addonPath();
    loaded = path === null ? null : (createRequire(import.meta.url)(path) as NativeAddon);
  }
  return loaded;
}

/** Why a model library did not load: the loader's code (model_library.h). */
export type SimLoadCode = 'not_found' | 'dlopen' | 'symbol' | 'abi' | 'info';

/**
 * Loads a compiled model library. Throws ModelError naming the file and the loader's reason
 * (`code` in the message: not_found, dlopen, symbol, abi, info), or when the addon is not built.
 */
export function loadSimModel(path: string): NativeSimModel {
  const a = nativeAddon();
  if (a === null) throw new ModelError(path, 'the native addon is not built (run `make build`): the sim backend needs it');
  try {
    return new a.SimModel(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ModelError(path, `model library refused (${typeof code === 'string' ? code : 'error'}): ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The clock the daemon runs on: CLOCK_MONOTONIC through the addon, whose `stamp` writes
 * into the slot's Float64Array without allocating. Null when the addon is not built.
 */
export function nativeClock(): Clock | null {
  if (clock !== null) return clock;
  const a = nativeAddon();
  if (a === null) return null;
  // Each backing buffer stamped into is bound once (up to the addon's limit), then stamped by
  // handle and element index: no typed array to unwrap per call. The frame ring keeps every
  // slot's stamps in one buffer, so the hot path uses one binding.
  const handles = new Map<ArrayBufferLike, number>();
  let lastBuffer: ArrayBufferLike | null = null;
  let lastHandle = -1;
  clock = {
    nowNs: () => a.nowNs(),
    stamp: (arr, i) => {
      const buffer = arr.buffer;
      if (buffer !== lastBuffer) {
        let h = handles.get(buffer);
        if (h === undefined) {
          h = a.bindStamps(new Float64Array(buffer, 0, buffer.byteLength >>> 3));
          handles.set(buffer, h);
        }
        lastBuffer = buffer;
        lastHandle = h;
      }
      if (lastHandle < 0) a.stamp(arr, i);
      else a.stampAt(lastHandle, (arr.byteOffset >>> 3) + i);
    },
  };
  return clock;
}

/** The native clock when the addon is built, else the JavaScript one (which allocates). */
export function systemClock(): Clock {
  return nativeClock() ?? monotonicClock;
}
