import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runPython } from '../../../../../test/support/python.js';
import { decoders } from '../../../codecs/registry.js';
import { manualClock, monotonicClock } from '../../../core/clock.js';
import { AlertDecodeError, isOperatingError, type HairtriggerError } from '../../../core/errors.js';
import { IngressQueue } from '../../../sources/ingress.js';
import { readMessages } from './confluent-source.js';
import { FrameRing, frameIdString } from '../../../core/frame.js';
import { sources } from '../../../sources/registry.js';
import { realTimers } from '../../../sources/source.js';
import { frameConfluent } from '../avro/confluent.js';
import { readAlertFile } from '../avro/container.js';
import { slotAlert } from '../types.js';
import '../index.js';

const ALERTS = resolve(import.meta.dirname, '..', '..', '..', '..', '..', '..', 'shared', 'data', 'alerts');
const SCRIPT = resolve(import.meta.dirname, '..', '..', '..', '..', '..', 'test', 'support', 'alert_times.py');
const SAMPLES = [9, 10, 11].map((major) => ({ id: major * 100, path: join(ALERTS, 'rubin-schemas', String(major), '0', 'sample_data', 'fakeAlert.avro') }));

/** A 4-byte big-endian length, then the message. */
function prefixed(message: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(message.length);
  return Buffer.concat([len, message]);
}

describe('length-prefixed message framing', () => {
  it('gives back every message whole, however the stream is cut into chunks; a cut-off tail is a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), fc.nat({ max: 3 }), async (messages, cuts, cutTail) => {
        const whole = Buffer.concat(messages.map(prefixed));
        const stream = cutTail > 0 && whole.length > cutTail ? whole.subarray(0, whole.length - cutTail) : whole;
        const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...at, stream.length].slice(1).map((end, i, ends) => stream.subarray(i === 0 ? 0 : ends[i - 1], end)).filter((c) => c.length > 0);
        const got: number[][] = [];
        const q = new IngressQueue({ policy: 'block', framesMax: 4, bytesMax: 4096 }, manualClock(), realTimers);
        const ring = new FrameRing(1, 1, 8);
        q.attach({ acquire: () => ring.acquire(), push: (s) => got.push(Array.from(s.raw.subarray(s.rawOffset, s.rawOffset + s.rawLength))) });
        let error: unknown = null;
        const n = await readMessages(Readable.from(chunks), 'test', q, () => false).catch((e: unknown) => (error = e));
        await new Promise((r) => setImmediate(r));
        if (stream === whole) {
          expect(n).toBe(messages.length);
          expect(got).toEqual(messages.map((m) => Array.from(m)));
        } else {
          expect(error).toBeInstanceOf(AlertDecodeError);
          expect(got).toEqual(messages.slice(0, got.length).map((m) => Array.from(m)));
          expect(got.length).toBeGreaterThanOrEqual(messages.length - 1);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('alerts-confluent source and confluent decoder', () => {
  it('delivers length-prefixed Confluent messages in stream order, decodes each with the schema its id names, counts the bad ones', { timeout: 60_000 }, async () => {
    // Rubin's sample alerts 9.0, 10.0 and 11.0, each framed with its registry id, between
    // a message with a bad magic byte and one of an unknown id, and a cut-off tail.
    const framed = SAMPLES.map((s) => frameConfluent(s.id, readAlertFile(s.path).alerts[0].bytes));
    const badMagic = Buffer.from(framed[0]);
    badMagic[0] = 1;
    const unknownId = Buffer.from(framed[1]);
    unknownId.writeUInt32BE(999, 1);
    const tail = Buffer.alloc(14);
    tail.writeUInt32BE(100); // claims 100 bytes, holds 10
    const dir = mkdtempSync(join(tmpdir(), 'ht-confluent-'));
    const path = join(dir, 'rubin.msgs');
    writeFileSync(path, Buffer.concat([prefixed(framed[0]), prefixed(badMagic), prefixed(framed[1]), prefixed(unknownId), prefixed(framed[2]), tail]));

    const errors: HairtriggerError[] = [];
    const ctx = { clock: monotonicClock, timers: realTimers, at: (p: string) => p, log: () => {}, error: (e: HairtriggerError) => errors.push(e) };
    const src = sources.create({ kind: 'alerts-confluent', path }, ctx, 'source');
    const decode = decoders.create({ kind: 'confluent', rubinSchemas: join(ALERTS, 'rubin-schemas') }, { spec: { ...src.spec, labels: [] } }, 'decoder');
    const ring = new FrameRing(1, 1, 16);
    const got: { seq: number; id: string | null; version: string | null }[] = [];
    const failed: HairtriggerError[] = [];
    src.start({
      acquire: () => ring.acquire(),
      push: (s) => {
        try {
          decode.run(s);
          got.push({ seq: s.seq, id: frameIdString(s), version: slotAlert(s).schema.version });
        } catch (err) {
          if (!isOperatingError(err)) throw err;
          failed.push(err);
        }
      },
    });
    await src.done;
    const want = SAMPLES.map((s) => (JSON.parse(runPython([SCRIPT, s.path]).trim()) as unknown[])[3]);
    expect(got.map((g) => g.id)).toEqual(want);
    expect(got.map((g) => g.seq)).toEqual([0, 2, 4]);
    expect(got.map((g) => g.version)).toEqual(['9.0', '10.0', '11.0']);
    expect(failed.map((e) => (e as HairtriggerError & { reason: string }).reason)).toEqual(['bad-header', 'unknown-schema']);
    expect(errors.map((e) => [e.code, (e as HairtriggerError & { reason: string }).reason])).toEqual([['E_ALERT_DECODE', 'truncated']]);
    expect(src.delivered).toBe(5);
  });
});
