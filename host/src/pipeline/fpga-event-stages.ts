/**
 * The hot path of autonomous mode (source: host/src/sources/fpga-events.ts). The device already
 * classified the frame and applied its threshold, so the stages differ from host-in-the-loop:
 *
 * * decode reads the event record and writes logits with only the event's class known: its
 *   logit (the record's score) there, -Infinity for every other class (not reported by the
 *   device). The softmax the policy takes then gives the event's class probability 1.
 * * preprocess and infer pass the frame on (the device did both).
 * * policy is `TriggerPolicy.decideDeviceEvent`: lateness applies as for any frame, but not
 *   hold-off and rate limit (the device fired already; applying them again would log fewer
 *   triggers than the hardware fired). `trigger.threshold` (a probability) cannot select,
 *   since the event's class has probability 1: selection is the device's threshold
 *   (`fpga.thresholdLogit`). The slot's score stays the policy's probability, as in every
 *   other mode (the class's softmax over what the device reported); the device's logit
 *   travels in the trigger's payload as `deviceLogit` (`fpgaEventPayload`). Before, the score
 *   was set back to the logit, so the dashboard showed logits in this mode only.
 */
import { DeviceError, FrameShapeError } from '../core/errors.js';
import type { FrameSlot } from '../core/frame.js';
import { EVENT, EVENT_BYTES } from '../sources/fpga-events.js';
import type { TriggerPolicy } from '../trigger/policy.js';
import type { PipelineStages } from './pipeline.js';
import type { FrameStage } from './stage.js';

/** Decode, preprocess, infer and policy stages for FPGA events of a `classes`-class model from `device`. */
export function fpgaEventStages(classes: number, device: string, policy: TriggerPolicy): Omit<PipelineStages, 'emit'> {
  return {
    decode: fpgaEventDecoder(classes, device),
    preprocess: passStage('preprocess'),
    infer: passStage('infer'),
    policy: fpgaEventPolicy(policy),
  };
}

function passStage(name: 'preprocess' | 'infer'): FrameStage {
  return { name, run: () => true };
}

/** Reads one drained record (6 float64 at `raw[rawOffset]`) into the slot's logits. */
export function fpgaEventDecoder(classes: number, device: string): FrameStage {
  // One Float64Array view per source buffer, made when the buffer is first seen: no per-frame allocation.
  let buffer: ArrayBufferLike | null = null;
  let view: Float64Array<ArrayBufferLike> = new Float64Array(0);
  return {
    name: 'decode',
    run(slot: FrameSlot): boolean {
      if (slot.rawLength !== EVENT_BYTES) throw new FrameShapeError(`frame seq ${slot.seq}`, `an FPGA event is ${EVENT_BYTES} bytes, got ${slot.rawLength}`);
      const raw = slot.raw;
      if (raw.buffer !== buffer) {
        buffer = raw.buffer;
        view = new Float64Array(raw.buffer);
      }
      const at = (raw.byteOffset + slot.rawOffset) / 8;
      const cls = view[at + EVENT.cls];
      const score = view[at + EVENT.score];
      if (!Number.isInteger(cls) || cls < 0 || cls >= classes) throw new DeviceError(device, 'event', `event seq ${slot.seq} has class ${cls}; the firmware has ${classes} classes`);
      if (!Number.isFinite(score)) throw new DeviceError(device, 'event', `event seq ${slot.seq} has a non-finite score ${score}`);
      slot.logits.fill(Number.NEGATIVE_INFINITY);
      slot.logits[cls] = score;
      // The device's logit, as float64 bytes in the payload (fpgaEventPayload reads it back).
      LOGIT[0] = score;
      slot.payload.set(LOGIT_AS_BYTES);
      slot.payloadLength = LOGIT_BYTES;
      return true;
    },
  };
}

const LOGIT_BYTES = 8;
/** Scratch for the logit's bytes (platform order, as the reader's Float64Array). */
const LOGIT = new Float64Array(1);
const LOGIT_AS_BYTES = new Uint8Array(LOGIT.buffer);

/** A trigger record's payload in autonomous mode: the device's logit of the event's class. */
export function fpgaEventPayload(bytes: Uint8Array): Record<string, number> {
  if (bytes.length !== LOGIT_BYTES) return {};
  return { deviceLogit: new Float64Array(bytes.slice().buffer)[0] };
}

/** The trigger policy on an event slot (no second hold-off or rate limit); the score stays the policy's probability. */
export function fpgaEventPolicy(policy: TriggerPolicy): FrameStage {
  return {
    name: 'policy',
    run(slot: FrameSlot): boolean {
      policy.decideDeviceEvent(slot);
      const logit = slot.logits[slot.predicted];
      // Only with trigger.threshold 0 can the policy pick a class other than the event's
      // (probability 0 >= 0): the device did not fire on it, so neither does the daemon, and
      // the frame counts as a non-target prediction (the event's class is not a target).
      if (logit === Number.NEGATIVE_INFINITY) {
        if (slot.missed) policy.counters.suppressedLate--;
        if (slot.triggered || slot.missed) policy.counters.nonTarget++;
        slot.triggered = false;
        slot.missed = false;
        return true;
      }
      return true;
    },
  };
}
