import { ConfigError } from '../core/errors.js';
import type { CascadeConfig } from '../config/schema.js';
import type { ModelCard } from '../model/card.js';

/** What the cascade's cut is on, and its value. */
export interface Cut {
  kind: 'margin' | 'entropy';
  value: number;
}

/**
 * The cut in force: the config's number, or with `calibrated` the value a calibration wrote
 * into the student's model card as `calibration.cascade.<kind>` (a number in [0, 1]).
 *
 * Hook, open: `hairtrigger calibrate` (host/src/calibration, built beside this and merged
 * since) writes a side file (`hairtrigger.calibration/1`: per-class conformal thresholds and
 * the calibration set's sorted top scores), not a cascade cut. Connecting the two means
 * choosing what a calibrated cut promises (e.g. "send the q least sure of the calibration
 * frames": a quantile of its margins, which the file would then have to keep) and reading it
 * here from the config's `calibration.file`. Until then a card without the field refuses
 * `calibrated` with a ConfigError naming the card and the field, so a config never runs on a
 * cut nobody chose.
 */
export function resolveCut(cut: CascadeConfig['cut'], card: ModelCard): Cut {
  const kind = 'margin' in cut ? 'margin' : 'entropy';
  const given = 'margin' in cut ? cut.margin : cut.entropy;
  if (given !== 'calibrated') return { kind, value: given };
  const calibration = card.raw.calibration as { cascade?: Record<string, unknown> } | undefined;
  const value = calibration?.cascade?.[kind];
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new ConfigError(`config: cascade.cut.${kind}`, `"calibrated", but ${card.dir}/card.json has no calibration.cascade.${kind} in [0, 1] (run hairtrigger calibrate, or give the cut as a number)`);
  }
  return { kind, value };
}
