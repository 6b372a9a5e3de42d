import type { FrameSlot } from '../core/frame.js';
import type { TriggerPolicy } from '../trigger/policy.js';
import type { FrameRouter } from '../trigger/routers.js';
import type { FrameStage } from './stage.js';

/** Policy stage: probabilities, lateness, threshold, hold-off, rate limit; then the router
 * (an alert broker's filters), when the pipeline has one, decides where the frame goes, and the
 * cascade, when it has one, sends the frame to the teacher if the student is unsure of it. */
export function policyStage(policy: TriggerPolicy, after: { readonly router: FrameRouter | null; readonly decisions: { record(slot: FrameSlot): void } | null; readonly cascade?: { offer(slot: FrameSlot): void } | null } = { router: null, decisions: null }): FrameStage {
  return {
    name: 'policy',
    run(slot) {
      policy.decide(slot);
      if (after.router !== null) after.router.route(slot);
      // An unsure frame's inputs to the teacher's queue (cascade/cascade.ts): a copy, no wait.
      if (after.cascade != null) after.cascade.offer(slot);
      // Per-frame decision lines (--decisions), after the router has had its say.
      if (after.decisions !== null) after.decisions.record(slot);
      return true;
    },
  };
}
