/**
 * The register map of a compiled model (docs/fpga-protocol.md, layout version 3): fixed
 * control, identification and FIFO registers, then the threshold, input and output windows
 * and the event records, placed by the model's sizes. Written into the firmware project as
 * `regmap.json` (what the driver and the emulator read) and `firmware/<name>_regs.h`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../host/src/core/errors.js';
import type { FixedType } from './precision.js';

/**
 * 3: inputs and outputs packed on the bus (IN_PACK, OUT_PACK: values per 32-bit word) and
 * the hold-off register (HOLDOFF_CYCLES), and IN_KIND (0x07C, a slot of the identification
 * block that earlier layout-3 devices held at 0, which still reads "input_t values").
 * 2 added OUT_CHECK (0x09C); layout 1 had neither.
 */
export const REGMAP_LAYOUT_VERSION = 3;
export const REGMAP_MAGIC = 0x48544657; // "HTFW"
/** Event records in the FIFO unless the caller asks otherwise. */
export const FIFO_CAPACITY_DEFAULT = 1024;
export const FIFO_RECORD_BYTES = 32;
const PAGE_BYTES = 4096;
const WINDOWS_START = 0x100;
const WINDOW_ALIGN_MIN = 64;

/** Fixed registers: byte offsets. */
export const REG = {
  CTRL: 0x000, GIE: 0x004, IER: 0x008, ISR: 0x00c,
  MODE: 0x010, SEQ_LO: 0x018, SEQ_HI: 0x01c,
  MAGIC: 0x020, LAYOUT: 0x024, N_IN: 0x028, N_OUT: 0x02c, IN_TYPE: 0x030, OUT_TYPE: 0x034,
  CLOCK_KHZ: 0x038, LATENCY_CYCLES: 0x03c, MODEL_HASH: 0x040, II: 0x060, FIFO_CAPACITY: 0x064,
  IN_OFFSET: 0x068, OUT_OFFSET: 0x06c, THRESH_OFFSET: 0x070, FIFO_OFFSET: 0x074, REGION_BYTES: 0x078, IN_KIND: 0x07c,
  FIFO_HEAD: 0x080, FIFO_TAIL: 0x084, FIFO_OVERFLOWS: 0x088, CYCLE_LO: 0x08c, CYCLE_HI: 0x090,
  DONE_COUNT: 0x094, RESET_COUNT: 0x098, OUT_CHECK: 0x09c,
  IN_PACK: 0x0a0, OUT_PACK: 0x0a4, HOLDOFF_CYCLES: 0x0a8,
} as const;

/**
 * Values per 32-bit bus word of a type `widthBits` wide (docs/fpga-protocol.md, "Packing"):
 * 4 up to 8 bits, 2 up to 16, else 1. Value i sits in word floor(i / P), lane i % P (lane 0
 * in the low bits), as its W-bit pattern sign-extended to the lane.
 */
export function packOf(widthBits: number): 1 | 2 | 4 {
  return widthBits <= 8 ? 4 : widthBits <= 16 ? 2 : 1;
}

/** Raw values (sign-extended W-bit patterns) -> bus words, `pack` values a word. Allocates: tests and tools. */
export function packWords(values: ArrayLike<number>, pack: number): Int32Array {
  const lane = 32 / pack;
  const mask = lane === 32 ? 0xffffffff : (1 << lane) - 1;
  const words = new Int32Array(Math.ceil(values.length / pack));
  for (let i = 0; i < values.length; i++) words[Math.floor(i / pack)]! |= ((values[i]! & mask) << (lane * (i % pack)));
  return words;
}

/** Bus words -> `n` raw values (each lane sign-extended), the inverse of packWords. Allocates. */
export function unpackWords(words: ArrayLike<number>, pack: number, n: number): Int32Array {
  const lane = 32 / pack;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = ((words[Math.floor(i / pack)]! << (32 - lane * (i % pack) - lane)) >> (32 - lane));
  return out;
}

/**
 * What the input window (and sensor_in) carries, the IN_KIND register: 0 the network's
 * input_t values (packed by IN_TYPE's width), 1 a camera frame's uint8 bytes (N_IN of them,
 * four a word, firmware that preprocesses: pixels-writer.ts). A pixel device's IN_TYPE is 0
 * (no fixed-point type), so nothing reads its bytes as a signed 8-bit type, and a driver
 * that predates IN_KIND refuses it at open (no type it converts) instead of sending values.
 */
export const IN_KIND = { values: 0, pixels: 1 } as const;
export type InKind = keyof typeof IN_KIND;
/** IN_TYPE of a pixel device: no fixed-point type (width 0). */
export const IN_TYPE_PIXELS = 0;
/** regmap.json's inTypeText of a pixel device: the byte as the vendor types spell it. */
export const IN_TYPE_TEXT_PIXELS = 'ap_uint<8>';

/** CTRL bits (Vitis HLS ap_ctrl_hs). */
export const CTRL = { AP_START: 1 << 0, AP_DONE: 1 << 1, AP_IDLE: 1 << 2, AP_READY: 1 << 3, AUTO_RESTART: 1 << 7 } as const;

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a (32-bit) over 32-bit words, each taken as its four little-endian bytes (low byte
 * first). The reference of OUT_CHECK; the emulator and the driver compute the same in C++.
 */
export function fnv1a32Words(words: ArrayLike<number>): number {
  let h = FNV_OFFSET_BASIS;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]! >>> 0;
    for (let b = 0; b < 32; b += 8) h = Math.imul(h ^ ((w >>> b) & 0xff), FNV_PRIME) >>> 0;
  }
  return h >>> 0;
}

/**
 * OUT_CHECK of one job (docs/fpga-protocol.md): FNV-1a over SEQ_LO, the DONE_COUNT value the
 * job publishes, then the N_OUT output words (raw bits, sign-extended). Allocates: for tests
 * and tools, not the hot path.
 */
export function outCheck(seqLo: number, doneCount: number, outputs: ArrayLike<number>): number {
  return fnv1a32Words([seqLo, doneCount, ...Array.from(outputs)]);
}

/** Vitis numbering of the quantisation and overflow modes (as hls/nnet/ht_fixed.h). */
const Q_CODE: Record<string, number> = { AP_RND: 0, AP_RND_ZERO: 1, AP_RND_MIN_INF: 2, AP_RND_INF: 3, AP_RND_CONV: 4, AP_TRN: 5, AP_TRN_ZERO: 6 };
const O_CODE: Record<string, number> = { AP_SAT: 0, AP_SAT_ZERO: 1, AP_SAT_SYM: 2, AP_WRAP: 3 };

export interface RegisterMap {
  readonly layout: number;
  readonly magic: number;
  readonly name: string;
  /** Values of the input window: input_t values, or a camera frame's bytes (inKind pixels). */
  readonly nIn: number;
  readonly nOut: number;
  /** What the input window holds (the IN_KIND register, IN_KIND[inKind]). */
  readonly inKind: InKind;
  /** The TYPE register words (W | I << 8 | Q << 16 | O << 24); inType is IN_TYPE_PIXELS for pixels. */
  readonly inType: number;
  readonly outType: number;
  readonly inTypeText: string;
  readonly outTypeText: string;
  readonly clockKhz: number;
  readonly latencyCycles: number;
  readonly ii: number;
  readonly modelSha256: string;
  /** MODEL_HASH words as the device holds them. */
  readonly modelHashWords: number[];
  readonly fifoCapacity: number;
  readonly fifoRecordBytes: number;
  /** Values per bus word (packOf) and the words of each window. */
  readonly inPack: number;
  readonly outPack: number;
  readonly inWords: number;
  readonly outWords: number;
  readonly inOffset: number;
  readonly outOffset: number;
  readonly threshOffset: number;
  readonly fifoOffset: number;
  readonly regionBytes: number;
  readonly registers: Readonly<Record<keyof typeof REG, number>>;
  readonly ctrlBits: Readonly<Record<keyof typeof CTRL, number>>;
}

export interface RegmapInput {
  readonly name: string;
  readonly nIn: number;
  readonly nOut: number;
  readonly inType: FixedType;
  readonly outType: FixedType;
  readonly inTypeText: string;
  readonly outTypeText: string;
  readonly clockMhz: number;
  readonly latencyCycles: number;
  readonly ii: number;
  readonly modelSha256: string;
  readonly fifoCapacity?: number;
  /**
   * The firmware takes a camera frame of `nPx` bytes (model.json's pixels): the input window
   * then holds those bytes, N_IN = nPx, four a word; nIn, inType and inTypeText stay the
   * network's (checked, and kept out of the device's identification).
   */
  readonly pixels?: { readonly nPx: number };
}

/** The TYPE register word of a fixed-point type. */
export function typeWord(t: FixedType): number {
  return (t.width | ((t.integer & 0xff) << 8) | (Q_CODE[t.rounding]! << 16) | (O_CODE[t.saturation]! << 24)) >>> 0;
}

/** SHA-256 hex -> 8 words, word k = bytes 4k..4k+3 with the first byte in the low bits. */
export function hashWords(hex: string): number[] {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new ConfigError('regmap.modelSha256', `'${hex}': need 64 lower-case hex digits`);
  const bytes = Buffer.from(hex, 'hex');
  return Array.from({ length: 8 }, (_, k) => bytes.readUInt32LE(4 * k));
}

function alignUp(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

function pow2AtLeast(v: number): number {
  let p = 1;
  while (p < v) p *= 2;
  return p;
}

/** Places the windows after the fixed registers; see docs/fpga-protocol.md. */
export function registerMap(m: RegmapInput): RegisterMap {
  const fifoCapacity = m.fifoCapacity ?? FIFO_CAPACITY_DEFAULT;
  if (!Number.isInteger(fifoCapacity) || fifoCapacity < 1 || fifoCapacity > 1 << 20 || (fifoCapacity & (fifoCapacity - 1)) !== 0) {
    throw new ConfigError('regmap.fifoCapacity', `${fifoCapacity}; allowed: a power of two in [1, 2^20]`);
  }
  if (m.inType.width > 32 || m.outType.width > 32) {
    throw new ConfigError('regmap', `input ${m.inTypeText} / result ${m.outTypeText}: the register windows hold types of at most 32 bits`);
  }
  const px = m.pixels;
  if (px !== undefined && (!Number.isInteger(px.nPx) || px.nPx < 1)) throw new ConfigError('regmap.pixels.nPx', `${px.nPx}; need a positive integer (bytes of a camera frame)`);
  const inKind: InKind = px === undefined ? 'values' : 'pixels';
  const nIn = px === undefined ? m.nIn : px.nPx;
  let cursor = WINDOWS_START;
  const place = (bytes: number): number => {
    const align = Math.max(WINDOW_ALIGN_MIN, pow2AtLeast(bytes));
    const at = alignUp(cursor, align);
    cursor = at + bytes;
    return at;
  };
  const inPack = px === undefined ? packOf(m.inType.width) : 4, outPack = packOf(m.outType.width);
  const inWords = Math.ceil(nIn / inPack), outWords = Math.ceil(m.nOut / outPack);
  const threshOffset = place(4 * m.nOut);
  const inOffset = place(4 * inWords);
  const outOffset = place(4 * outWords);
  const fifoOffset = alignUp(cursor, PAGE_BYTES);
  const regionBytes = alignUp(fifoOffset + fifoCapacity * FIFO_RECORD_BYTES, PAGE_BYTES);
  return {
    layout: REGMAP_LAYOUT_VERSION, magic: REGMAP_MAGIC, name: m.name, nIn, nOut: m.nOut, inKind,
    inType: px === undefined ? typeWord(m.inType) : IN_TYPE_PIXELS, outType: typeWord(m.outType),
    inTypeText: px === undefined ? m.inTypeText : IN_TYPE_TEXT_PIXELS, outTypeText: m.outTypeText,
    clockKhz: Math.round(m.clockMhz * 1000), latencyCycles: m.latencyCycles, ii: m.ii,
    modelSha256: m.modelSha256, modelHashWords: hashWords(m.modelSha256),
    fifoCapacity, fifoRecordBytes: FIFO_RECORD_BYTES, inPack, outPack, inWords, outWords, inOffset, outOffset, threshOffset, fifoOffset, regionBytes,
    registers: { ...REG }, ctrlBits: { ...CTRL },
  };
}

/** The C header of a map: every offset and identification value as a macro. */
export function regsHeader(map: RegisterMap): string {
  const p = `HT_${map.name.toUpperCase()}`;
  const hex = (v: number) => `0x${v.toString(16).padStart(3, '0')}u`;
  const lines = [
    `// ${map.name}_regs.h: register map of ${map.name} (docs/fpga-protocol.md, layout ${map.layout}).`,
    '// Generated by hls/compiler/regmap.ts; regmap.json holds the same.',
    `#ifndef ${p}_REGS_H`,
    `#define ${p}_REGS_H`,
    '',
    ...Object.entries(map.registers).map(([k, v]) => `#define ${p}_REG_${k} ${hex(v)}`),
    ...Object.entries(map.ctrlBits).map(([k, v]) => `#define ${p}_CTRL_${k} ${hex(v)}`),
    `#define ${p}_MAGIC 0x${map.magic.toString(16)}u`,
    `#define ${p}_LAYOUT ${map.layout}u`,
    `#define ${p}_N_IN ${map.nIn}u`,
    `#define ${p}_N_OUT ${map.nOut}u`,
    `#define ${p}_IN_KIND ${IN_KIND[map.inKind]}u  // ${map.inKind === 'pixels' ? 'uint8 pixels' : 'input_t values'}`,
    `#define ${p}_IN_TYPE 0x${map.inType.toString(16)}u  // ${map.inTypeText}`,
    `#define ${p}_OUT_TYPE 0x${map.outType.toString(16)}u  // ${map.outTypeText}`,
    `#define ${p}_CLOCK_KHZ ${map.clockKhz}u`,
    `#define ${p}_LATENCY_CYCLES ${map.latencyCycles}u`,
    `#define ${p}_II ${map.ii}u`,
    `#define ${p}_FIFO_CAPACITY ${map.fifoCapacity}u`,
    `#define ${p}_FIFO_RECORD_BYTES ${map.fifoRecordBytes}u`,
    `#define ${p}_IN_PACK ${map.inPack}u`,
    `#define ${p}_OUT_PACK ${map.outPack}u`,
    `#define ${p}_IN_WORDS ${map.inWords}u`,
    `#define ${p}_OUT_WORDS ${map.outWords}u`,
    `#define ${p}_IN_OFFSET ${hex(map.inOffset)}`,
    `#define ${p}_OUT_OFFSET ${hex(map.outOffset)}`,
    `#define ${p}_THRESH_OFFSET ${hex(map.threshOffset)}`,
    `#define ${p}_FIFO_OFFSET ${hex(map.fifoOffset)}`,
    `#define ${p}_REGION_BYTES ${map.regionBytes}u`,
    `// SHA-256 of the source ONNX: ${map.modelSha256}`,
    `#define ${p}_MODEL_HASH_WORDS {${map.modelHashWords.map((w) => `0x${w.toString(16).padStart(8, '0')}u`).join(', ')}}`,
    '',
    `#endif  // ${p}_REGS_H`,
    '',
  ];
  return lines.join('\n');
}

/** Where the C++ side (driver, emulator) reads the fixed layout: generated from REG and CTRL above. */
export const LAYOUT_HEADER_PATH = 'host/native/src/regmap_layout.h';

/** `FIFO_HEAD` -> `kFifoHead`. */
function cxxName(key: string): string {
  return 'k' + key.toLowerCase().replace(/(^|_)([a-z0-9])/g, (_m, _u: string, c: string) => c.toUpperCase());
}

/**
 * The C++ header of the fixed layout (every model's registers, CTRL bits, layout version,
 * magic, record size, where the windows start): REG and CTRL above are the one source, the
 * driver and the emulator include this generated header, and regmap.test.ts checks that the
 * committed file equals it (`vitest run -u hls/compiler/regmap.test.ts` rewrites it).
 */
export function layoutHeader(): string {
  const hex = (v: number) => `0x${v.toString(16).padStart(3, '0')}u`;
  const lines = [
    '// regmap_layout.h: the fixed register layout of docs/fpga-protocol.md (layout ' + REGMAP_LAYOUT_VERSION + ').',
    '// GENERATED by layoutHeader() in hls/compiler/regmap.ts from its REG and CTRL tables; do not edit.',
    '// hls/compiler/regmap.test.ts fails when this file differs from what the generator writes.',
    '#ifndef HAIRTRIGGER_REGMAP_LAYOUT_H',
    '#define HAIRTRIGGER_REGMAP_LAYOUT_H',
    '',
    '#include <cstdint>',
    '',
    'namespace hairtrigger {',
    'namespace regs {',
    '',
    '// Fixed registers: byte offsets.',
    'enum Reg : uint32_t {',
    ...Object.entries(REG).map(([k, v]) => `  ${cxxName(k)} = ${hex(v)},`),
    '};',
    '// CTRL bits (Vitis HLS ap_ctrl_hs).',
    ...Object.entries(CTRL).map(([k, v]) => `constexpr uint32_t kCtrl${cxxName(k).slice(1)} = ${hex(v)};`),
    '// IN_KIND values: what the input window carries.',
    `constexpr uint32_t kInKindValues = ${IN_KIND.values}u;`,
    `constexpr uint32_t kInKindPixels = ${IN_KIND.pixels}u;`,
    `constexpr uint32_t kLayoutVersion = ${REGMAP_LAYOUT_VERSION}u;`,
    `constexpr uint32_t kMagicHtfw = 0x${REGMAP_MAGIC.toString(16)}u;`,
    `constexpr uint32_t kRecordBytes = ${FIFO_RECORD_BYTES}u;`,
    `constexpr uint32_t kWindowsStart = ${hex(WINDOWS_START)};`,
    `constexpr uint32_t kPageBytes = ${PAGE_BYTES}u;`,
    '',
    '}  // namespace regs',
    '}  // namespace hairtrigger',
    '',
    '#endif  // HAIRTRIGGER_REGMAP_LAYOUT_H',
    '',
  ];
  return lines.join('\n');
}

/** Writes regmap.json and firmware/<name>_regs.h into a project folder. */
export function writeRegisterMap(dir: string, map: RegisterMap): string[] {
  const json = join(dir, 'regmap.json');
  const header = join(dir, 'firmware', `${map.name}_regs.h`);
  writeFileSync(json, JSON.stringify(map, null, 2) + '\n');
  writeFileSync(header, regsHeader(map));
  return [json, header];
}
