import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './fixtures.js';
import { runPython } from './python.js';

/** One file astropy wrote or read (test/support/fits_astropy.py), its values in `<dir>/<name>.f64`. */
export interface AstropyRow {
  name: string;
  file: string;
  width: number;
  height: number;
  bitpix: number;
  /** What astropy returned: `float32`/`>f4` when it scaled in float32. */
  dtype: string;
  scaled: boolean;
  bzero: number;
}

/** A file of little-endian float64 values (fits_astropy.py's `.f64`); copies the Buffer's own bytes (small ones share a pool). */
export function readF64(path: string): Float64Array {
  const b = readFileSync(path);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

/** Runs fits_astropy.py (`write DIR` or `read DIR FILE...`) and returns its manifest. */
export function astropyReference(args: string[]): AstropyRow[] {
  return JSON.parse(runPython([join(REPO, 'test', 'support', 'fits_astropy.py'), ...args])) as AstropyRow[];
}

/**
 * A FITS stamp for malformed-input tests: SIMPLE = T (unless `cards` sets SIMPLE), then
 * `cards` in order (value '' writes a card without `= `), END unless `end` is false, padded
 * to 2880 bytes, then `dataBytes` of data (default: what BITPIX and NAXISn ask for; 0 when
 * they do not parse). Independent of the reader: only for inputs astropy would refuse to write.
 */
export function fitsBytes(cards: Record<string, string>, o: { end?: boolean; dataBytes?: number } = {}): Uint8Array {
  const all = 'SIMPLE' in cards ? cards : { SIMPLE: 'T', ...cards };
  let header = '';
  for (const [k, v] of Object.entries(all)) header += v === '' ? k.padEnd(80) : `${k.padEnd(8)}= ${v.padStart(20)}`.padEnd(80).slice(0, 80);
  if (o.end !== false) header += 'END'.padEnd(80);
  header = header.padEnd(Math.ceil(header.length / 2880) * 2880);
  const want = (Math.abs(Number(cards.BITPIX)) / 8) * Number(cards.NAXIS1) * Number(cards.NAXIS2);
  const data = o.dataBytes ?? (Number.isInteger(want) && want > 0 && want < 1 << 24 ? want : 0);
  const out = new Uint8Array(header.length + data);
  for (let i = 0; i < header.length; i++) out[i] = header.charCodeAt(i) & 0xff;
  for (let i = 0; i < data; i++) out[header.length + i] = (i * 37) & 0xff;
  return out;
}

/** A BITPIX -32 FITS stamp of `values` (row-major, `width` per row), as astropy would write it. */
export function fitsFloat32(width: number, height: number, values: Float32Array): Uint8Array {
  const header = fitsBytes({ BITPIX: '-32', NAXIS: '2', NAXIS1: String(width), NAXIS2: String(height) }, { dataBytes: 0 });
  const out = new Uint8Array(header.length + Math.ceil((width * height * 4) / 2880) * 2880);
  out.set(header);
  const dv = new DataView(out.buffer, header.length);
  for (let i = 0; i < width * height; i++) dv.setFloat32(4 * i, values[i]!);
  return out;
}
