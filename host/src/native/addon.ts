import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { monotonicClock, type Clock } from '../core/clock.js';
import { DeviceError, ModelError } from '../core/errors.js';

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
  FpgaDevice: new (path: string, map: FpgaRegisterMap, options?: FpgaDeviceOptions) => NativeFpgaDevice;
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

/**
 * What the FPGA driver checks a device against: the fields of a model's regmap.json
 * (hls/compiler/regmap.ts RegisterMap has them all; docs/fpga-protocol.md).
 */
export interface FpgaRegisterMap {
  readonly layout: number;
  readonly magic: number;
  readonly nIn: number;
  readonly nOut: number;
  readonly inType: number;
  readonly outType: number;
  readonly modelHashWords: readonly number[];
  readonly fifoCapacity: number;
  readonly inOffset: number;
  readonly outOffset: number;
  readonly threshOffset: number;
  readonly fifoOffset: number;
  readonly regionBytes: number;
}

export interface FpgaDeviceOptions {
  /** Spins (a pause and a DONE_COUNT read each) before a job fails with `timeout`; default 2^20. */
  readonly spinsMax?: number;
}

/** What an opened device reports: the map's sizes and the device's own latency registers. */
export interface FpgaDeviceInfo {
  readonly path: string;
  readonly nIn: number;
  readonly nOut: number;
  readonly inWidth: number;
  readonly inFrac: number;
  readonly outWidth: number;
  readonly outFrac: number;
  readonly clockKhz: number;
  readonly latencyCycles: number;
  readonly ii: number;
  readonly fifoCapacity: number;
  readonly resetCount: number;
}

export interface FpgaDeviceStats {
  readonly jobs: number;
  readonly timeouts: number;
  readonly resets: number;
  readonly corrupt: number;
  /** Device wait per job (ap_start to DONE_COUNT change), ns: last, mean, min, max over completed jobs. */
  readonly waitNsLast: number;
  readonly waitNsMean: number;
  readonly waitNsMin: number;
  readonly waitNsMax: number;
  readonly fifoOverflows: number;
  readonly fifoPending: number;
}

/** Numbers per record written by `drainEvents`: seq, class, scoreRaw, score, startCycle, doneCycle. */
export const FPGA_EVENT_FIELDS = 6;

/** Why the driver refused a device or a job (host/native/src/fpga_driver.h). */
export type FpgaDeviceCode = 'map' | 'types' | 'open' | 'size' | 'mmap' | 'magic' | 'layout' | 'mismatch' | 'timeout' | 'reset' | 'corrupt';

/**
 * One mapped device (host/native/src/fpga_driver.h), host in the loop after open. Every
 * method is synchronous; wrong argument types throw TypeError, wrong lengths RangeError, a
 * failed job an Error whose `code` is a FpgaDeviceCode, use after close Error.
 */
export interface NativeFpgaDevice {
  info(): FpgaDeviceInfo;
  /** Holds x[nIn] and y[nOut] for `run` (until the next bind or close). */
  bind(x: Float32Array, y: Float32Array): void;
  /** One job from the bound x into the bound y; inputs converted as the firmware's bridge does. */
  run(seq: number): void;
  /** One job on raw values (sign-extended W-bit patterns). */
  predictRaw(x: Int32Array, y: Int32Array, seq: number): void;
  /** 0: host in the loop; 1: autonomous. */
  setMode(mode: number): void;
  /** THRESH[k] = raw result bits; the most positive raw value never fires. */
  setThreshold(k: number, raw: number): void;
  /** Copies up to out.length / FPGA_EVENT_FIELDS records, releases them to the device, returns the count. */
  drainEvents(out: Float64Array): number;
  stats(): FpgaDeviceStats;
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
 * Maps an FPGA device (or the emulator's /dev/shm file) and checks its identification block
 * against `map`. Throws DeviceError whose `reason` is the driver's code (open, size, mmap,
 * magic, layout, mismatch, map, types) and whose message names the path and the field, or
 * when the addon is not built.
 */
export function openFpgaDevice(path: string, map: FpgaRegisterMap, options: FpgaDeviceOptions = {}): NativeFpgaDevice {
  const a = nativeAddon();
  if (a === null) throw new DeviceError(path, 'addon', 'the native addon is not built (run `make build`): the fpga backend needs it');
  try {
    return new a.FpgaDevice(path, map, options);
  } catch (err) {
    throw new DeviceError(path, fpgaErrorCode(err), (err as Error).message, { cause: err });
  }
}

/** The driver's code of an error thrown by a NativeFpgaDevice method ('error' for anything else). */
export function fpgaErrorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
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

/**
 * The FPGA device emulator (sim/emulator/emulator.h through host/native/src/emulator_binding.cc).
 * The register map is the object of a model's regmap.json (hls/compiler/regmap.ts RegisterMap).
 */
export interface EmulatorRegisterMap extends FpgaRegisterMap {
  readonly clockKhz: number;
  readonly latencyCycles: number;
  readonly ii: number;
  readonly modelSha256: string;
}

/**
 * Injected faults (docs/fpga-protocol.md, "The emulator"). `value`: us for done-late and
 * late-once, a job count for corrupt-output and reset-after; `at`: the job late-once delays
 * (counted from 1).
 */
export type EmulatorFaultKind = 'none' | 'never-done' | 'done-late' | 'corrupt-output' | 'reset-after' | 'wrong-magic' | 'wrong-hash' | 'fifo-overflow' | 'late-once';

export interface EmulatorOptions {
  /** The region file, e.g. /dev/shm/ht-jets: created or truncated to regionBytes. */
  readonly devicePath: string;
  /** lib<name>.so of the same firmware project; the emulator loads a private copy. */
  readonly libraryPath: string;
  readonly regmap: EmulatorRegisterMap;
  /** Overrides the map's clock (the latency hold and CYCLE count follow it; CLOCK_KHZ shows it). */
  readonly clockMhz?: number;
  /** MODE = 1 at start: the replay begins at once. Otherwise it begins when the host writes MODE = 1. */
  readonly autonomous?: boolean;
  /** Autonomous frames: raw input values (frames * nIn), optional sequence numbers, pacing (0 or absent: max), loop. Copied. */
  readonly source?: { readonly raw: Int32Array; readonly seq?: Float64Array; readonly rateHz?: number; readonly loop?: boolean };
  readonly fault?: { readonly kind: EmulatorFaultKind; readonly value?: number; readonly at?: number };
  /** Remove the file at stop (default true). */
  readonly unlinkOnStop?: boolean;
}

export interface EmulatorStats {
  readonly jobs: number;
  readonly frames: number;
  readonly events: number;
  readonly overflows: number;
  readonly faults: number;
  readonly resets: number;
  readonly running: boolean;
}

/** A running emulator: `start()` once, `stop()` joins its thread (idempotent); `stats()` also after stop. */
export interface NativeEmulator {
  start(): void;
  stop(): void;
  stats(): EmulatorStats;
}

/** Why an emulator did not start (emulator.h): the file, the mapping, the library, or a library that is not the map's model. */
export type EmulatorErrorCode = 'open' | 'map' | 'load' | 'mismatch' | 'argument';

/**
 * Creates an emulator (file created and mapped, identification written, model loaded; not yet
 * serving). Throws ModelError with the emulator's code in the message on failure, or when the
 * addon is not built; TypeError/RangeError for malformed options.
 */
export function createEmulator(options: EmulatorOptions): NativeEmulator {
  const a = nativeAddon() as unknown as { Emulator?: new (o: EmulatorOptions) => NativeEmulator } | null;
  if (a === null || a.Emulator === undefined) throw new ModelError(options.libraryPath, 'the native addon is not built with the emulator (run `make build`)');
  try {
    return new a.Emulator(options);
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw err;
    const code = (err as { code?: unknown }).code;
    throw new ModelError(options.devicePath, `emulator refused (${typeof code === 'string' ? code : 'error'}): ${(err as Error).message}`, { cause: err });
  }
}
