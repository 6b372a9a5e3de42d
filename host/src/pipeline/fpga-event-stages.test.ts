import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameRing, STAMP, STAMP_INGEST } from '../core/frame.js';
import { EVENT, EVENT_BYTES } from '../sources/fpga-events.js';
import { TriggerPolicy, triggerConfigSchema } from '../trigger/policy.js';
import { fpgaEventDecoder, fpgaEventPayload, fpgaEventPolicy } from './fpga-event-stages.js';

const LABELS = ['g', 'q', 'w', 'z', 't'];
const FIELDS = EVENT_BYTES / 8;

/** Device events as the source hands them over: one float64 record per event, in one buffer. */
function eventBuffer(events: ReadonlyArray<{ cls: number; logit: number }>): Float64Array {
  const records = new Float64Array(events.length * FIELDS);
  events.forEach((e, i) => {
    records[i * FIELDS + EVENT.seq] = i;
    records[i * FIELDS + EVENT.cls] = e.cls;
    records[i * FIELDS + EVENT.score] = e.logit;
  });
  return records;
}

describe('autonomous FPGA event stages', () => {
  it('turn every on-time device event into a trigger: no second hold-off or rate limit', () => {
    const events = fc.array(fc.record({ cls: fc.constant(4), logit: fc.double({ min: 0.5, max: 30, noNaN: true }), gapNs: fc.integer({ min: 0, max: 5_000 }) }), { minLength: 1, maxLength: 100 });
    fc.assert(
      fc.property(events, (evs) => {
        // A hold-off of a minute and one trigger a second: a host-side decision would drop all but the first.
        const policy = new TriggerPolicy(triggerConfigSchema.parse({ targets: ['t'], holdoffUs: 60e6, maxRatePerS: 1, burst: 1 }), LABELS, 1000);
        const decode = fpgaEventDecoder(LABELS.length, 'test-device');
        const decide = fpgaEventPolicy(policy);
        const records = eventBuffer(evs);
        const raw = new Uint8Array(records.buffer);
        const ring = new FrameRing(1, LABELS.length, 8);
        let t = 1e9;
        evs.forEach((e, i) => {
          t += e.gapNs;
          const slot = ring.acquire();
          slot.raw = raw;
          slot.rawOffset = i * EVENT_BYTES;
          slot.rawLength = EVENT_BYTES;
          slot.dueNs = slot.stampsNs[STAMP_INGEST] = t;
          slot.stampsNs[STAMP.infer] = t + 1000;
          decode.run(slot);
          decide.run(slot);
          expect(slot.triggered).toBe(true);
          expect(slot.predicted).toBe(e.cls);
          // A probability, as in every other mode (the softmax over what the device reported:
          // only this class's logit); the device's logit travels in the payload.
          expect(slot.score).toBe(slot.probs[e.cls]);
          expect(slot.score).toBeGreaterThanOrEqual(0);
          expect(slot.score).toBeLessThanOrEqual(1);
          expect(fpgaEventPayload(slot.payload.subarray(0, slot.payloadLength))).toEqual({ deviceLogit: e.logit });
        });
        expect(policy.counters).toEqual({ suppressedBelowThreshold: 0, suppressedHoldoff: 0, suppressedRate: 0, suppressedLate: 0, nonTarget: 0 });
      }),
    );
  });

  it('counts a late device event as missed, not fired', () => {
    const policy = new TriggerPolicy(triggerConfigSchema.parse({ targets: ['t'] }), LABELS, 10);
    const raw = new Uint8Array(eventBuffer([{ cls: 4, logit: 3 }]).buffer);
    const slot = new FrameRing(1, LABELS.length, 1).acquire();
    Object.assign(slot, { raw, rawOffset: 0, rawLength: EVENT_BYTES, dueNs: 1e9 });
    slot.stampsNs[STAMP_INGEST] = 1e9;
    slot.stampsNs[STAMP.infer] = 1e9 + 11_000;
    fpgaEventDecoder(LABELS.length, 'test-device').run(slot);
    fpgaEventPolicy(policy).run(slot);
    expect(slot).toMatchObject({ triggered: false, late: true, missed: true, predicted: 4 });
    expect(policy.counters.suppressedLate).toBe(1);
  });
});
