/**
 * `hairtrigger emulate-fpga`: serves the FPGA register protocol (docs/fpga-protocol.md) from a
 * file in /dev/shm, with the compiled firmware's simulator library as the device's model
 * (sim/emulator/emulator.h does the serving, on its own thread). This module reads the
 * firmware project (regmap.json, lib<name>.so), and for the autonomous mode turns a capture
 * into the raw input values the device would see: the model card's preprocessing, then the
 * input type's conversion exactly as the simulator bridge does it (hls/compiler/bridge.ts
 * from_float).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, ModelError } from '../../host/src/core/errors.js';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import { readModelCard, type ModelCard } from '../../host/src/model/card.js';
import { createModelPreprocessor } from '../../host/src/preprocess/model-input.js';
import { REGMAP_LAYOUT_VERSION } from '../../hls/compiler/regmap.js';
import { createEmulator, type EmulatorFaultKind, type EmulatorRegisterMap, type EmulatorStats, type NativeEmulator } from '../../host/src/native/addon.js';

/** A firmware project's register map, as regmap.json holds it, with the model's name. */
export interface FirmwareMap extends EmulatorRegisterMap {
  readonly name: string;
  /** Values per bus word and the words of the input and output windows (layout 3). */
  readonly inPack: number;
  readonly outPack: number;
  readonly inWords: number;
  readonly outWords: number;
}

/** Vendor enum numbering of the TYPE words (hls/compiler/regmap.ts). */
const Q_AP_RND = 0, Q_AP_TRN = 5, Q_AP_TRN_ZERO = 6;
const O_AP_SAT = 0, O_AP_WRAP = 3;

/** Reads `<dir>/regmap.json`; a ConfigError names the file when it is missing or not of REGMAP_LAYOUT_VERSION (3). */
export function readFirmwareMap(dir: string): FirmwareMap {
  const path = join(dir, 'regmap.json');
  if (!existsSync(path)) throw new ConfigError('--model', `${path}: no regmap.json (compile the model with \`hairtrigger compile\` or \`make firmware\`)`);
  const map = JSON.parse(readFileSync(path, 'utf8')) as FirmwareMap;
  if (map.layout !== REGMAP_LAYOUT_VERSION || typeof map.name !== 'string') {
    throw new ConfigError('--model', `${path}: layout ${String(map.layout)}, this emulator serves layout ${REGMAP_LAYOUT_VERSION} (recompile: make firmware)`);
  }
  return map;
}

/**
 * The float -> raw conversion of an input type word (W | I << 8 | Q << 16 | O << 24): floor
 * (AP_TRN), truncation (AP_TRN_ZERO) or floor(x + 1/2) (AP_RND) of x * 2^F, then a clamp
 * (AP_SAT) or the low W bits sign-extended (AP_WRAP). x * 2^F is exact in a double for a
 * float32 x, as in the bridge. Other modes are refused with a ConfigError; a non-finite value
 * throws the same (the preprocessor refuses those first).
 */
export function rawConverter(typeWord: number): (x: number) => number {
  const width = typeWord & 0xff;
  const integer = ((typeWord >>> 8) & 0xff) << 24 >> 24;
  const q = (typeWord >>> 16) & 0xff, o = typeWord >>> 24;
  if (width < 1 || width > 32 || ![Q_AP_RND, Q_AP_TRN, Q_AP_TRN_ZERO].includes(q) || ![O_AP_SAT, O_AP_WRAP].includes(o)) {
    throw new ConfigError('regmap.inType', `0x${typeWord.toString(16)}: the emulator converts widths 1..32 with AP_TRN, AP_TRN_ZERO or AP_RND and AP_SAT or AP_WRAP`);
  }
  const scale = 2 ** (width - integer), lo = -(2 ** (width - 1)), hi = 2 ** (width - 1) - 1, span = 2 ** width;
  return (x) => {
    const d = x * scale;
    if (!Number.isFinite(d)) throw new ConfigError('input', `value ${x} is not finite`);
    const r = q === Q_AP_TRN ? Math.floor(d) : q === Q_AP_RND ? Math.floor(d + 0.5) : Math.trunc(d);
    if (o === O_AP_SAT) return r < lo ? lo : r > hi ? hi : r;
    const low = ((r % span) + span) % span; // the low W bits, as an unsigned value
    return low > hi ? low - span : low;
  };
}

/** The zoo card whose firmware name (`<task>_<variant>`, as daemon.ts firmwareName) is `name`; null when none. */
export function findCard(name: string, zooDir: string): ModelCard | null {
  if (!existsSync(zooDir)) return null;
  for (const entry of readdirSync(zooDir, { withFileTypes: true })) {
    const dir = join(zooDir, entry.name);
    if (!entry.isDirectory() || !existsSync(join(dir, 'card.json'))) continue;
    const card = readModelCard(dir);
    for (const variant of ['student', 'teacher']) {
      if (`${card.task}_${variant}`.replace(/[^A-Za-z0-9_]/g, '_') === name) return card;
    }
  }
  return null;
}

/**
 * Raw device inputs of every frame of a capture: preprocess with the card, convert with the
 * map's input type; for a pixel device (map inKind 'pixels') the frame's bytes as they are.
 */
export function captureToRaw(capturePath: string, card: ModelCard, map: FirmwareMap): { raw: Int32Array; seq: Float64Array } {
  const capture = readCapture(capturePath);
  if (map.inKind === 'pixels') {
    const raw = new Int32Array(capture.count * map.nIn);
    for (let f = 0; f < capture.count; f++) {
      const bytes = capture.offsets[f + 1]! - capture.offsets[f]!;
      if (bytes !== map.nIn) throw new ConfigError('--replay', `${capturePath} frame ${f}: ${bytes} bytes, the pixel device takes frames of ${map.nIn}`);
      raw.set(capture.frames.subarray(capture.offsets[f]!, capture.offsets[f]! + bytes), f * map.nIn);
    }
    return { raw, seq: capture.seq };
  }
  const pre = createModelPreprocessor(card.preprocessing, `${card.dir}/card.json preprocessing`);
  if (pre.inputElements !== map.nIn) throw new ConfigError('--card', `${card.dir}: the preprocessing gives ${pre.inputElements} values, the firmware takes ${map.nIn}`);
  const convert = rawConverter(map.inType);
  const x = new Float32Array(map.nIn);
  const raw = new Int32Array(capture.count * map.nIn);
  for (let f = 0; f < capture.count; f++) {
    const bytes = capture.offsets[f + 1]! - capture.offsets[f]!;
    if (bytes !== pre.frameBytes) throw new ConfigError('--replay', `${capturePath} frame ${f}: ${bytes} bytes, the card's preprocessing reads ${pre.frameBytes}`);
    pre.run(capture.frames, capture.offsets[f]!, x);
    for (let i = 0; i < map.nIn; i++) raw[f * map.nIn + i] = convert(x[i]!);
  }
  return { raw, seq: capture.seq };
}

export interface EmulateFpgaOptions {
  /** Compiled firmware project folder: regmap.json and lib<name>.so. */
  readonly model: string;
  /** The region file, e.g. /dev/shm/ht-jets. */
  readonly device: string;
  readonly clockMhz?: number;
  readonly autonomous?: boolean;
  /** Capture replayed in autonomous mode (needs the model card: `card`, or found in `zooDir`). */
  readonly replay?: string;
  readonly rateHz?: number;
  readonly loop?: boolean;
  /** A fault spec: never-done, done-late:US, late-once:US@N, corrupt-output:N, reset-after:N, wrong-magic, wrong-hash, fifo-overflow. */
  readonly fault?: string;
  readonly card?: string;
  readonly zooDir?: string;
  /** runEmulateFpga: interval of the progress line (default 10 s). */
  readonly progressMs?: number;
  /** The CPU the device thread is pinned to (default: the scheduler's choice). */
  readonly cpu?: number;
}

const FAULTS_ALLOWED = 'never-done, done-late:US, late-once:US@N, corrupt-output:N, reset-after:N, wrong-magic, wrong-hash, fifo-overflow';

/** Parses `kind[:value]` (`late-once:US@N`: job N, counted from 1, US microseconds late); a ConfigError names the spec and what is allowed. */
export function parseFault(spec: string): { kind: EmulatorFaultKind; value?: number; at?: number } {
  const [kind, arg] = spec.split(':', 2) as [string, string | undefined];
  if (kind === 'late-once') {
    const m = /^(\d+)@(\d+)$/.exec(arg ?? '');
    const value = Number(m?.[1]), at = Number(m?.[2]);
    if (m === null || !Number.isSafeInteger(value) || !Number.isSafeInteger(at) || at < 1) {
      throw new ConfigError('--fault', `'${spec}': late-once needs :US@N, US >= 0 microseconds late, N >= 1 the job (counted from 1)`);
    }
    return { kind, value, at };
  }
  const needs = kind === 'done-late' || kind === 'corrupt-output' || kind === 'reset-after';
  const plain = ['never-done', 'wrong-magic', 'wrong-hash', 'fifo-overflow', 'none'];
  if (needs) {
    const value = Number(arg);
    if (arg === undefined || !Number.isInteger(value) || value < (kind === 'done-late' ? 0 : 1)) throw new ConfigError('--fault', `'${spec}': ${kind} needs :N, an integer ${kind === 'done-late' ? '>= 0 (us)' : '>= 1 (jobs)'}`);
    return { kind, value };
  }
  if (!plain.includes(kind) || arg !== undefined) throw new ConfigError('--fault', `'${spec}'; allowed: ${FAULTS_ALLOWED}`);
  return { kind: kind as EmulatorFaultKind };
}

/**
 * Creates and starts an emulator for a firmware project. The caller owns it: `stop()` joins
 * its thread and removes the device file. Throws ConfigError for bad options, ModelError
 * when the library is not the map's model or the file cannot be created.
 */
export function startEmulator(o: EmulateFpgaOptions): { emulator: NativeEmulator; map: FirmwareMap } {
  const dir = resolve(o.model);
  const map = readFirmwareMap(dir);
  const libraryPath = join(dir, `lib${map.name}.so`);
  if (!existsSync(libraryPath)) throw new ModelError(libraryPath, 'no simulator library (build it with `make firmware` or `hairtrigger compile`)');
  if (o.autonomous === true && o.replay === undefined) throw new ConfigError('--autonomous', 'needs --replay CAPTURE: the frames the device takes');
  let source;
  if (o.replay !== undefined) {
    const card = o.card !== undefined ? readModelCard(resolve(o.card)) : findCard(map.name, o.zooDir ?? '');
    if (card === null) throw new ConfigError('--card', `no model card for firmware ${map.name} under ${o.zooDir ?? '(no zoo)'}: pass --card DIR`);
    const { raw, seq } = captureToRaw(o.replay, card, map);
    source = { raw, seq, rateHz: o.rateHz ?? 0, loop: o.loop ?? false };
  }
  const emulator = createEmulator({
    devicePath: o.device, libraryPath, regmap: map,
    ...(o.clockMhz !== undefined ? { clockMhz: o.clockMhz } : {}),
    autonomous: o.autonomous ?? false,
    ...(source !== undefined ? { source } : {}),
    ...(o.fault !== undefined ? { fault: parseFault(o.fault) } : {}),
    ...(o.cpu !== undefined ? { cpu: o.cpu } : {}),
  });
  emulator.start();
  return { emulator, map };
}

/**
 * The CLI's loop: starts the emulator, reports on `log`, and on SIGINT or SIGTERM stops it
 * (the device file is removed) and resolves with the final counts.
 */
export async function runEmulateFpga(o: EmulateFpgaOptions, log: (line: string) => void): Promise<EmulatorStats> {
  const { emulator, map } = startEmulator(o);
  log(`emulating ${map.name} at ${o.device}: ${map.nIn} -> ${map.nOut}, ${map.latencyCycles} cycles at ${o.clockMhz ?? map.clockKhz / 1000} MHz, ${map.regionBytes} bytes` +
    `${o.autonomous ? `, autonomous replay of ${o.replay}` : ''}${o.fault ? `, fault ${o.fault}` : ''}; Ctrl-C stops`);
  await new Promise<void>((done) => {
    // The timer also keeps Node's event loop alive: signal listeners alone do not.
    const progress = setInterval(() => log(`running: ${JSON.stringify(emulator.stats())}`), o.progressMs ?? 10000);
    const stop = (): void => {
      clearInterval(progress);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  emulator.stop();
  const stats = emulator.stats();
  log(`stopped: ${JSON.stringify(stats)}`);
  return stats;
}
