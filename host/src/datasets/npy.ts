import { CaptureFormatError } from '../core/errors.js';

/**
 * NumPy `.npy` (format 1.0) for the training tensors. Written here because the format is a
 * 10-byte preamble and a Python-literal header, and the npm packages for it read only or
 * pull in a numpy emulation; the reader exists for tests and refuses anything else.
 */
export type NpyArray =
  | { dtype: 'float32'; shape: number[]; data: Float32Array }
  | { dtype: 'int64'; shape: number[]; data: BigInt64Array }
  | { dtype: 'uint8'; shape: number[]; data: Uint8Array };

const DESCR = { float32: '<f4', int64: '<i8', uint8: '|u1' } as const;
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** Serialises an array as .npy bytes (C order, little endian). */
export function encodeNpy(arr: NpyArray): Uint8Array {
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (count !== arr.data.length) throw new RangeError(`npy shape ${JSON.stringify(arr.shape)} holds ${count} elements, data has ${arr.data.length}`);
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${DESCR[arr.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const body = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(body, 10 + header.length);
  return out;
}

/** Parses .npy bytes written by `encodeNpy` or numpy (version 1.0, C order, the three dtypes). */
export function decodeNpy(bytes: Uint8Array, where = 'npy'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw new CaptureFormatError(where, 'not a .npy file (magic bytes missing)');
  const hlen = bytes[8] | (bytes[9] << 8);
  if (10 + hlen > bytes.length) throw new CaptureFormatError(where, `header of ${hlen} bytes overruns a file of ${bytes.length}`);
  const header = Buffer.from(bytes.subarray(10, 10 + hlen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header)) throw new CaptureFormatError(where, 'Fortran-order arrays are not supported');
  if (descr === undefined || shapeText === undefined) throw new CaptureFormatError(where, `header lacks descr or shape: ${header.trim()}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = 10 + hlen;
  const body = bytes.slice(start);
  const need = (n: number) => {
    if (body.length !== count * n) throw new CaptureFormatError(where, `expected ${count * n} data bytes for shape (${shape.join(',')}), found ${body.length}`);
  };
  switch (descr) {
    case '<f4': need(4); return { dtype: 'float32', shape, data: new Float32Array(body.buffer, body.byteOffset, count) };
    case '<i8': need(8); return { dtype: 'int64', shape, data: new BigInt64Array(body.buffer, body.byteOffset, count) };
    case '|u1': need(1); return { dtype: 'uint8', shape, data: body };
    default: throw new CaptureFormatError(where, `dtype ${descr} is not supported (float32, int64, uint8 are)`);
  }
}
