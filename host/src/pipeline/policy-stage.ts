import type { TriggerPolicy } from '../trigger/policy.js';
import type { FrameStage } from './stage.js';

/** Policy stage: probabilities, lateness, threshold, hold-off, rate limit. */
export function policyStage(policy: TriggerPolicy): FrameStage {
  return {
    name: 'policy',
    run(slot) {
      policy.decide(slot);
      return true;
    },
  };
}
