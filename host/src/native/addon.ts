import { copyFileSync, existsSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { basename, dirname, join, resolve } from 'node:path';
import { monotonicClock, type Clock } from '../core/clock.js';
import { DeviceError, ModelError } from '../core/errors.js';

/**
 * The typed wrapper of the native addon (host/native), the only file allowed loose types.
 * Built by `make` (`node-gyp rebuild --nodedir=/usr` in host/native).
 */
interface NativeAddon {
  stamp(array: Float64Array, index: number): void;
  nowNs(): number;
  /** The CLOCK_MONOTONIC ns that `stamp` and `nowNs` count from (absent from older builds). */
  monotonicOriginNs?: number;
  /** A stamp array bound once; `stamp(index)` writes the time into it. Freed with its owner. */
  StampBinding: new (array: Float64Array) => { stamp(index: number): void };
  SimModel: new (path: string) => NativeSimModel;
  FpgaDevice: new (path: string, map: FpgaRegisterMap, options?: FpgaDeviceOptions) => NativeFpgaDevice;
  /** Inflates every gzip member of src into dst (libdeflate), returns the bytes written; throws
   * an Error whose `code` is not-gzip, bad-data, dst-too-small or no-memory. Absent from
   * addons built before it (host/src/modalities/alerts/gunzip.ts then uses node:zlib). */
  gunzipInto?: (src: Uint8Array, dst: Uint8Array) => number;
  /** memmove of src[srcOffset, srcOffset + length) to dst[dstOffset ..]; TypeError/RangeError
   * on bad arguments. Absent from addons built before it. */
  copyBytes?: (dst: Uint8Array, dstOffset: number, src: Uint8Array, srcOffset: number, length: number) => void;
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
  /** Bytes of one camera frame the pixel entry takes (the firmware preprocesses); 0: none. */
  readonly nPx: number;
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
  /** From now on `run()` predicts through the library's sliding-window stream (a window that is
   * an earlier one moved up reuses the rows that did not change: the same bits); false, and
   * `run()` unchanged, when the library has none. Absent from addons built before it. */
  openStream?(): boolean;
  /** Predictions of the open stream that reused rows (0 without one). */
  streamReused?(): number;
  /** Holds the buffer frames lie in (any length) and y[nOut] for `runPixels`; throws RangeError when nPx is 0. */
  bindPixels(px: Uint8Array, y: Float32Array): void;
  /** The frame px[offset, offset + nPx) through the firmware's pixel entry into the bound y. */
  runPixels(offset: number): void;
  close(): void;
}

/**
 * What the FPGA driver checks a device against: the fields of a model's regmap.json
 * (hls/compiler/regmap.ts RegisterMap has them all; docs/fpga-protocol.md).
 */
export interface FpgaRegisterMap {
  readonly layout: number;
  readonly magic: number;
  /** Input values a frame: input_t values, or a camera frame's bytes when inKind is 'pixels'. */
  readonly nIn: number;
  readonly nOut: number;
  /** What the input window takes (the IN_KIND register); absent: 'values'. */
  readonly inKind?: 'values' | 'pixels';
  /** 0 on a pixel device (no fixed-point type). */
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
  /** MODE written at open; absent: open only reads the device and leaves MODE as it is (an
   * autonomous sorter keeps running). */
  readonly mode?: 0 | 1;
  /** Byte offset of the register region in the file (a multiple of 4096; default 0): where a
   * card's block design puts the kernel in its BAR (vivado/address_map.json). */
  readonly offsetBytes?: number;
}

/** What an opened device reports: the map's sizes and the device's own latency registers. */
export interface FpgaDeviceInfo {
  readonly path: string;
  readonly nIn: number;
  readonly nOut: number;
  /** 'pixels': the device takes a camera frame's nIn bytes (runPixels), not input_t values (run). */
  readonly inKind: 'values' | 'pixels';
  /** 0 on a pixel device. */
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
  /** A job timed out and the device has not answered since: jobs fail at once with `faulted`. */
  readonly faulted: boolean;
  /** Jobs failed at once (no spin, no device access) because the device was faulted. */
  readonly faultedFast: number;
  /** probe() calls on a faulted device, and the faults they cleared. */
  readonly reprobes: number;
  readonly recoveries: number;
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
export type FpgaDeviceCode = 'map' | 'types' | 'open' | 'size' | 'mmap' | 'magic' | 'layout' | 'mismatch' | 'timeout' | 'faulted' | 'reset' | 'corrupt';

/**
 * One mapped device (host/native/src/fpga_driver.h), host in the loop after open. Every
 * method is synchronous; wrong argument types throw TypeError, wrong lengths RangeError, a
 * failed job an Error whose `code` is a FpgaDeviceCode, use after close Error.
 */
export interface NativeFpgaDevice {
  info(): FpgaDeviceInfo;
  /** Holds x[nIn] and y[nOut] for `run` (until the next bind or close). */
  bind(x: Float32Array, y: Float32Array): void;
  /** One job from the bound x into the bound y; inputs converted as the firmware's bridge does.
   * Returns the job's device wait, ns (ap_start to DONE_COUNT change). */
  run(seq: number): number;
  /** One job on raw values (sign-extended W-bit patterns). */
  predictRaw(x: Int32Array, y: Int32Array, seq: number): void;
  /** Holds the buffer camera frames lie in (any length), the frame's bytes and y[nOut] for `runPixels`;
   * RangeError when a pixel device's frame is not nIn bytes. runPixels on a device that takes
   * values throws code 'values'; run on a pixel device throws code 'pixels'. */
  bindPixels(px: Uint8Array, nPx: number, y: Float32Array): void;
  /** One job on the frame px[offset, offset + nPx), packed four bytes a word into the input
   * window (firmware that preprocesses); returns the device wait, ns, as `run`. */
  runPixels(offset: number, seq: number): number;
  /** 0: host in the loop; 1: autonomous. */
  setMode(mode: number): void;
  /** THRESH[k] = raw result bits; the most positive raw value never fires. */
  setThreshold(k: number, raw: number): void;
  /** Copies up to out.length / FPGA_EVENT_FIELDS records, releases them to the device, returns the count. */
  drainEvents(out: Float64Array): number;
  /**
   * Off the hot path, on a faulted device (reads only): true when it answers again (the
   * timed-out job completed, the device reset, or a new device with the same identification
   * is at the path, which is mapped instead) and the fault is cleared, or when it was not
   * faulted; false while it does not answer, or a new device at the path does not run the
   * model (the next `faulted` job errors name why).
   */
  probe(): boolean;
  /**
   * Diagnostic (the bench's host-overhead breakdown; never needed to drive a card): while
   * bound, each completed job writes FPGA_TIMELINE_FIELDS numbers to ring[3 * (jobs % (length
   * / 3))]: its seq, the CLOCK_MONOTONIC ns just before the doorbell and when DONE_COUNT was
   * seen to move (absolute: `monotonicOriginNs()` converts the clock's stamps). Null unbinds.
   */
  bindTimeline(ring: Float64Array | null): void;
  stats(): FpgaDeviceStats;
  close(): void;
}

/** Numbers per job in the driver's diagnostic timeline (`bindTimeline`): seq, doorbellNs, doneSeenNs. */
export const FPGA_TIMELINE_FIELDS = 3;

const ADDON = 'hairtrigger_native.node';
/** The device emulator's own addon (binding.gyp's second target): never loaded by the daemon. */
const EMULATOR_ADDON = 'hairtrigger_emulator.node';

/** An addon's path: from source (vitest) and from build/ (the compiled CLI). */
function addonPath(file: string): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '..', '..', 'native', 'build', 'Release', file), resolve(here, '..', '..', '..', '..', 'host', 'native', 'build', 'Release', file)];
  return candidates.find((p) => existsSync(p)) ?? null;
}

let loaded: NativeAddon | null | undefined;
let loadedEmulator: EmulatorAddon | null | undefined;

/** Loads the addon once; null when it has not been built. */
export function nativeAddon(): NativeAddon | null {
  if (loaded === undefined) {
    const path = addonPath(ADDON);
    loaded = path === null ? null : (createRequire(import.meta.url)(path) as NativeAddon);
  }
  return loaded;
}

interface EmulatorAddon {
  Emulator: new (o: EmulatorOptions) => NativeEmulator;
}

/** Loads the emulator's addon once; null when it has not been built. */
function emulatorAddon(): EmulatorAddon | null {
  if (loadedEmulator === undefined) {
    const path = addonPath(EMULATOR_ADDON);
    loadedEmulator = path === null ? null : (createRequire(import.meta.url)(path) as EmulatorAddon);
  }
  return loadedEmulator;
}

/** The byte loop `copyBytes` falls back to without the addon (~2-3 ns a byte in V8). */
function copyBytesLoop(dst: Uint8Array, dstOffset: number, src: Uint8Array, srcOffset: number, length: number): void {
  for (let b = 0; b < length; b++) dst[dstOffset + b] = src[srcOffset + b]!;
}

let copyBytesImpl: ((dst: Uint8Array, dstOffset: number, src: Uint8Array, srcOffset: number, length: number) => void) | undefined;

/**
 * Copies `src[srcOffset, srcOffset + length)` into `dst` at `dstOffset` without allocating:
 * the addon's memmove (about 0.1-0.3 us a 3 KB crop), else a byte loop. Hot-path safe (no view
 * object, unlike `dst.set(src.subarray(..))`). The caller checks the spans (the addon throws
 * RangeError for a bad one; the loop would read undefined as 0).
 */
export function copyBytesFn(): (dst: Uint8Array, dstOffset: number, src: Uint8Array, srcOffset: number, length: number) => void {
  copyBytesImpl ??= nativeAddon()?.copyBytes ?? copyBytesLoop;
  return copyBytesImpl;
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
  const copy = libraryCopies !== null && existsSync(path) ? privateCopy(path, libraryCopies) : null;
  try {
    const model = new a.SimModel(copy ?? path);
    if (copy !== null) {
      // The library's own path, as one loaded in place reports it (the copy is gone).
      const info = model.info.bind(model);
      // Defined, not assigned: the addon's methods are read-only properties of the prototype.
      Object.defineProperty(model, 'info', { value: () => ({ ...info(), path }) });
    }
    return model;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = copy === null ? (err as Error).message : (err as Error).message.split(copy).join(path);
    throw new ModelError(path, `model library refused (${typeof code === 'string' ? code : 'error'}): ${message}`, { cause: err });
  } finally {
    // Loaded (mapped) or refused, the file is not needed any more.
    if (copy !== null) unlinkSync(copy);
  }
}

/** Folder and name prefix of the private copies of model libraries; null: load in place. */
let libraryCopies: { dir: string; prefix: string } | null = null;
let librariesCopied = 0;

/**
 * From now on, every model library is loaded from a private copy in `dir` (removed once
 * loaded). A compiled firmware library keeps its layer buffers in globals (hls/compiler:
 * `g_x`, `g_y`, the top's static arrays), and `dlopen` of one path gives every thread of a
 * process the same globals: two pipelines running one library from two worker threads would
 * race on them. A copy is a distinct object with globals of its own. Called by the composition
 * root of a pipeline's worker thread (cli/pipeline-worker.ts); `prefix` makes its names unique
 * among the process's threads.
 */
export function loadModelLibrariesFromCopies(dir: string, prefix: string): void {
  libraryCopies = { dir, prefix };
}

function privateCopy(path: string, at: { dir: string; prefix: string }): string {
  const copy = join(at.dir, `${at.prefix}-${librariesCopied++}-${basename(path)}`);
  copyFileSync(path, copy);
  return copy;
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
 * A clock on CLOCK_MONOTONIC through the addon, whose `stamp` writes into the slot's
 * Float64Array without allocating. Each call makes a new clock that owns its stamp bindings
 * (one per backing buffer stamped into), freed with the clock: give each pipeline its own.
 * Null when the addon is not built.
 */
export function nativeClock(): Clock | null {
  const a = nativeAddon();
  if (a === null) return null;
  // Each backing buffer stamped into is bound once, then stamped by element index: no typed
  // array to unwrap per call. Each array stamped into keeps its binding and its first element's
  // index under this clock's own symbol, found by a property load: `arr.buffer`, which found
  // them before, is a C++ builtin that took 20 of a stamp's 56 ns (2026-12-08, 64 ring slots
  // stamped in turn: 35 ns a stamp now, six a frame). Set once per array, never per frame.
  const bindings = new Map<ArrayBufferLike, { stamp(index: number): void }>();
  const target = Symbol('nativeClock stamp target');
  type Stamped = Float64Array & { [target]?: { binding: { stamp(index: number): void }; first: number } };
  return {
    nowNs: () => a.nowNs(),
    stamp: (arr: Stamped, i) => {
      let t = arr[target];
      if (t === undefined) {
        const buffer = arr.buffer;
        let b = bindings.get(buffer);
        if (b === undefined) {
          b = new a.StampBinding(new Float64Array(buffer, 0, buffer.byteLength >>> 3));
          bindings.set(buffer, b);
        }
        t = { binding: b, first: arr.byteOffset >>> 3 };
        arr[target] = t;
      }
      t.binding.stamp(t.first + i);
    },
  };
}

/**
 * The CLOCK_MONOTONIC ns the native clock's stamps count from (stamp + origin = the absolute
 * time of the driver's and the emulator's diagnostic timelines); null without the addon.
 */
export function monotonicOriginNs(): number | null {
  return nativeAddon()?.monotonicOriginNs ?? null;
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
  /** The region starts this many bytes into the file (a multiple of 4096; default 0), as a
   * card's kernel sits at an offset in its BAR (the driver's `offsetBytes`). */
  readonly regionOffsetBytes?: number;
  /** Diagnostic: keep the timelines of the last this many host jobs (`timeline`); default 0. */
  readonly timelineJobs?: number;
  /** The CPU the device thread is pinned to (default: the scheduler's choice). Give it a core
   * of its own, away from the driver's: both spin. */
  readonly cpu?: number;
}

/** Numbers per job in the emulator's diagnostic timeline: job, seqLo, seenNs, ranNs, doneNs (CLOCK_MONOTONIC). */
export const EMULATOR_TIMELINE_FIELDS = 5;

export interface EmulatorStats {
  readonly jobs: number;
  readonly frames: number;
  readonly events: number;
  readonly overflows: number;
  readonly faults: number;
  readonly resets: number;
  /** Serving loop turns, and the idle back-off sleeps among them (an idle device sleeps, it does not spin). */
  readonly turns: number;
  readonly sleeps: number;
  /** Words the device top wrote on its trigger_out stream (one per event it fired). */
  readonly triggers: number;
  /** Host jobs whose kernel (run on the CPU) ended after the modelled hold, and the nanoseconds by which ap_done came late in all. */
  readonly overruns: number;
  readonly overrunNs: number;
  readonly running: boolean;
}

/** A running emulator: `start()` once, `stop()` joins its thread (idempotent); `stats()` also after stop. */
export interface NativeEmulator {
  start(): void;
  stop(): void;
  stats(): EmulatorStats;
  /**
   * Diagnostic (a side channel no driver reads): host jobs fromJob, fromJob + 1, ... as the
   * device saw them, EMULATOR_TIMELINE_FIELDS numbers each: the job's index, SEQ_LO, when
   * ap_start was seen, when the kernel's CPU run ended, when DONE_COUNT was published
   * (CLOCK_MONOTONIC ns, the host's clock). As many as fit `out` and the ring (option
   * `timelineJobs`) still holds; returns the count.
   */
  timeline(out: Float64Array, fromJob: number): number;
}

/** Why an emulator did not start (emulator.h): the file, the mapping, the library, or a library that is not the map's model. */
export type EmulatorErrorCode = 'open' | 'map' | 'load' | 'mismatch' | 'argument';

/**
 * Creates an emulator (file created and mapped, identification written, model loaded; not yet
 * serving). Throws ModelError with the emulator's code in the message on failure, or when the
 * addon is not built; TypeError/RangeError for malformed options.
 */
export function createEmulator(options: EmulatorOptions): NativeEmulator {
  const a = emulatorAddon();
  if (a === null) throw new ModelError(options.libraryPath, `the emulator addon (${EMULATOR_ADDON}) is not built (run \`make build\`)`);
  try {
    return new a.Emulator(options);
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw err;
    const code = (err as { code?: unknown }).code;
    throw new ModelError(options.devicePath, `emulator refused (${typeof code === 'string' ? code : 'error'}): ${(err as Error).message}`, { cause: err });
  }
}
