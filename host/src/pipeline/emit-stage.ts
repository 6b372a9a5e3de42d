import type { Clock } from '../core/clock.js';
import { STAMP, type FrameSlot } from '../core/frame.js';
import type { TriggerRing } from '../sinks/trigger-ring.js';
import type { TriggerDetailRing } from './trigger-details.js';
import type { FrameStage } from './stage.js';

/**
 * Emit stage: the trigger write. End-to-end latency is measured at the moment of the write
 * from the frame's due time, so what the metrics call e2e is due-to-trigger: the stage stamps
 * its own end there (`stampsOwnEnd`), for a frame with nothing to write at its decision, and
 * the copy of the frame's data for the detail view comes after the stamp (its slot is reused
 * later). A late frame that would have fired (`slot.missed`) is recorded too, as a missed
 * trigger, so a sort's yield can be audited; it never fires. With `hold` (a cascade with
 * `replace`), a frame it holds is not written here (nor kept for the detail view).
 */
export function emitStage(ring: TriggerRing, clock: Clock, details: TriggerDetailRing | null = null, hold: { holds(slot: FrameSlot): boolean } | null = null): FrameStage {
  return {
    name: 'emit',
    stampsOwnEnd: true,
    run(slot: FrameSlot) {
      // A cascade that may replace the student's decision (alerts) keeps the decision of a
      // frame sent to the teacher and writes it when the answer comes or the budget runs out.
      // The trigger-write instant (the record carries e2e from it), and the stage's end for a
      // frame with nothing to write here.
      clock.stamp(slot.stampsNs, STAMP.emit);
      if ((hold !== null && hold.holds(slot)) || (!slot.triggered && !slot.missed)) return true;
      ring.push(slot);
      details?.push(slot);
      return true;
    },
  };
}
