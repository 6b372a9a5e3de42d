import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { assert } from '../core/assert.js';
import { DeviceError, ModelError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { TimerScheduler } from '../sources/source.js';
import { fpgaErrorCode, openFpgaDevice, type FpgaDeviceStats, type FpgaRegisterMap, type NativeFpgaDevice } from '../native/addon.js';
import type { Backend, BackendInfo, ModelRef } from './backend.js';
import { checkFirmwareFits, copyInto } from './firmware.js';

/** An fpga backend's model: `path` is the firmware project's regmap.json. */
export interface FpgaModelRef extends ModelRef {
  /** The memory-mapped region: a BAR resource file, /dev/xdma0_user, or an emulator's /dev/shm file. */
  readonly device: string;
  /** SHA-256 (hex) of the ONNX file the firmware must have been compiled from, when known. */
  readonly sourceSha256?: string;
  /** Spins before a job is a timeout (default limits.pollSpinsMax). */
  readonly spinsMax?: number;
  /** Byte offset of the register region in `device` (default 0; a multiple of 4096). */
  readonly regionOffsetBytes?: number;
  /** Schedules the re-probes of a faulted device (off the hot path); without it only `reprobe()` does. */
  readonly timers?: TimerScheduler;
}

/** What the metrics show of the device besides its counters: fixed once it is open. */
export interface FpgaDeviceIdentity {
  readonly path: string;
  /** SHA-256 (hex) of the ONNX file the firmware was compiled from (the register map's, checked against MODEL_HASH at open). */
  readonly modelSha256: string;
  /** The device's own CLOCK_KHZ and LATENCY_CYCLES registers. */
  readonly clockKhz: number;
  readonly latencyCycles: number;
}

/**
 * The device's autonomous side (docs/fpga-protocol.md "Autonomous"), for the event source:
 * the driver's calls, plus the result type's width and fraction bits for raw thresholds.
 */
export interface FpgaEventPort {
  readonly path: string;
  readonly classes: number;
  readonly outWidth: number;
  readonly outFrac: number;
  readonly clockKhz: number;
  setMode(mode: number): void;
  setThreshold(k: number, raw: number): void;
  drainEvents(out: Float64Array): number;
  stats(): FpgaDeviceStats;
}

/** The fpga backend, with the driver's counters for the metrics. */
export interface FpgaBackend extends Backend {
  deviceStats(): FpgaDeviceStats;
  deviceIdentity(): FpgaDeviceIdentity;
  /** The same open device, for autonomous mode (then `predict` is not called). */
  eventPort(): FpgaEventPort;
  /** Probes a faulted device now (what the scheduled re-probe does): true when it is not faulted (any more). */
  reprobe(): boolean;
  /** The last completed job's device wait, ns (the metrics' per-frame `device` series). */
  readonly lastWaitNs: number;
  /** Diagnostic (bench): the driver's per-job doorbell and done-seen stamps into `ring`
   * (NativeFpgaDevice.bindTimeline); null unbinds. */
  bindTimeline(ring: Float64Array | null): void;
}

/** Whether a backend is the fpga one (so the daemon can show its device). */
export function isFpgaBackend(b: Backend): b is FpgaBackend {
  return b.info().kind === 'fpga' && typeof (b as Partial<FpgaBackend>).deviceStats === 'function';
}

/**
 * Bytes of a camera frame the device takes: regmap.json's nIn when it says the device takes
 * pixels (inKind 'pixels', the IN_KIND register the driver checks at open: firmware that
 * preprocesses, hls/compiler/pixels-writer.ts); else undefined (the host preprocesses and
 * sends input_t values). A pixel device's project must have model.json's `pixels` with the
 * same frame size: otherwise a ModelError naming model.json.
 */
function devicePixels(regmapPath: string, map: RegmapFile): DevicePixels | undefined {
  if (map.inKind === undefined || map.inKind === 'values') return undefined;
  if (map.inKind !== 'pixels') throw new ModelError(regmapPath, `inKind is ${JSON.stringify(map.inKind)}; 'values' or 'pixels' (hairtrigger compile writes it)`);
  const path = join(dirname(regmapPath), 'model.json');
  let model: { pixels?: { nPx?: unknown }; input?: { shape?: unknown } };
  try {
    model = JSON.parse(readFileSync(path, 'utf8')) as typeof model;
  } catch (err) {
    throw new ModelError(path, `cannot read the firmware project's model.json, which a pixel device (regmap.json inKind 'pixels') needs: ${(err as Error).message}`, { cause: err });
  }
  const n = model.pixels?.nPx;
  if (n === undefined) throw new ModelError(path, `has no pixels entry, but ${regmapPath} says the device takes pixels: recompile the project (hairtrigger compile writes both)`);
  if (n !== map.nIn) throw new ModelError(path, `pixels.nPx is ${JSON.stringify(n)}, but the device takes frames of ${map.nIn} bytes (${regmapPath} nIn): recompile the project`);
  const shape = model.input?.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0)) throw new ModelError(path, `input.shape is ${JSON.stringify(shape)}, not a list of positive integers`);
  return { nPx: n, networkIn: (shape as number[]).reduce((a, b) => a * b, 1) };
}

/** A pixel device's frame bytes and the network input its firmware preprocesses them into. */
interface DevicePixels {
  readonly nPx: number;
  readonly networkIn: number;
}

/** regmap.json as compile writes it (hls/compiler/regmap.ts): the fields this backend reads. */
interface RegmapFile extends FpgaRegisterMap {
  readonly name: string;
  readonly modelSha256: string;
  readonly outTypeText: string;
  readonly latencyCycles: number;
}

function readRegmap(path: string): RegmapFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ModelError(path, `cannot read the register map: ${(err as Error).message} (hairtrigger compile writes it)`, { cause: err });
  }
  const m = raw as Partial<RegmapFile> | null;
  if (m === null || typeof m !== 'object' || typeof m.name !== 'string' || typeof m.modelSha256 !== 'string' || !Array.isArray(m.modelHashWords)) {
    throw new ModelError(path, 'not a register map: name, modelSha256 and modelHashWords are required (hls/compiler/regmap.ts)');
  }
  return m as RegmapFile;
}

/**
 * The firmware on an FPGA, host in the loop, through the register-level driver
 * (host/native/src/fpga_driver.h, docs/fpga-protocol.md). Refuses with a ModelError a
 * register map that does not fit the pipeline or was compiled from another ONNX file, and
 * with a DeviceError (reason open, size, mmap, magic, layout, mismatch, ...) a device that
 * does not run that firmware.
 *
 * `predict` copies the input into a buffer bound to the driver once, runs one job and copies
 * the logits out: no allocation. A job that fails (timeout, reset, corrupt) throws a
 * DeviceError, which the pipeline counts against that frame. After a timeout the device is
 * faulted: each predict throws DeviceError reason `faulted` at once (no spin) while a timer
 * (`ref.timers`) re-probes it read-only with exponential back-off
 * (limits.fpgaReprobeDelayMinMs to fpgaReprobeDelayMaxMs) until it answers again.
 */
export function loadFpgaBackend(ref: FpgaModelRef): FpgaBackend {
  const map = readRegmap(ref.path);
  const pixels = devicePixels(ref.path, map);
  // A pixel device's nIn counts the frame's bytes; the pipeline's shape is the network's input.
  checkFirmwareFits('firmware', pixels === undefined ? map : { ...map, nIn: pixels.networkIn }, ref);
  // No `mode`: opening only reads the device, so an autonomous sorter keeps running.
  const dev = openFpgaDevice(ref.device, map, { spinsMax: ref.spinsMax ?? limits.pollSpinsMax, offsetBytes: ref.regionOffsetBytes ?? 0 });
  try {
    return new FpgaDeviceBackend(dev, map, ref, pixels?.nPx);
  } catch (err) {
    dev.close();
    throw err;
  }
}

class FpgaDeviceBackend implements FpgaBackend {
  private readonly x: Float32Array;
  private readonly y: Float32Array;
  private readonly desc: BackendInfo;
  private readonly identity: FpgaDeviceIdentity;
  private seq = 0;
  lastWaitNs = 0;
  /** Bytes of a camera frame `predictPixels` takes (absent: the device takes input_t values). */
  readonly pixelBytes?: number;
  /** The buffer frames were last read from: rebound only when frames move to another one. */
  private pixelSource: Uint8Array | null = null;
  private closed = false;
  private reprobeTimer: unknown = null;
  private reprobeDelayMs: number = limits.fpgaReprobeDelayMinMs;

  constructor(private readonly dev: NativeFpgaDevice, map: RegmapFile, private readonly ref: FpgaModelRef, pixelBytes: number | undefined) {
    this.x = new Float32Array(map.nIn);
    this.y = new Float32Array(map.nOut);
    dev.bind(this.x, this.y);
    this.pixelBytes = pixelBytes;
    // The firmware stops at the logits (the compiler leaves a trailing softmax to the host).
    this.desc = { kind: 'fpga', model: ref.path, inputShape: [...ref.inputShape], outputs: map.nOut, outputKind: 'logits', precision: map.outTypeText,
      params: ref.params ?? null, modelledCycles: map.latencyCycles };
    const di = dev.info();
    this.identity = { path: di.path, modelSha256: map.modelSha256, clockKhz: di.clockKhz, latencyCycles: di.latencyCycles };
  }

  info(): BackendInfo {
    return { ...this.desc, inputShape: [...this.desc.inputShape] };
  }

  predict(input: Float32Array, output: Float32Array): void {
    assert(!this.closed, 'fpga backend: predict after close');
    // A pixel device takes no input_t values: the driver refuses the job (DeviceError 'pixels').
    if (this.pixelBytes === undefined) copyInto(this.x, input);
    // SEQ numbers the jobs this backend issued; it stays a small integer (no BigInt).
    const seq = this.seq++;
    try {
      this.lastWaitNs = this.dev.run(seq);
    } catch (err) {
      throw this.jobError(err);
    }
    copyInto(output, this.y);
  }

  predictPixels(raw: Uint8Array, offset: number, output: Float32Array): void {
    assert(!this.closed && this.pixelBytes !== undefined, 'fpga backend: predictPixels after close or without pixel firmware');
    if (raw !== this.pixelSource) {
      this.dev.bindPixels(raw, this.pixelBytes, this.y);
      this.pixelSource = raw;
    }
    const seq = this.seq++;
    try {
      this.lastWaitNs = this.dev.runPixels(offset, seq);
    } catch (err) {
      throw this.jobError(err);
    }
    copyInto(output, this.y);
  }

  /** A failed job's DeviceError; a timeout schedules the re-probe. */
  private jobError(err: unknown): DeviceError {
    const reason = fpgaErrorCode(err);
    if (reason === 'timeout') this.scheduleReprobe();
    return new DeviceError(this.ref.device, reason, (err as Error).message, { cause: err });
  }

  reprobe(): boolean {
    assert(!this.closed, 'fpga backend: reprobe after close');
    // False leaves the device faulted; the `faulted` errors of the next frames say why.
    return this.dev.probe();
  }

  /** Once per fault, from the job that timed out: the timer, not the hot path, re-probes. */
  private scheduleReprobe(): void {
    const timers = this.ref.timers;
    if (timers === undefined || this.reprobeTimer !== null) return;
    this.reprobeDelayMs = limits.fpgaReprobeDelayMinMs;
    const tick = (): void => {
      this.reprobeTimer = null;
      if (this.closed || this.reprobe()) return;
      this.reprobeDelayMs = Math.min(this.reprobeDelayMs * 2, limits.fpgaReprobeDelayMaxMs);
      this.reprobeTimer = timers.setTimeout(tick, this.reprobeDelayMs);
    };
    this.reprobeTimer = timers.setTimeout(tick, this.reprobeDelayMs);
  }

  deviceStats(): FpgaDeviceStats {
    return this.dev.stats();
  }

  bindTimeline(ring: Float64Array | null): void {
    this.dev.bindTimeline(ring);
  }

  deviceIdentity(): FpgaDeviceIdentity {
    return this.identity;
  }

  eventPort(): FpgaEventPort {
    const dev = this.dev;
    const di = dev.info();
    return {
      path: this.ref.device, classes: di.nOut, outWidth: di.outWidth, outFrac: di.outFrac, clockKhz: di.clockKhz,
      setMode: (mode) => dev.setMode(mode),
      setThreshold: (k, raw) => dev.setThreshold(k, raw),
      drainEvents: (out) => dev.drainEvents(out),
      stats: () => dev.stats(),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reprobeTimer !== null) this.ref.timers?.clearTimeout(this.reprobeTimer);
    this.reprobeTimer = null;
    this.dev.close();
  }
}
