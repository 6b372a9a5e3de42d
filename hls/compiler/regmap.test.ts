import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../host/src/core/errors.js';
import { parseFixedType } from './precision.js';
import { fnv1a32Words, hashWords, IN_KIND, LAYOUT_HEADER_PATH, layoutHeader, outCheck, packOf, packWords, REG, REGMAP_LAYOUT_VERSION, registerMap, regsHeader, typeWord, unpackWords } from './regmap.js';

const SHA = '0f9e0ce651a9af2742c9fb2f3d2ec72347adaa388ad8bbc863ef00a545341d09';
const base = (nIn: number, nOut: number, fifoCapacity?: number, inTypeText = 'ap_fixed<16,6,AP_TRN,AP_SAT>') => registerMap({
  name: 'net', nIn, nOut, inTypeText, outTypeText: 'ap_fixed<16,6,AP_TRN,AP_SAT>',
  inType: parseFixedType(inTypeText, 't'), outType: parseFixedType('ap_fixed<16,6,AP_TRN,AP_SAT>', 't'),
  clockMhz: 200, latencyCycles: 35, ii: 1, modelSha256: SHA, fifoCapacity,
});

describe('registerMap (docs/fpga-protocol.md)', () => {
  it('places aligned, disjoint windows after the fixed registers, events on a page, region in pages', () => {
    for (const [nIn, nOut, inT] of [[16, 5, undefined], [3072, 3, 'ap_fixed<8,8>'], [2304, 3, 'ap_fixed<32,8>'], [1, 1, undefined], [1000, 33, 'ap_fixed<5,1>']] as const) {
      const m = base(nIn, nOut, undefined, inT);
      const pIn = inT === undefined ? 2 : inT === 'ap_fixed<32,8>' ? 1 : 4;
      expect([m.inPack, m.outPack, m.inWords, m.outWords]).toEqual([pIn, 2, Math.ceil(nIn / pIn), Math.ceil(nOut / 2)]);
      const windows = [[m.threshOffset, 4 * nOut], [m.inOffset, 4 * m.inWords], [m.outOffset, 4 * m.outWords], [m.fifoOffset, m.fifoCapacity * 32]] as const;
      const fixedEnd = Math.max(...Object.values(REG)) + 4;
      for (const [at, bytes] of windows) {
        expect(at).toBeGreaterThanOrEqual(Math.max(0x100, fixedEnd));
        if (at !== m.fifoOffset) expect(at % Math.max(64, 2 ** Math.ceil(Math.log2(bytes)))).toBe(0);
        expect(at + bytes).toBeLessThanOrEqual(m.regionBytes);
      }
      const sorted = [...windows].sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]![0]).toBeGreaterThanOrEqual(sorted[i - 1]![0] + sorted[i - 1]![1]);
      expect(m.fifoOffset % 4096).toBe(0);
      expect(m.regionBytes % 4096).toBe(0);
    }
  });

  it('encodes types with the vendor mode numbers and the hash as little-endian words', () => {
    expect(typeWord(parseFixedType('ap_fixed<16,6>', 't'))).toBe(16 | (6 << 8) | (5 << 16) | (3 << 24));
    expect(typeWord(parseFixedType('ap_fixed<16,6,AP_TRN,AP_SAT>', 't'))).toBe(16 | (6 << 8) | (5 << 16) | (0 << 24));
    expect(typeWord(parseFixedType('ap_fixed<8,-2,AP_RND_CONV>', 't'))).toBe(8 | (0xfe << 8) | (4 << 16) | (3 << 24));
    const w = hashWords(SHA);
    expect(w[0]).toBe(0xe60c9e0f);
    expect(w).toHaveLength(8);
    expect(() => hashWords('xyz')).toThrow(ConfigError);
  });

  it('refuses a FIFO capacity that is not a power of two, and types over 32 bits', () => {
    expect(() => base(16, 5, 1000)).toThrow(/power of two/);
    expect(() => registerMap({ ...base(16, 5), name: 'n', inTypeText: 'ap_fixed<40,10>', outTypeText: 'x', inType: parseFixedType('ap_fixed<40,10>', 't'), outType: parseFixedType('ap_fixed<16,6>', 't'), clockMhz: 200, latencyCycles: 1, ii: 1, modelSha256: SHA, nIn: 1, nOut: 1 })).toThrow(/at most 32 bits/);
  });

  it('a pixel project: N_IN the frame bytes, four a word, IN_KIND 1 and IN_TYPE 0 (no fixed type)', () => {
    const values = base(3072, 3);
    const m = registerMap({ ...values, name: 'net', inType: parseFixedType('ap_fixed<16,6,AP_TRN,AP_SAT>', 't'), outType: parseFixedType('ap_fixed<16,6,AP_TRN,AP_SAT>', 't'),
      inTypeText: 'ap_fixed<16,6,AP_TRN,AP_SAT>', clockMhz: 200, modelSha256: SHA, nIn: 3072, pixels: { nPx: 48 * 48 * 3 } });
    expect(values.inKind).toBe('values');
    expect(m).toMatchObject({ inKind: 'pixels', nIn: 6912, inPack: 4, inWords: 1728, inType: 0, inTypeText: 'ap_uint<8>' });
    expect(REG.IN_KIND).toBe(0x07c);
    expect(IN_KIND).toEqual({ values: 0, pixels: 1 });
    const h = regsHeader(m);
    expect(h).toContain('#define HT_NET_IN_KIND 1u');
    expect(h).toContain('#define HT_NET_IN_TYPE 0x0u');
    expect(regsHeader(values)).toContain('#define HT_NET_IN_KIND 0u');
    expect(() => registerMap({ ...m, inType: parseFixedType('ap_fixed<8,8>', 't'), outType: parseFixedType('ap_fixed<16,6>', 't'), clockMhz: 200, pixels: { nPx: 0 } })).toThrow(ConfigError);
  });

  it('writes a C header with the same numbers', () => {
    const m = base(16, 5);
    const h = regsHeader(m);
    expect(h).toContain(`#define HT_NET_IN_OFFSET 0x${m.inOffset.toString(16).padStart(3, '0')}u`);
    expect(h).toContain('#define HT_NET_REG_DONE_COUNT 0x094u');
    expect(h).toContain('#define HT_NET_REG_OUT_CHECK 0x09cu');
    expect(h).toContain('#define HT_NET_LAYOUT 3u');
    expect(h).toContain('#define HT_NET_IN_PACK 2u');
    expect(h).toContain('#define HT_NET_IN_WORDS 8u');
    expect(h).toContain('#define HT_NET_MAGIC 0x48544657u');
    expect(h).toContain('#define HT_NET_MODEL_HASH_WORDS {0xe60c9e0fu,');
  });
});

describe('OUT_CHECK (docs/fpga-protocol.md): FNV-1a over SEQ_LO, DONE_COUNT and the output words', () => {
  /** FNV-1a 32 over bytes, written independently of regmap.ts. */
  const fnvBytes = (bytes: Uint8Array): number => {
    let h = 2166136261;
    for (const b of bytes) h = Number((BigInt((h ^ b) >>> 0) * 16777619n) % 4294967296n);
    return h;
  };
  const le = (words: number[]): Uint8Array => {
    const buf = Buffer.alloc(4 * words.length);
    words.forEach((w, i) => buf.writeUInt32LE(w >>> 0, 4 * i));
    return buf;
  };

  it('the byte reference gives the published FNV-1a vectors', () => {
    expect(fnvBytes(Buffer.from(''))).toBe(0x811c9dc5);
    expect(fnvBytes(Buffer.from('a'))).toBe(0xe40c292c);
    expect(fnvBytes(Buffer.from('foobar'))).toBe(0xbf9cf968);
  });

  it('hashes each word as four little-endian bytes, in order, negative outputs as their 32-bit pattern', () => {
    expect(fnv1a32Words([])).toBe(0x811c9dc5);
    // "foob" "ar\0\0" as little-endian words: the same bytes as the string plus two zeros.
    expect(fnv1a32Words([0x626f6f66, 0x00007261])).toBe(fnvBytes(Buffer.from('foobar\0\0', 'latin1')));
    const words = [7, 42, -1, 32767, -32768, 0, 1, 0x7fffffff];
    expect(outCheck(7, 42, words.slice(2))).toBe(fnvBytes(le(words)));
    // Every single-bit change of any word changes the check (bit 0 of an output is the emulator's corruption).
    for (let i = 0; i < words.length; i++) {
      for (const bit of [0, 1, 15, 31]) {
        const w = [...words];
        w[i] = (w[i]! ^ (1 << bit)) | 0;
        expect(fnv1a32Words(w), `word ${i} bit ${bit}`).not.toBe(fnv1a32Words(words));
      }
    }
    expect(outCheck(1, 2, [3])).not.toBe(outCheck(2, 1, [3])); // order matters
  });

  it('OUT_CHECK lies after RESET_COUNT, IN_PACK, OUT_PACK, HOLDOFF_CYCLES after it, before the windows; the layout is 3', () => {
    expect(REG.OUT_CHECK).toBe(REG.RESET_COUNT + 4);
    expect([REG.IN_PACK, REG.OUT_PACK, REG.HOLDOFF_CYCLES]).toEqual([REG.OUT_CHECK + 4, REG.OUT_CHECK + 8, REG.OUT_CHECK + 12]);
    expect(REG.HOLDOFF_CYCLES).toBeLessThan(0x100);
    expect(REGMAP_LAYOUT_VERSION).toBe(3);
    expect(new Set(Object.values(REG)).size).toBe(Object.values(REG).length);
  });
});

describe('packing on the bus (docs/fpga-protocol.md, "Packing")', () => {
  it('4 values a word up to 8 bits, 2 up to 16, else 1', () => {
    expect([1, 5, 8, 9, 16, 17, 32].map(packOf)).toEqual([4, 4, 4, 2, 2, 1, 1]);
  });

  it('lays values out as little-endian int8/int16/int32 arrays do (value i at byte i * 32/P / 8)', () => {
    const values = [-128, 127, 0, -1, 5, -7, 100];
    for (const [pack, write] of [[4, (b: Buffer, v: number, i: number) => b.writeInt8(v, i)], [2, (b: Buffer, v: number, i: number) => b.writeInt16LE(v, 2 * i)],
      [1, (b: Buffer, v: number, i: number) => b.writeInt32LE(v, 4 * i)]] as const) {
      const bytes = Buffer.alloc(4 * Math.ceil(values.length / pack));
      values.forEach((v, i) => write(bytes, v, i));
      const words = packWords(values, pack);
      expect(Array.from(words), `pack ${pack}`).toEqual(Array.from({ length: words.length }, (_, w) => bytes.readInt32LE(4 * w)));
      expect(Array.from(unpackWords(words, pack, values.length))).toEqual(values);
    }
    // A 5-bit value keeps its sign through an 8-bit lane; a 16-bit one through a 16-bit lane.
    expect(Array.from(unpackWords(packWords([-16, 15, -32768, 32767], 2), 2, 4))).toEqual([-16, 15, -32768, 32767]);
  });
});

describe('compile writes the register map and the AXI-Lite interface', () => {
  it('regmap.json and <name>_regs.h agree with the model, and the top function has the control port', async () => {
    const { compileModel } = await import('./compile.js');
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join, resolve } = await import('node:path');
    const model = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'models', 'hls4ml-examples', 'three_layer_keras.onnx');
    const out = mkdtempSync(join(tmpdir(), 'ht-regmap-'));
    const r = await compileModel({ model, out, name: 'jet', precision: 'default', strategy: 'latency', reuse: 1, clockMhz: 250, check: 0, seed: 1, lib: false });
    const map = JSON.parse(readFileSync(join(out, 'regmap.json'), 'utf8')) as ReturnType<typeof registerMap>;
    expect(map).toMatchObject({ name: 'jet', nIn: 16, nOut: 5, clockKhz: 250_000, latencyCycles: r.fpga.latencyCycles, ii: r.fpga.ii, modelSha256: r.modelSha256, layout: 3, inPack: 2, outPack: 2, inWords: 8, outWords: 3 });
    expect(map.registers.OUT_CHECK).toBe(0x09c);
    expect(map.inTypeText).toBe('ap_fixed<16,6,AP_TRN,AP_SAT>');
    expect(readFileSync(join(out, 'firmware', 'jet_regs.h'), 'utf8')).toContain(`#define HT_JET_REGION_BYTES ${map.regionBytes}u`);
    const top = readFileSync(join(out, 'firmware', 'jet.cpp'), 'utf8');
    for (const port of ['return', 'x', 'y']) expect(top).toContain(`#pragma HLS INTERFACE s_axilite port=${port} bundle=control`);
  });
});

describe('the C++ layout header (host/native/src/regmap_layout.h) is generated from REG and CTRL', () => {
  it('the committed header is what layoutHeader() writes (vitest -u rewrites it)', async () => {
    await expect(layoutHeader()).toMatchFileSnapshot(`../../${LAYOUT_HEADER_PATH}`);
  });

  it('names every fixed register and CTRL bit with its offset', () => {
    const h = layoutHeader();
    expect(h).toContain('  kDoneCount = 0x094u,');
    expect(h).toContain('  kOutCheck = 0x09cu,');
    expect(h).toContain('  kFifoHead = 0x080u,');
    expect(h).toContain('constexpr uint32_t kCtrlApStart = 0x001u;');
    expect(h).toContain('constexpr uint32_t kMagicHtfw = 0x48544657u;');
    expect(h.match(/^ {2}k\w+ = 0x[0-9a-f]+u,$/gm)).toHaveLength(Object.keys(REG).length);
  });
});
