import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../host/src/core/errors.js';
import { buildIr } from './build-ir.js';
import { parseOnnx } from './onnx-reader.js';

const STUDENT = resolve(import.meta.dirname, '..', '..', 'models', 'zoo', 'cells-bccd', 'student.onnx');

describe('ONNX reader on damaged bytes', () => {
  const good = new Uint8Array(readFileSync(STUDENT));

  it('truncated, corrupted or spliced files throw only ModelError (or parse into a graph the IR builder judges)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length }), fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.integer({ min: 0, max: good.length }), (cut, junk, at) => {
        const bytes = Uint8Array.from(good.subarray(0, cut));
        bytes.set(junk.subarray(0, Math.max(0, bytes.length - at)), Math.min(at, bytes.length));
        try {
          buildIr(parseOnnx(bytes, 'damaged.onnx'));
        } catch (err) {
          expect(err).toBeInstanceOf(ModelError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('names the file when the bytes are not ONNX at all', () => {
    expect(() => parseOnnx(new TextEncoder().encode('{"not": "onnx"}'), join('x', 'model.onnx'))).toThrow(/model\.onnx/);
  });
});
