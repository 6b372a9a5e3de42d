import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { WavError } from '../../core/errors.js';
import { limits } from '../../core/limits.js';

// Written here rather than taken from npm: the WAV readers there (node-wav, wav-decoder,
// wavefile) return float channels without the byte offset of a fault, accept lying headers
// silently or throw untyped errors, and none reduces to int16 the way sox does. The format is
// small (RIFF chunks, one fmt block); what matters is checking every field against the file.

/** The sample encodings a WAV file may hold that this reader takes. */
export type WavFormat = 'pcm' | 'float';

/** What a WAV file's header says, checked against the file. */
export interface WavInfo {
  path: string;
  /** `pcm` (integer samples) or `float` (IEEE 754). */
  format: WavFormat;
  /** The fmt chunk's format tag: 1 (PCM), 3 (IEEE float) or 0xFFFE (WAVE_FORMAT_EXTENSIBLE). */
  formatTag: number;
  /** The sub-format of an extensible file (1 or 3), else the format tag. */
  subFormat: number;
  channels: number;
  sampleRateHz: number;
  /** Bits per sample of the container: 8 (unsigned), 16, 24, 32 (signed or float). */
  bitsPerSample: number;
  blockAlign: number;
  /** Byte offset of the first sample and the data chunk's length in bytes. */
  dataOffset: number;
  dataBytes: number;
  /** Sample frames (one sample of every channel). */
  frames: number;
  durationS: number;
}

/** A WAV file read whole: its header and its samples, downmixed to mono int16 at the file's rate. */
export interface Wav extends WavInfo {
  samples: Int16Array;
}

const KSDATAFORMAT_TAIL = Uint8Array.from([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]);
const ASCII = new TextDecoder('latin1');

function fourcc(b: Uint8Array, at: number): string {
  return ASCII.decode(b.subarray(at, at + 4));
}

/**
 * Parses and checks the header of the WAV file held in `b` (named `path` in errors). Walks the
 * RIFF chunks up to `data` (odd-sized chunks carry a pad byte; chunks other than fmt and data
 * are skipped). Throws a `WavError` naming the byte offset at fault for anything else: not
 * RIFF/WAVE, a truncated chunk, no fmt before data, an unknown format tag or sub-format, zero
 * channels or rate, bits this reader does not take, a block align that is not channels x
 * bytes, a data chunk longer than the file or not a whole number of frames. Never throws
 * anything else.
 */
export function parseWavHeader(b: Uint8Array, path: string): WavInfo {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 12) throw new WavError(path, 0, `${b.length} bytes: too short for a RIFF/WAVE header (12 bytes)`);
  if (fourcc(b, 0) !== 'RIFF' || fourcc(b, 8) !== 'WAVE') throw new WavError(path, 0, `not a RIFF/WAVE file (starts ${JSON.stringify(fourcc(b, 0))}, form ${JSON.stringify(fourcc(b, 8))})`);
  let fmt: Omit<WavInfo, 'dataOffset' | 'dataBytes' | 'frames' | 'durationS'> | null = null;
  let at = 12;
  for (;;) {
    if (at + 8 > b.length) throw new WavError(path, Math.min(at, b.length), at >= b.length ? 'the file ends before a data chunk' : `truncated chunk header (${b.length - at} of 8 bytes)`);
    const id = fourcc(b, at);
    const size = v.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'data') {
      if (fmt === null) throw new WavError(path, at, 'data chunk before any fmt chunk');
      if (size > b.length - body) throw new WavError(path, at + 4, `data chunk of ${size} bytes runs past the end of the file (${b.length - body} bytes follow its header)`);
      if (size % fmt.blockAlign !== 0) throw new WavError(path, at + 4, `data chunk of ${size} bytes is not a whole number of ${fmt.blockAlign}-byte frames`);
      const frames = size / fmt.blockAlign;
      return { ...fmt, dataOffset: body, dataBytes: size, frames, durationS: frames / fmt.sampleRateHz };
    }
    if (size > b.length - body) throw new WavError(path, at + 4, `${JSON.stringify(id)} chunk of ${size} bytes runs past the end of the file (${b.length - body} bytes follow its header)`);
    if (id === 'fmt ') fmt = parseFmt(v, body, size, path);
    at = body + size + (size & 1);
  }
}

/** Checks a fmt chunk's fields (at `body`, `size` bytes) against each other. */
function parseFmt(v: DataView, body: number, size: number, path: string): Omit<WavInfo, 'dataOffset' | 'dataBytes' | 'frames' | 'durationS'> {
  if (size < 16) throw new WavError(path, body - 4, `fmt chunk of ${size} bytes (at least 16)`);
  const formatTag = v.getUint16(body, true);
  const channels = v.getUint16(body + 2, true);
  const sampleRateHz = v.getUint32(body + 4, true);
  const blockAlign = v.getUint16(body + 12, true);
  const bitsPerSample = v.getUint16(body + 14, true);
  let subFormat = formatTag;
  if (formatTag === 0xfffe) {
    if (size < 40 || v.getUint16(body + 16, true) < 22) throw new WavError(path, body - 4, `WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes (at least 40, with a 22-byte extension)`);
    subFormat = v.getUint16(body + 24, true);
    const tail = new Uint8Array(v.buffer, v.byteOffset + body + 26, 14);
    if (!tail.every((x, i) => x === KSDATAFORMAT_TAIL[i])) throw new WavError(path, body + 24, 'WAVE_FORMAT_EXTENSIBLE sub-format is not a KSDATAFORMAT GUID');
  }
  if (subFormat !== 1 && subFormat !== 3) throw new WavError(path, formatTag === 0xfffe ? body + 24 : body, `format tag 0x${subFormat.toString(16)}: only PCM (1) and IEEE float (3) are read`);
  const format: WavFormat = subFormat === 1 ? 'pcm' : 'float';
  if (channels === 0 || channels > limits.wavChannelsMax) throw new WavError(path, body + 2, `${channels} channels (1 to wavChannelsMax ${limits.wavChannelsMax})`);
  if (sampleRateHz === 0) throw new WavError(path, body + 4, 'sample rate 0');
  const bitsOk = format === 'pcm' ? [8, 16, 24, 32].includes(bitsPerSample) : bitsPerSample === 32;
  if (!bitsOk) throw new WavError(path, body + 14, `${bitsPerSample} bits per sample: ${format === 'pcm' ? 'PCM is read at 8, 16, 24 or 32' : 'float is read at 32'}`);
  if (blockAlign !== (channels * bitsPerSample) / 8) throw new WavError(path, body + 12, `block align ${blockAlign} is not ${channels} channels x ${bitsPerSample / 8} bytes`);
  return { path, format, formatTag, subFormat, channels, sampleRateHz, bitsPerSample, blockAlign };
}

/**
 * The value of the sample at byte `at`, in units of one int16 step (so a 16-bit sample is
 * itself, a 24-bit one /256, 8-bit unsigned (u - 128) x 256, float x 32768).
 */
function sampleAt(v: DataView, at: number, info: WavInfo): number {
  if (info.format === 'float') return v.getFloat32(at, true) * 32768;
  switch (info.bitsPerSample) {
    case 8:
      return (v.getUint8(at) - 128) * 256;
    case 16:
      return v.getInt16(at, true);
    case 24:
      return ((v.getUint8(at + 2) << 24) | (v.getUint8(at + 1) << 16) | (v.getUint8(at) << 8)) / 65536;
    default:
      return v.getInt32(at, true) / 65536;
  }
}

/**
 * Decodes the WAV file held in `b`: every channel averaged into one, rounded half up to the
 * nearest int16 step and clipped (what `sox in.wav -D -t raw -e signed -b 16 -c 1` gives), at
 * the file's own rate. Throws `WavError` for a file `parseWavHeader` refuses.
 */
export function decodeWav(b: Uint8Array, path: string): Wav {
  const info = parseWavHeader(b, path);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Int16Array(info.frames);
  const bytes = info.bitsPerSample / 8;
  for (let f = 0, at = info.dataOffset; f < info.frames; f++) {
    let sum = 0;
    for (let c = 0; c < info.channels; c++, at += bytes) sum += sampleAt(v, at, info);
    const x = Math.round(sum / info.channels);
    out[f] = x > 32767 ? 32767 : x < -32768 ? -32768 : x;
  }
  return { ...info, samples: out };
}

/** Reads at most `wavFileBytesMax` bytes of `path` whole; a larger file is a WavError. */
function readBounded(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > limits.wavFileBytesMax) throw new WavError(path, 0, `${size} bytes exceed wavFileBytesMax ${limits.wavFileBytesMax}`);
    const b = new Uint8Array(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, b, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** Reads and decodes the WAV file at `path` (see `decodeWav`); a file system error is thrown as it is. */
export function readWav(path: string): Wav {
  return decodeWav(readBounded(path), path);
}

/** Reads only what the header of the WAV file at `path` says, checked (see `parseWavHeader`). */
export function readWavInfo(path: string): WavInfo {
  return parseWavHeader(readBounded(path), path);
}
