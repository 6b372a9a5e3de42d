import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { Clock } from '../core/clock.js';
import { isOperatingError, type HairtriggerError } from '../core/errors.js';
import type { FrameSlot } from '../core/frame.js';
import type { StageName } from '../metrics/snapshot.js';

/** Hands a frame on to the next stage (stamped with this stage's end time first). */
export type EmitFrame = (slot: FrameSlot) => void;

/** One step of the hot path. `run` works on the slot in place, synchronously. */
export interface FrameStage {
  readonly name: StageName;
  /**
   * Processes the slot. Returns true to pass it on; false when it leaves the pipeline here
   * without an error (a filter, or a stateful stage that keeps it: an audio window needs
   * several chunks). A stage that makes other frames of this one (one window per hop)
   * hands each on with `emit` before it returns. Throws a HairtriggerError for a bad frame;
   * anything else thrown is a bug.
   */
  run(slot: FrameSlot, emit?: EmitFrame): boolean;
  /** The stage stamps its own end (the emit stage: at the trigger write, so end to end stops
   * there, not after the copy for the detail view); the skeleton then does not. */
  readonly stampsOwnEnd?: boolean;
}

/** Where failed frames go: counted, logged, and the stream goes on. */
export interface FaultSink {
  frameFailed(stage: StageName, slot: FrameSlot, err: HairtriggerError): void;
}

/**
 * The one skeleton every stage operator is built on (as rxjs builds its operators on
 * OperatorSubscriber): runs the stage, stamps the slot with the stage's end time, and routes
 * operating errors to the fault sink instead of erroring the stream, so a malformed frame
 * costs that frame only. A non-operating error is a bug and errors the stream loudly.
 * The observer is created once per subscription: nothing is allocated per frame.
 */
export function stage(s: FrameStage, stampIndex: number, clock: Clock, faults: FaultSink): MonoTypeOperatorFunction<FrameSlot> {
  const stamps = s.stampsOwnEnd !== true;
  return (source) =>
    new Observable<FrameSlot>((subscriber) => {
      // Made once per subscription: the hot path creates no closure per frame.
      const emit: EmitFrame = (out) => {
        clock.stamp(out.stampsNs, stampIndex);
        subscriber.next(out);
      };
      return source.subscribe({
        next(slot) {
          let pass: boolean;
          try {
            pass = s.run(slot, emit);
          } catch (err) {
            if (!isOperatingError(err)) {
              subscriber.error(err);
              return;
            }
            faults.frameFailed(s.name, slot, err);
            return;
          }
          if (stamps) clock.stamp(slot.stampsNs, stampIndex);
          if (pass) subscriber.next(slot);
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
