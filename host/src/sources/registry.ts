import type { Clock } from '../core/clock.js';
import type { HairtriggerError } from '../core/errors.js';
import { Registry } from '../core/registry.js';
import type { Source, TimerScheduler } from './source.js';

/** What a source is built with: time, timers, paths and the error log, all injected. */
export interface SourceContext {
  clock: Clock;
  timers: TimerScheduler;
  /** Resolves a path of the config (relative to the config's folder). */
  at(path: string): string;
  log(line: string): void;
  /** Operating errors that cost no frame (a truncated capture): counted and kept. */
  error(err: HairtriggerError, count?: number): void;
}

/**
 * Sources by the config's `source.kind`. Each source module registers itself when loaded
 * (replay, and the generators of sim/ through its plugin); `host/src/sources/builtins.ts`
 * loads the built-in ones.
 */
export const sources = new Registry<SourceContext, Source>('source');
