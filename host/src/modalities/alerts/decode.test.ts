import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOperatingError } from '../../core/errors.js';
import { FrameRing, frameIdString } from '../../core/frame.js';
import { frameConfluent } from './avro/confluent.js';
import { readAlertFile } from './avro/container.js';
import { SchemaRegistry } from './avro/registry.js';
import { createAvroAlertDecoder, createConfluentAlertDecoder } from './decode.js';
import { loadAlertFile } from './sources/load.js';
import { slotAlert } from './types.js';

const ALERTS = resolve(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'data', 'alerts');
const FILES = ['ztf-3.3-2020-01/1095578115815010001.avro', 'rubin-9.0-2025-09/169298432598474793_169298432598474793.avro'].map((f) => join(ALERTS, f));

/** Runs `decode` on a slot pointing at `raw[offset, offset + length)`; returns the error it threw, or null. */
function decodeOnce(decode: ReturnType<typeof createAvroAlertDecoder>, raw: Uint8Array, offset: number, length: number): unknown {
  const slot = new FrameRing(1, 1, 1).acquire();
  slot.raw = raw;
  slot.rawOffset = offset;
  slot.rawLength = length;
  try {
    decode.run(slot);
    return null;
  } catch (err) {
    return err;
  }
}

describe('alert decoders on damaged bytes', () => {
  it('avro: a record with bytes changed or its length cut decodes or fails with an AlertDecodeError, nothing else', () => {
    for (const path of FILES) {
      const loaded = loadAlertFile(path);
      const base = loaded.base[0];
      const pristine = Buffer.from(base);
      const [offset, length] = [loaded.offset[0], loaded.length[0]];
      const decode = createAvroAlertDecoder('alerts');
      expect(decodeOnce(decode, base, offset, length)).toBe(null);
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(), (edits, cut) => {
          pristine.copy(base);
          for (const [at, v] of edits) base[offset + (at % length)] = v;
          const err = decodeOnce(decode, base, offset, edits.length === 0 ? cut % length : length);
          if (err !== null) expect(isOperatingError(err) && err.code === 'E_ALERT_DECODE').toBe(true);
        }),
        { numRuns: 150 },
      );
      pristine.copy(base);
    }
  });

  it('avro: bytes no alerts source registered are an AlertDecodeError (unknown-schema)', () => {
    const err = decodeOnce(createAvroAlertDecoder('alerts'), Buffer.from([1, 2, 3]), 0, 3);
    expect(isOperatingError(err) && err.code === 'E_ALERT_DECODE' && err.message.includes('unknown-schema')).toBe(true);
  });

  it('confluent: a damaged message decodes or fails with an AlertDecodeError; a whole one sets id, sensor time and objectId', () => {
    const registry = new SchemaRegistry();
    registry.loadRubin(join(ALERTS, 'rubin-schemas'));
    const sample = readAlertFile(join(ALERTS, 'rubin-schemas', '9', '0', 'sample_data', 'fakeAlert.avro')).alerts[0];
    const message = frameConfluent(900, sample.bytes);
    const decode = createConfluentAlertDecoder('alerts', registry);
    const slot = new FrameRing(1, 1, 1).acquire();
    slot.raw = message;
    slot.rawOffset = 0;
    slot.rawLength = message.length;
    decode.run(slot);
    expect(frameIdString(slot)).toBe(sample.id.toString());
    expect(Buffer.from(slot.payload.subarray(0, slot.payloadLength)).toString()).toBe(sample.objectId);
    expect(slot.sensorNs / 86_400e9 + 2440587.5).toBeCloseTo(sample.jd, 6);
    expect(slotAlert(slot).schema.id).toBe(900);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(), (edits, cut) => {
        const m = Buffer.from(message);
        for (const [at, v] of edits) m[at % m.length] = v;
        const err = decodeOnce(decode, m, 0, edits.length === 0 ? cut % m.length : m.length);
        if (err !== null) expect(isOperatingError(err) && err.code === 'E_ALERT_DECODE').toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
