/**
 * The messages between the main thread and a pipeline's worker thread (several pipelines in
 * one daemon: cli/worker-run.ts on the main side, cli/pipeline-worker.ts in the worker), and
 * the wire form of the errors they carry. Everything here is structured-clone data: no
 * functions, no class instances.
 */
import type { PipelineConfig } from '../config/schema.js';
import * as errors from '../core/errors.js';
import type { TriggerEvent } from '../metrics/snapshot.js';
import type { RunOptions } from './run-daemon.js';

/** What a worker is started with (`workerData`). The progress bar stays on the main thread. */
export interface WorkerStart {
  cfg: PipelineConfig;
  opts: Omit<RunOptions, 'bar'>;
}

/** The requests a worker answers, with their arguments and answers (`Answer<op>`). */
export interface Requests {
  /** Locks the trigger logs and builds the daemon; answers its first snapshot's JSON. */
  start: { args: { runId: string }; answer: Publication };
  /** Runs until told `stop` or the stream ends; answers the final snapshot's JSON. */
  run: { args: Record<string, never>; answer: Publication };
  /** Start-up failed here or elsewhere: stop a built daemon, release the locks. */
  abandon: { args: Record<string, never>; answer: null };
  historyJson: { args: Record<string, never>; answer: string };
  latency: { args: Record<string, never>; answer: unknown };
  detail: { args: { run: string; seq: number }; answer: unknown };
  model: { args: Record<string, never>; answer: unknown };
  config: { args: Record<string, never>; answer: unknown };
  controls: { args: Record<string, never>; answer: unknown };
  /** A `DaemonControl` change: `method` with `args` (the change and who asked). */
  control: { args: { method: ControlMethod; args: unknown[] }; answer: unknown };
  health: { args: { uptimeS: number }; answer: unknown };
  metrics: { args: Record<string, never>; answer: string };
}
export type RequestOp = keyof Requests;
export type ControlMethod = 'setTrigger' | 'pause' | 'resume' | 'setReplaySpeed' | 'setModel';

/** A published snapshot: its JSON (serialised once, in the worker) and the recent errors. */
export interface Publication {
  json: string;
  errors: ReadonlyArray<{ atMs: number; code: string; where: string; message: string }>;
}

/** Main thread to worker. */
export type ToWorker =
  /** `deadlineMs` (wall clock): past it the main thread has answered 503 already, so the worker
   * does not act on it (a control change is not applied late behind the client's back). Null:
   * no deadline (start, run, abandon). */
  | { kind: 'request'; id: number; op: RequestOp; args: unknown; deadlineMs: number | null }
  | { kind: 'hup' }
  | { kind: 'stop'; signal: string }
  /** Forward trigger batches from now on (`on`), or stop (the last listener left). */
  | { kind: 'triggers'; on: boolean }
  | { kind: 'unauthorized' }
  /** Release the locks and end the thread. */
  | { kind: 'close' };

/** Worker to main thread. */
export type FromWorker =
  | { kind: 'answer'; id: number; ok: true; value: unknown }
  | { kind: 'answer'; id: number; ok: false; error: WireError }
  | { kind: 'log'; line: string }
  | ({ kind: 'snapshot' } & Publication)
  | { kind: 'triggers'; events: readonly TriggerEvent[] };

/** An error as it crosses threads: its class name, message, stack and own data fields. */
export interface WireError {
  name: string;
  message: string;
  stack: string | undefined;
  fields: Record<string, string | number | boolean | null>;
}

/** `err` as data (own fields that are plain values: code, where, status, reason, ...). */
export function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), stack: undefined, fields: {} };
  const fields: WireError['fields'] = {};
  for (const [k, v] of Object.entries(err)) {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = v;
  }
  return { name: err.name, message: err.message, stack: err.stack, fields };
}

/** The operating error classes by name: a worker's typed error is the same class on the main thread. */
const OPERATING_ERRORS: Record<string, { prototype: Error }> = Object.fromEntries(
  Object.entries(errors).filter(([, v]) => typeof v === 'function' && (v === errors.HairtriggerError || v.prototype instanceof errors.HairtriggerError)),
);

/**
 * The error `wire` describes, as an instance of the same operating error class (so
 * `isOperatingError`, `instanceof RequestError` and its `status` hold on this thread), with
 * the same message and fields; anything else (a bug) an `Error` keeping the worker's stack.
 */
export function fromWire(wire: WireError): Error {
  const cls = OPERATING_ERRORS[wire.name];
  const err = cls === undefined ? new Error(wire.message) : (Object.create(cls.prototype) as Error);
  Object.defineProperty(err, 'message', { value: wire.message, writable: true, configurable: true });
  Object.defineProperty(err, 'stack', { value: wire.stack ?? `${wire.name}: ${wire.message}`, writable: true, configurable: true });
  Object.assign(err, wire.fields);
  err.name = wire.name;
  return err;
}
