/**
 * Bytes the hot path allocates per frame, measured deterministically through the pipeline as
 * a config builds it (`createDaemon`). Run it in its own process with
 *   node --single-threaded --expose-gc --max-semi-space-size=128 --min-semi-space-size=128 \
 *     build/bench/alloc-probe.js CONFIG [--device PATH] [--clock native|js] [--batches-small N] [--batches-large N]
 *     [--backend onnx|sim|fpga] [--wav PATH | --pcm PATH] [--truth FILE.json]
 * (`--wav`: the config's source replaced by a `wav` source of that file, as `hairtrigger
 * replay FILE.wav` makes it; `--pcm`: by a `pcm` source reading that raw s16le file through
 * its ingress queue, each window draining a full queue that the file's reads (I/O, which
 * allocates, outside the windows) refilled; `--backend`: the config's backend replaced.)
 * `--single-threaded` keeps V8's compiler and collector on the main thread, so the JIT's own
 * allocations land at the same points in every run, however loaded the machine is; the
 * large young generation means no scavenge runs inside a window (checked). The source is
 * replayed at max pace, looping, and driven batch by batch (each batch is
 * `replayBatchFramesMax` frames) with timers the probe runs itself; the trigger log is not
 * flushed (off the hot path), so its ring overflows and counts without allocating.
 * Prints one JSON line: {perFrameBytes, windows: [{frames, bytes}], frames, triggers, detailsKept}.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { basename, dirname, resolve } from 'node:path';
import { calibrationConfigSchema, loadConfigFile } from '../host/src/config/schema.js';
import { createDaemon } from '../host/src/daemon.js';
import { monotonicClock } from '../host/src/core/clock.js';
import { systemClock } from '../host/src/native/addon.js';
import { limits } from '../host/src/core/limits.js';
import type { TimerScheduler } from '../host/src/sources/source.js';

declare const gc: () => void;

/** Timers whose immediates (the source's batches) the probe runs one at a time; timeouts never fire. */
function probeTimers(): TimerScheduler & { runImmediate(): boolean; pending(): boolean } {
  let immediate: (() => void) | null = null;
  return {
    setTimeout: () => 0,
    clearTimeout: () => {},
    setImmediate: (fn) => ((immediate = fn), 1),
    clearImmediate: () => (immediate = null),
    pending: () => immediate !== null,
    runImmediate() {
      const f = immediate;
      immediate = null;
      f?.();
      return f !== null;
    },
  };
}

const newSpaceUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;

async function main(argv: string[]): Promise<void> {
  const path = argv[0];
  const opt = (name: string, dflt: string) => {
    const i = argv.indexOf(name);
    return i < 0 ? dflt : argv[i + 1];
  };
  const cfg = loadConfigFile(path);
  if (cfg.source === undefined) throw new Error(`${path}: the probe replays a source`);
  const wav = opt('--wav', '');
  const pcm = opt('--pcm', '');
  if (pcm !== '') {
    cfg.source = { kind: 'pcm', path: resolve(pcm) };
    // Frames wait in the queue while it refills between windows: a budget they stay inside, so
    // the windows measure the path of frames that can fire.
    cfg.budgetUs = 60e6;
  }
  else cfg.source = wav !== '' ? { kind: 'wav', path: resolve(wav), pacing: 'max', loop: true } : { ...cfg.source, pacing: 'max', loop: true, frames: undefined };
  // `--truth FILE`: a keyword stream's truth windows (its entry named as the source file), the
  // detections matched on the hot path as they fire (config `calibration.truth`).
  const truth = opt('--truth', '');
  if (truth !== '') cfg.calibration = calibrationConfigSchema.parse({ ...cfg.calibration, truth: { file: resolve(truth), stream: basename(pcm !== '' ? pcm : wav) } });
  const backend = opt('--backend', '');
  if (backend !== '') cfg.backend = backend;
  cfg.server.enabled = false;
  cfg.sinks = {};
  const device = opt('--device', '');
  if (device !== '') {
    cfg.device = device;
    // A budget of seconds: a descheduled emulator thread is not what this measures.
    cfg.fpga = { ...(cfg.fpga ?? { mode: 'host', pollUs: 50 }), spinsMax: 2 ** 32 };
  }
  const timers = probeTimers();
  // `--clock js`: the JavaScript clock (performance.now() boxes its result): a control that
  // shows the probe sees allocation when there is some.
  const clock = opt('--clock', 'native') === 'js' ? monotonicClock : systemClock();
  const daemon = await createDaemon(cfg, { clock, timers, log: () => {}, baseDir: dirname(resolve(path)), firmwareDir: resolve(dirname(new URL(import.meta.url).pathname), '..', '..', 'hls', 'build'), onBug: (e) => { throw e; } });
  daemon.start();
  // A source made asynchronously (a `wav` file's resampling) schedules its first batch later.
  for (let waitedMs = 0; !timers.pending(); waitedMs++) {
    if (waitedMs > 60_000) throw new Error(`${path}: the source never scheduled a batch`);
    await new Promise((r) => setTimeout(r, 1));
  }
  const m = daemon.metrics;
  const ingress = (daemon.source as { ingress?: { depth: number } }).ingress;
  // An ingress queue is drained only as far as it was filled: wait until it is full.
  const refill = async (): Promise<void> => {
    for (let waitedMs = 0; ingress !== undefined && ingress.depth < limits.ingressFramesMax; waitedMs++) {
      if (waitedMs > 60_000) throw new Error(`${path}: the source did not fill its ingress queue`);
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  // A full ingress queue holds ingressFramesMax frames: a window drains it (then waits for the
  // reads to fill it again, their bytes not counted) as often as its batches need.
  const batchesPerFill = ingress === undefined ? Infinity : limits.ingressFramesMax / limits.replayBatchFramesMax;
  // What reading the young space's size allocates itself (the statistics' objects), taken
  // off each read: a window that refills reads it once per fill.
  const statBytes = -newSpaceUsed() + newSpaceUsed();
  const window = async (batches: number): Promise<{ frames: number; bytes: number }> => {
    const before = m.frames + m.dropped;
    let bytes = 0;
    gc();
    for (let b = 0; b < batches; ) {
      await refill();
      const used = newSpaceUsed();
      for (const end = Math.min(batches, b + batchesPerFill); b < end; b++) timers.runImmediate();
      const after = newSpaceUsed();
      // The young space only grows between collections: a drop means one ran and the window is void.
      if (after < used) throw new Error(`a scavenge ran inside a window of ${batches} batches; enlarge --max-semi-space-size`);
      bytes += after - used - statBytes;
    }
    return { frames: m.frames + m.dropped - before, bytes };
  };
  const small = Number(opt('--batches-small', '40'));
  const large = Number(opt('--batches-large', '200'));
  // Warm-up: the JIT's first compilations and every lazy path. Two large windows: a path taken
  // rarely (a keyword that fires once a pass of a 10 s stream) gets its feedback allocated
  // only after a few calls, which one window did not always reach (a one-off ~750 KB in the
  // first measured window of the wake-word stream, once the shipped student fired on it).
  await window(large);
  await window(large);
  const windows = [await window(small), await window(large), await window(small), await window(large)];
  // Fixed costs (the JIT's feedback, the first call of a path) are the same in both sizes of
  // window; the difference is what the extra frames cost.
  const perFrame = Math.min((windows[1].bytes - windows[0].bytes) / (windows[1].frames - windows[0].frames), (windows[3].bytes - windows[2].bytes) / (windows[3].frames - windows[2].frames));
  await daemon.stop();
  // Frames the trigger detail ring copied (every trigger and missed trigger): the firing path measured includes that copy.
  const detailsKept = daemon.triggerDetails.written;
  // Detections the truth matcher scored (null without --truth).
  const scored = daemon.view.snapshot().detectionScore?.detections ?? null;
  process.stdout.write(JSON.stringify({ config: path, perFrameBytes: perFrame, windows, frames: m.frames, dropped: m.dropped, triggers: m.triggers, detailsKept, scored }) + '\n');
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
