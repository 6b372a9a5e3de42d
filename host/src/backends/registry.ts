import type { PipelineConfig } from '../config/schema.js';
import { Registry } from '../core/registry.js';
import type { ModelCard } from '../model/card.js';
import type { Backend, ModelRef } from './backend.js';
import type { TimerScheduler } from '../sources/source.js';

/** What a backend is loaded with: the model, the pipeline's config and its path resolver. */
export interface BackendContext {
  card: ModelCard;
  cfg: PipelineConfig;
  /** The variant's ONNX file, shapes and classes. */
  ref: ModelRef;
  /** Resolves a path of the config (relative to the config's folder). */
  at(path: string): string;
  /** Where `make firmware` put the zoo's firmware projects (absolute). */
  firmwareDir: string;
  /** The daemon's timers (the fpga backend re-probes a faulted device on them, off the hot path). */
  timers: TimerScheduler;
}

/** Backends by the config's `backend` (onnx, sim, fpga); `builtins.ts` registers them. */
export const backends = new Registry<BackendContext, Promise<Backend>>('backend');
