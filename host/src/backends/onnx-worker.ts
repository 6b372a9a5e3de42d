import { createRequire } from 'node:module';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';

/**
 * The thread that owns an onnxruntime session for the onnx backend, and the protocol between
 * it and the backend's synchronous `predict`.
 *
 * onnxruntime-node's public `InferenceSession.run` returns a promise (it runs the native
 * session in a `setImmediate`), and the hot path never awaits. So the session lives in a
 * worker, and one frame is one round trip over shared memory:
 *
 *   predict: input -> shared x; STATE = REQUEST; notify; Atomics.wait while STATE == REQUEST
 *   worker:  wakes; x -> session.run -> shared y; STATE = DONE (or FAILED + the message on
 *            `errors`); notify
 *
 * Both sides block in `Atomics.wait` (a futex: it takes no core while it waits). The worker
 * waits synchronously too, rather than in `Atomics.waitAsync`: between frames it has nothing
 * else to do; a synchronous wake is a direct futex wake, where waitAsync's goes through a
 * task posted to the worker's event loop (no faster: predict p50 17.5 against 18.4 us on the
 * jet tagger, 2-core VM under load), and waitAsync would need a ref'd handle to keep that
 * loop from exiting while it waits.
 */

/** The control word (index `state` of `OnnxWorker.control`) and its values. */
export const PROTOCOL = { state: 0, idle: 0, request: 1, done: 2, failed: 3 } as const;
/** Bytes of the control block at the head of the shared buffer (the state word, padded). */
const CONTROL_BYTES = 16;

/** The session's signature, as the worker reports it once the model is loaded. */
export interface OnnxValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  /** Numbers, or names for symbolic dimensions. */
  readonly shape?: ReadonlyArray<number | string>;
}
export type WorkerReport =
  | { readonly kind: 'loaded'; readonly inputs: OnnxValueMetadata[]; readonly outputs: OnnxValueMetadata[] }
  | { readonly kind: 'failed'; readonly message: string };

/** The memory the backend and its worker share, and the worker. */
export interface OnnxWorker {
  readonly worker: Worker;
  readonly control: Int32Array;
  /** The first input (`xs[0]`); every input in the model's input order. */
  readonly x: Float32Array;
  readonly xs: readonly Float32Array[];
  readonly y: Float32Array;
  /** Where the worker posts the reason of a failed run; read with receiveMessageOnPort. */
  readonly errors: MessagePort;
  /** Settles once with the worker's first report (or `failed` when it dies first). */
  readonly loaded: Promise<WorkerReport>;
}

/**
 * Blocks until the worker has answered the request in `control` (the state is no longer
 * `request`); false when `timeoutMs` passed without an answer. A wake while the state is
 * still `request` is not an answer: the previous frame's notify can arrive after that
 * frame's `done` was seen and the next request stored, so the wait is a loop.
 */
export function waitForAnswer(control: Int32Array, timeoutMs: number, spins = 0): boolean {
  // A short bounded poll first: a futex wake costs tens of microseconds on a VM, more than a
  // small model's inference; the worker runs on the other core meanwhile.
  for (let i = 0; i < spins && Atomics.load(control, PROTOCOL.state) === PROTOCOL.request; i++);
  while (Atomics.load(control, PROTOCOL.state) === PROTOCOL.request) {
    // Each wake restarts the bound: only the worker notifies, once per frame.
    if (Atomics.wait(control, PROTOCOL.state, PROTOCOL.request, timeoutMs) === 'timed-out') return false;
  }
  return true;
}

interface WorkerData {
  readonly ortPath: string;
  readonly model: Uint8Array;
  readonly options: object;
  readonly shared: SharedArrayBuffer;
  readonly protocol: typeof PROTOCOL;
  /** Byte offsets of each input and of y in `shared`. */
  readonly xOffsets: readonly number[];
  readonly yOffset: number;
  readonly nOut: number;
  /** Each input's dimensions without the batch (its element count is their product). */
  readonly inputDims: readonly (readonly number[])[];
  readonly errors: MessagePort;
  /** Polls of the control word before the worker blocks between requests. */
  readonly spins: number;
}

/**
 * Starts a worker that loads `model` (ONNX bytes) with `options` and serves inferences of
 * float inputs of [1, ...inputDims[k]] (in the model's input order) to one [1, nOut] float
 * output, until it is terminated (which also frees the session). The caller owns the
 * worker: it must `terminate()` it.
 */
export function startOnnxWorker(model: Uint8Array, options: object, inputDims: readonly (readonly number[])[], nOut: number, spins = 0): OnnxWorker {
  const sizes = inputDims.map((d) => d.reduce((a, b) => a * b, 1));
  const xOffsets: number[] = [];
  let at = CONTROL_BYTES;
  for (const n of sizes) {
    xOffsets.push(at);
    at += 4 * n;
  }
  const yOffset = at;
  const shared = new SharedArrayBuffer(yOffset + 4 * nOut);
  const { port1, port2 } = new MessageChannel();
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const data: WorkerData = { ortPath, model, options, shared, protocol: PROTOCOL, xOffsets, yOffset, nOut, inputDims, errors: port2, spins };
  // The body is passed as source (eval) because it must run from TypeScript sources (vitest)
  // and from the build alike, and Node 20 cannot start a .ts file as a worker.
  const worker = new Worker(`(${serveOnnx.toString()})();`, { eval: true, workerData: data, transferList: [port2] });
  const loaded = new Promise<WorkerReport>((resolve) => {
    worker.once('message', (m: WorkerReport) => resolve(m));
    worker.once('error', (err) => resolve({ kind: 'failed', message: err.message }));
    worker.once('exit', (code) => resolve({ kind: 'failed', message: `the worker exited (code ${code}) before it loaded the model` }));
  });
  const xs = sizes.map((n, k) => new Float32Array(shared, xOffsets[k], n));
  return {
    worker, loaded, errors: port1,
    control: new Int32Array(shared, 0, 1),
    x: xs[0]!, xs,
    y: new Float32Array(shared, yOffset, nOut),
  };
}

/**
 * The worker's body. It runs from its source text in a fresh CommonJS context: it may use
 * only its own body, `require`, globals and `workerData` (no imports or constants of this
 * module).
 */
function serveOnnx(): void {
  const { workerData, parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
  const d = workerData as WorkerData;
  const ort = require(d.ortPath) as typeof import('onnxruntime-node');
  const p = d.protocol;
  const control = new Int32Array(d.shared, 0, 1);
  const sizes = d.inputDims.map((dims) => dims.reduce((a, b) => a * b, 1));
  const xShared = sizes.map((n, k) => new Float32Array(d.shared, d.xOffsets[k], n));
  const yShared = new Float32Array(d.shared, d.yOffset, d.nOut);
  // onnxruntime refuses tensors over shared memory ("Invalid argument"): the session reads
  // and writes worker-local copies.
  const xs = sizes.map((n) => new Float32Array(n));
  const y = new Float32Array(d.nOut);
  const serve = async (): Promise<void> => {
    const session = await ort.InferenceSession.create(d.model, d.options);
    parentPort!.postMessage({ kind: 'loaded', inputs: session.inputMetadata, outputs: session.outputMetadata });
    const output = session.outputNames[0]!;
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    session.inputNames.forEach((name, k) => (feeds[name] = new ort.Tensor('float32', xs[k]!, [1, ...d.inputDims[k]!])));
    const fetches = { [output]: new ort.Tensor('float32', y, [1, d.nOut]) };
    for (;;) {
      for (let i = 0; i < d.spins && Atomics.load(control, p.state) !== p.request; i++);
      const state = Atomics.load(control, p.state);
      if (state !== p.request) {
        Atomics.wait(control, p.state, state);
        continue;
      }
      try {
        for (let k = 0; k < xs.length; k++) xs[k]!.set(xShared[k]!);
        const out = await session.run(feeds, fetches);
        yShared.set(out[output]!.data as Float32Array);
        Atomics.store(control, p.state, p.done);
      } catch (err) {
        d.errors.postMessage(err instanceof Error ? err.message : String(err));
        Atomics.store(control, p.state, p.failed);
      }
      Atomics.notify(control, p.state);
    }
  };
  serve().catch((err: unknown) => parentPort!.postMessage({ kind: 'failed', message: err instanceof Error ? err.message : String(err) }));
}
