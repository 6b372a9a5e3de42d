import type { PipelineSettings } from '../server/api-types.js';
import type { ModelSwitch } from '../model/model-switch.js';
import type { PauseGate } from '../sources/pause-gate.js';
import type { Source } from '../sources/source.js';

/** The settings the control API changes while the daemon runs, apart from the trigger's. */
export type LiveSettings = Pick<PipelineSettings, 'backend' | 'model' | 'models' | 'paused' | 'replaySpeed'>;

/**
 * The model in force and the models loaded, whether the source is paused (a paced source's
 * clock halted, or a live one's gate shut) and a paced source's speed (null at `max` or for a
 * live source), read off the hot path. Overlay it on the start-up settings wherever the
 * settings in force are shown (`/api/controls`, the snapshot's `settings`).
 */
export function liveSettings(models: ModelSwitch, source: Source, gate: PauseGate): LiveSettings {
  const pacing = source.pacing;
  return {
    backend: models.backend.info().kind,
    model: models.name,
    models: models.names,
    paused: pacing?.paused ?? gate.paused,
    replaySpeed: pacing !== undefined && Number.isFinite(pacing.pace) ? pacing.pace : null,
  };
}
