/**
 * The composition root of one pipeline's worker thread (several pipelines in one daemon,
 * `runDaemons` with isolation `worker`; the main side is cli/worker-run.ts). It runs the same
 * `PipelineRun` the main thread runs in process (locks, daemon, service state, controls), on
 * its own event loop, and speaks to the main thread only by the messages of
 * cli/worker-protocol.ts:
 *
 * - every snapshot publication goes to the main thread as its JSON (built and serialised once,
 *   here), with the recent errors, so the main thread answers `/api/snapshot` and the websocket
 *   without asking; triggers go in the batches the trigger log delivers, while the main thread
 *   has listeners;
 * - history, latency, details, model, config, controls, health and `/metrics` are requests;
 * - log lines go to the main thread's logger, which prefixes them `[pipeline]`;
 * - signals reach the main thread only: it sends `stop` and `hup`.
 *
 * A bug (the daemon's `onBug`, or an uncaught error) flushes this pipeline's logs to disk,
 * releases its locks and ends this thread with status 70; the main thread logs it and keeps
 * serving the other pipelines.
 */
import { tmpdir } from 'node:os';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { assert } from '../core/assert.js';
import { RequestError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { jsonInSlices } from '../metrics/history.js';
import type { HistoryColumns } from '../server/api-types.js';
import { loadModelLibrariesFromCopies } from '../native/addon.js';
import { PipelineRun, pipelineExporter } from './run-daemon.js';
import { toWire, type ControlMethod, type FromWorker, type Publication, type RequestOp, type ToWorker, type WorkerStart } from './worker-protocol.js';

const port = parentPort;
assert(port !== null, 'pipeline-worker.js runs as a worker thread (cli/worker-run.ts starts it)');
const { cfg, opts } = workerData as WorkerStart;
// Two pipelines may run one firmware library: each thread loads its own copy (addon.ts says why).
loadModelLibrariesFromCopies(tmpdir(), `ht-sim-${process.pid}-${threadId}`);

const post = (m: FromWorker): void => port.postMessage(m);
const run = new PipelineRun(cfg, opts, (line) => post({ kind: 'log', line }));
const exporter = pipelineExporter(run, { defaultMetrics: false, labels: { pipeline: cfg.pipeline } });
let signalled: (why: string) => void = () => {};
const stopped = new Promise<string>((res) => (signalled = res));

/** The BUG path of this pipeline: its ring and sinks to disk, its locks released, the thread ended. */
function onBug(err: unknown): never {
  run.log(`BUG (stopping this pipeline): ${err instanceof Error ? err.stack : String(err)}`);
  run.flushBeforeExit();
  process.exit(70);
}
process.on('uncaughtException', onBug);
process.on('unhandledRejection', onBug);

/**
 * Publications: the daemon publishes a snapshot every `snapshotIntervalMs` on this thread's
 * timers; a poll at a fifth of that sends each new one (the same object: `snapshot()` returns
 * the published one until the next) at most a fifth of an interval late. Polling keeps the
 * daemon unaware of threads; the check is one comparison.
 */
let sent: unknown = null;
let publisher: NodeJS.Timeout | null = null;
function publication(): Publication {
  sent = run.view.snapshot();
  return { json: run.view.snapshotJson(), errors: run.view.recentErrors() };
}
function publishNew(): void {
  if (run.view.snapshot() !== sent) post({ kind: 'snapshot', ...publication() });
}

let unsubscribe: (() => void) | null = null;
// The last row's history text: `/api/history` serialises an hour of columns once per row.
const historyText = new WeakMap<HistoryColumns, Promise<string>>();

const handlers: { [K in RequestOp]: (args: never) => unknown } = {
  start: async ({ runId }: { runId: string }) => {
    await run.start(runId, () => run.flushBeforeExit());
    publisher = setInterval(publishNew, limits.snapshotIntervalMs / 5);
    return publication();
  },
  run: async () => {
    await run.run(() => {}, stopped);
    if (publisher !== null) clearInterval(publisher);
    return publication();
  },
  abandon: () => run.abandon().then(() => null),
  historyJson: async () => {
    const columns = await run.view.history();
    let text = historyText.get(columns);
    if (text === undefined) historyText.set(columns, (text = jsonInSlices(columns)));
    return text;
  },
  latency: () => run.view.latencyDistribution(),
  detail: ({ run: r, seq }: { run: string; seq: number }) => run.view.triggerDetail(r, seq),
  model: () => run.view.model(),
  config: () => run.config(),
  controls: () => run.controls.state(),
  control: ({ method, args }: { method: ControlMethod; args: unknown[] }) => (run.controls[method] as (...a: unknown[]) => unknown)(...args),
  health: ({ uptimeS }: { uptimeS: number }) => run.health(uptimeS),
  metrics: () => exporter.metricsText(),
};

async function answer(m: Extract<ToWorker, { kind: 'request' }>): Promise<void> {
  // Past its deadline the main thread has answered 503: acting now would surprise the client.
  if (m.deadlineMs !== null && Date.now() > m.deadlineMs) return;
  try {
    const handler = handlers[m.op] as ((args: unknown) => unknown) | undefined;
    if (handler === undefined) throw new RequestError('worker', `unknown request "${String(m.op)}"`, 400);
    post({ kind: 'answer', id: m.id, ok: true, value: await handler(m.args) });
  } catch (err) {
    post({ kind: 'answer', id: m.id, ok: false, error: toWire(err) });
  }
}

port.on('message', (m: ToWorker) => {
  switch (m.kind) {
    case 'request':
      void answer(m);
      break;
    case 'hup':
      run.hup();
      break;
    case 'stop':
      signalled(m.signal);
      break;
    case 'triggers':
      unsubscribe?.();
      unsubscribe = m.on ? run.view.onTriggers((events) => post({ kind: 'triggers', events })) : null;
      break;
    case 'unauthorized':
      run.controls.countUnauthorized();
      break;
    case 'close':
      unsubscribe?.();
      run.release();
      process.exit(0);
  }
});
