import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureFormatError } from '../core/errors.js';
import { CaptureWriter, parseCapture, readCapture } from './arrow-capture.js';

const dir = mkdtempSync(join(tmpdir(), 'ht-capture-'));
const spec = { stream: 'cells-test', shape: [4, 3, 1], dtype: 'uint8' as const, labels: ['A', 'B'] };

async function writeFrames(path: string, frames: Uint8Array[], labels: number[], times: (number | null)[], batchRows = 3): Promise<void> {
  const w = new CaptureWriter(path, spec, { batchRows, epochNs: 1_700_000_000_000_000_000n });
  frames.forEach((f, i) => w.append(100 + i, times[i], f, 0, f.length, labels[i]));
  await w.close();
}

describe('Arrow capture', () => {
  it('round-trips frames, labels, sequence numbers and sensor times across batches', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ bytes: fc.uint8Array({ minLength: 12, maxLength: 12 }), label: fc.integer({ min: -1, max: 1 }), dt: fc.option(fc.integer({ min: 0, max: 1e9 })) }), { minLength: 0, maxLength: 20 }),
        fc.integer({ min: 1, max: 8 }),
        async (rows, batchRows) => {
          const path = join(dir, `rt-${Math.random().toString(36).slice(2)}.arrows`);
          await writeFrames(path, rows.map((r) => r.bytes), rows.map((r) => r.label), rows.map((r) => r.dt), batchRows);
          const cap = readCapture(path);
          expect(cap.count).toBe(rows.length);
          expect(cap.spec).toEqual(spec);
          expect(cap.truncation).toBeNull();
          const first = rows.find((r) => r.dt !== null);
          rows.forEach((r, i) => {
            expect(Array.from(cap.frames.subarray(cap.offsets[i], cap.offsets[i + 1]))).toEqual(Array.from(r.bytes));
            expect(cap.labels[i]).toBe(r.label);
            expect(cap.seq[i]).toBe(100 + i);
            if (r.dt === null) expect(cap.sensorNs[i]).toBeNaN();
            else expect(cap.sensorNs[i]).toBe(r.dt - first!.dt!);
          });
          if (first !== undefined) expect(cap.epochNs).toBe(1_700_000_000_000_000_000n + BigInt(first.dt!));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses bytes that are not Arrow, naming the file', () => {
    const path = join(dir, 'junk.arrows');
    writeFileSync(path, 'this is not a capture');
    expect(() => readCapture(path)).toThrow(CaptureFormatError);
    expect(() => readCapture(path)).toThrow(/junk\.arrows.*not an Arrow/);
  });

  it('refuses a missing file with a typed error', () => {
    expect(() => readCapture(join(dir, 'nope.arrows'))).toThrow(CaptureFormatError);
  });

  it('recovers the complete batches of a truncated file and reports the truncation', async () => {
    const path = join(dir, 'trunc.arrows');
    const frames = Array.from({ length: 10 }, (_, i) => new Uint8Array(12).fill(i));
    await writeFrames(path, frames, frames.map(() => 0), frames.map(() => null), 2);
    const whole = readFileSync(path);
    const cap = readCapture(path);
    expect(cap.count).toBe(10);
    // Cut inside the footer and then inside the last batches: whatever is complete survives.
    for (const cut of [whole.length - 20, Math.floor(whole.length * 0.6)]) {
      const part = parseCapture(whole.subarray(0, cut), 'trunc.arrows');
      expect(part.truncation).toBeInstanceOf(CaptureFormatError);
      expect(part.truncation!.message).toMatch(/truncated/);
      expect(part.count).toBeGreaterThan(0);
      expect(part.count % 2).toBe(0);
      for (let i = 0; i < part.count; i++) expect(part.frames[part.offsets[i]]).toBe(i);
    }
  });

  it('reads an Arrow IPC file (Feather v2) converted from a capture', async () => {
    const { tableToIPC } = await import('apache-arrow');
    const path = join(dir, 'conv.arrows');
    await writeFrames(path, [new Uint8Array(12).fill(7), new Uint8Array(12).fill(9)], [1, 0], [5, 6]);
    const { tableFromIPC } = await import('apache-arrow');
    const fileBytes = tableToIPC(tableFromIPC(readFileSync(path)), 'file');
    const cap = parseCapture(fileBytes, 'conv.arrow');
    expect(cap.count).toBe(2);
    expect(cap.frames[cap.offsets[1]]).toBe(9);
    expect(() => parseCapture(fileBytes.subarray(0, fileBytes.length - 10), 'cut.arrow')).toThrow(/footer missing/);
  });

  it('refuses an Arrow file without the capture metadata', async () => {
    const { tableToIPC, tableFromArrays } = await import('apache-arrow');
    const bytes = tableToIPC(tableFromArrays({ x: new Float32Array([1, 2]) }), 'file');
    expect(() => parseCapture(bytes, 'plain.arrow')).toThrow(/not a hairtrigger capture/);
  });

  it('stores frames of the wrong length as they are so the decoder can report them', async () => {
    const path = join(dir, 'short.arrows');
    await writeFrames(path, [new Uint8Array(12), new Uint8Array(5)], [0, 1], [null, null]);
    const cap = readCapture(path);
    expect(cap.offsets[2] - cap.offsets[1]).toBe(5);
  });
});
