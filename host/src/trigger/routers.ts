import { z } from 'zod';
import type { HairtriggerError } from '../core/errors.js';
import type { FrameSlot } from '../core/frame.js';
import { Registry } from '../core/registry.js';

/** One extra model's outputs in `slot.aux`: its name, labels and where they start. */
export interface AuxOutputs {
  name: string;
  labels: readonly string[];
  offset: number;
}

/**
 * A router decides, after the trigger policy, where a decided frame goes: an alert broker's
 * filters route each alert to topics (and the alert fires when one matches). It runs on the
 * hot path's thread, synchronously; what it writes it buffers and writes on `flush`.
 */
export interface FrameRouter {
  /** Decides `slot` (probabilities, prediction, lateness already set by the policy); may set
   * `slot.triggered`. A fault of this frame is counted by the router, never thrown. */
  route(slot: FrameSlot): void;
  /** Outcome counters for the snapshot and the run summary (e.g. routed/unmatched/error). */
  counters(): Record<string, number | Record<string, number>>;
  /** Writes what is buffered (called on the daemon's flush timer, off the frame path). */
  flush(): void;
  /** Resolves when what was handed over by `flush` is durably written (files on disk, JetStream's acks): a durable source acknowledges after it. */
  flushed?(): Promise<void>;
  /** Flushes and closes what it writes. Idempotent. */
  close(): Promise<void>;
  /**
   * Prepares a reload (SIGHUP) to `config`, of the same kind and validated by the kind's
   * schema, with the trigger's `targets` of the new config: builds and checks everything, changes nothing; `apply` swaps it in between frames.
   * Throws `ConfigError` when the new config cannot run; returns `{ restart }` (why) when the
   * change needs a restart. A router without it takes no reload: any change needs a restart.
   */
  prepareReload?(config: Record<string, unknown>, targets: readonly string[]): RouterReload;
}

/** A router's reload, built and checked but not in force, or the reason it needs a restart. */
export type RouterReload = { apply(): void } | { restart: string };

/** What a router is built with. */
export interface RouterContext {
  /** This run's id (file names, records). */
  runId: string;
  /** The primary model's labels (slot.probs). */
  labels: readonly string[];
  /** The trigger's target classes (config or the card's). */
  targets: readonly string[];
  /** The extra models' outputs in slot.aux. */
  aux: readonly AuxOutputs[];
  /** Resolves a config-relative path. */
  at(path: string): string;
  log(line: string): void;
  /** Counts an operating fault of one frame (it lands in the pipeline's error counts). */
  error(err: HairtriggerError): void;
  /** Frames the pipeline lost before they reached the router (failed decode, preprocess,
   * inference): a router that accounts for every frame counts them as errors. */
  framesFailed(): number;
}

/** Routers by the config's `route.kind` (the alerts modality registers `topics`). */
export const routers = new Registry<RouterContext, FrameRouter>('router');

/** Where a router kind writes, by kind: the base paths run-daemon locks against a second
 * daemon before anything is opened (as it locks the sinks'). */
const outputs = new Map<string, (config: Record<string, unknown>, at: (p: string) => string) => string[]>();

/** Registers the output base paths of a router kind (one that writes files). */
export function registerRouterOutputs(kind: string, basePaths: (config: Record<string, unknown>, at: (p: string) => string) => string[]): void {
  outputs.set(kind, basePaths);
}

/** The base paths a validated `route` config writes beside (none for a kind that writes nothing). */
export function routeBasePaths(config: { kind: string } | undefined, at: (p: string) => string): string[] {
  if (config === undefined) return [];
  return outputs.get(config.kind)?.(config as Record<string, unknown>, at) ?? [];
}

/** The config's `route` block: a kind and that kind's fields. */
export const routeConfigSchema = z.object({ kind: z.string().min(1) }).passthrough();
