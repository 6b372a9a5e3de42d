import { ConfigError } from '../core/errors.js';
import type { CascadeConfig } from '../config/schema.js';
import type { ModelCard } from '../model/card.js';

/** What the cascade's cut is on, and its value. */
export interface Cut {
  kind: 'margin' | 'entropy';
  value: number;
}

/**
 * The cut in force: the config's number, or with `calibrated` the value `hairtrigger calibrate
 * --cascade-catch/--cascade-send` wrote into the pipeline's calibration file (config
 * `calibration.file`, its `cascade`: `fromFile`), else the one the student's model card carries
 * as `calibration.cascade.<kind>` (a number in [0, 1]). A ConfigError names the field when the
 * file's cut is on the other quantity, or when neither carries one: a config never runs on a
 * cut nobody chose.
 */
export function resolveCut(cut: CascadeConfig['cut'], card: ModelCard, fromFile: { path: string; on: 'margin' | 'entropy'; value: number } | null = null): Cut {
  const kind = 'margin' in cut ? 'margin' : 'entropy';
  const given = 'margin' in cut ? cut.margin : cut.entropy;
  if (given !== 'calibrated') return { kind, value: given };
  if (fromFile !== null) {
    if (fromFile.on !== kind) throw new ConfigError(`config: cascade.cut.${kind}`, `"calibrated", but ${fromFile.path} holds a cut on the ${fromFile.on}: calibrate again, or cut on the ${fromFile.on}`);
    return { kind, value: fromFile.value };
  }
  const calibration = card.raw.calibration as { cascade?: Record<string, unknown> } | undefined;
  const value = calibration?.cascade?.[kind];
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new ConfigError(`config: cascade.cut.${kind}`, `"calibrated", but the config's calibration file holds no cascade cut and ${card.dir}/card.json has no calibration.cascade.${kind} in [0, 1] (run hairtrigger calibrate --cascade-catch R or --cascade-send Q, or give the cut as a number)`);
  }
  return { kind, value };
}
