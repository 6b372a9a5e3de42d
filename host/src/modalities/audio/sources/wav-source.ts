import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { assert } from '../../../core/assert.js';
import type { Clock } from '../../../core/clock.js';
import { SourceError } from '../../../core/errors.js';
import type { FrameSpec } from '../../../core/frame.js';
import { limits } from '../../../core/limits.js';
import { pacedSource } from '../../../sources/pacer.js';
import { sources } from '../../../sources/registry.js';
import { ingest, pacingSchema, pacingSpeed, type Pacing, type PacingControl, type Source, type TimerScheduler } from '../../../sources/source.js';
import { resampleInt16 } from '../resample.js';
import { readWav, type Wav } from '../wav.js';
import { int16Bytes, pcmFields, pcmFrameSpec, streamNsAt } from './pcm.js';

/** The config of a `wav` source. */
export const wavSourceSchema = z
  .object({
    kind: z.literal('wav'),
    /** A WAV file, or a folder whose `*.wav` files play in name order as one stream. */
    path: z.string().min(1),
    pacing: pacingSchema.default('realtime'),
    /** Start again from the first sample after the last (stream time keeps increasing). */
    loop: z.boolean().default(false),
    /** Paced: how close to a chunk's due time the pacer stops sleeping on a timer and turns the
     * event loop (default `pacerSpinWindowUs`); 0: timers only, chunks up to a timer's lateness
     * (a millisecond or so) late but no core spent spinning: many streams in one process. */
    spinWindowUs: z.number().int().min(0).max(limits.pacerSpinWindowUs).optional(),
    ...pcmFields,
  })
  .strict();
export type WavSourceConfig = z.infer<typeof wavSourceSchema>;

export interface WavStreamOptions {
  pacing: Pacing;
  loop: boolean;
  chunkSamples: number;
  rateHz: number;
  stream: string;
  /** See `PacerOptions.spinWindowUs`; default `limits.pacerSpinWindowUs`. */
  spinWindowUs?: number;
}

/** The WAV files of `path`: itself, or a folder's `*.wav` files (not recursed) sorted by name. */
export function listWavFiles(path: string): string[] {
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) return [path];
  const files = readdirSync(path).filter((f) => /\.wav$/i.test(f)).sort().map((f) => join(path, f));
  if (files.length === 0) throw new SourceError(path, 'no *.wav file in this folder');
  return files;
}

/**
 * Mono int16 samples at `rateHz` of `wavs` played back to back (each resampled when its own
 * rate differs): the one stream a folder makes.
 */
export async function joinWavs(wavs: readonly Wav[], rateHz: number): Promise<Int16Array> {
  // One file at a time: each resampling instantiates its own WebAssembly module.
  const parts: Int16Array[] = [];
  for (const w of wavs) parts.push(await resampleInt16(w.samples, w.sampleRateHz, rateHz));
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Plays `samples` (mono int16 at `opts.rateHz`) in chunks of `opts.chunkSamples`: chunk k holds
 * samples [k*C, min((k+1)*C, n)) of the pass, its slot points into `samples` (no copy, no
 * allocation per chunk), `seq` is k (continuing across loops), `sensorNs` the stream time at
 * the end of its last sample, and it is due at that stream time (scaled by the pacing; at
 * `max`, when it is delivered, and so are the samples inside it: `wallNsPerStreamNs` 0).
 */
export function createWavSource(samples: Int16Array, opts: WavStreamOptions, clock: Clock, timers: TimerScheduler): Source {
  assert(opts.chunkSamples > 0 && opts.chunkSamples <= limits.pcmChunkSamplesMax, 'chunk samples within limits');
  const n = samples.length;
  const bytes = int16Bytes(samples);
  const perPass = Math.ceil(n / opts.chunkSamples);
  // At max pace nothing is scheduled: a chunk's samples all come into being when it is
  // delivered, so a window inside it is due then (as a replayed frame is due at its ingest).
  // Read from the pacer per chunk: the control API (or a bench) may change the speed live.
  let src: Source | null = null;
  /** Samples from the stream start to the end of chunk k. */
  const endOf = (k: number): number => {
    const pass = Math.floor(k / perPass);
    return pass * n + Math.min((k - pass * perPass + 1) * opts.chunkSamples, n);
  };
  src = pacedSource(
    pcmFrameSpec(opts.stream, opts.chunkSamples),
    (sink) => ({
      dueOffsetNs: (k) => (perPass === 0 ? 0 : streamNsAt(endOf(k), opts.rateHz)),
      deliver(k, dueNs) {
        if (perPass === 0 || (!opts.loop && k >= perPass)) return false;
        const first = (k % perPass) * opts.chunkSamples;
        const s = sink();
        const slot = s.acquire();
        slot.seq = k;
        slot.sensorNs = streamNsAt(endOf(k), opts.rateHz);
        slot.dueNs = dueNs;
        slot.wallNsPerStreamNs = 1 / src!.pacing!.pace;
        slot.raw = bytes;
        slot.rawOffset = first * 2;
        slot.rawLength = (Math.min(first + opts.chunkSamples, n) - first) * 2;
        ingest(s, clock, slot);
        return true;
      },
    }),
    pacingSpeed(opts.pacing),
    clock,
    timers,
    { spinWindowUs: opts.spinWindowUs ?? limits.pacerSpinWindowUs, expectedFrames: opts.loop ? Number.POSITIVE_INFINITY : perPass },
  );
  assert(src.pacing !== undefined, 'a paced source has a pacing control');
  return src;
}

/**
 * A source whose stream is made asynchronously (files resampled by WebAssembly): it starts
 * once `made` resolves. Making it has no operating error (the files were read already), so a
 * rejection is a bug and is rethrown. `expectedFrames` is known before (for progress bars).
 * Its pacing control (the replay speed of the control API, `pause`) forwards to the made
 * source's; a change before that is kept and applied when it starts.
 */
function deferredSource(spec: FrameSpec, made: Promise<Source>, expectedFrames: number, initialPace: number): Source {
  let inner: Source | null = null;
  let stopped = false;
  let earlySpeed: number | null = null;
  let earlyPaused = false;
  const pacing: PacingControl = {
    get pace() {
      return inner?.pacing?.pace ?? earlySpeed ?? initialPace;
    },
    get paused() {
      return inner?.pacing?.paused ?? earlyPaused;
    },
    pause() {
      if (inner?.pacing !== undefined) inner.pacing.pause();
      else earlyPaused = true;
    },
    resume() {
      if (inner?.pacing !== undefined) inner.pacing.resume();
      else earlyPaused = false;
    },
    setSpeed(speed) {
      if (inner?.pacing !== undefined) inner.pacing.setSpeed(speed);
      else earlySpeed = speed;
    },
  };
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  return {
    spec,
    done,
    expectedFrames,
    pacing,
    get delivered() {
      return inner?.delivered ?? 0;
    },
    start(sink) {
      made.then(
        (s) => {
          if (stopped) return resolveDone();
          inner = s;
          s.done.then(resolveDone);
          if (earlySpeed !== null) s.pacing?.setSpeed(earlySpeed);
          if (earlyPaused) s.pacing?.pause();
          s.start(sink);
        },
        (err: unknown) => {
          resolveDone();
          throw err;
        },
      );
    },
    async stop() {
      stopped = true;
      await inner?.stop();
      resolveDone();
    },
  };
}

sources.register({
  kind: 'wav',
  summary: 'a WAV file or a folder of them (one stream, in name order), resampled to rateHz, in chunks of int16 samples, at max speed or paced (realtime, xN), optionally looped',
  schema: wavSourceSchema,
  create(config, ctx) {
    const c = config as WavSourceConfig;
    // Headers and samples are read here, so a hostile file fails the config at once (WavError).
    const wavs = listWavFiles(ctx.at(c.path)).map(readWav);
    const seconds = wavs.reduce((s, w) => s + w.durationS, 0);
    ctx.log(`wav: ${wavs.length} file(s), ${seconds.toFixed(2)} s of audio, played at ${c.rateHz} Hz in chunks of ${c.chunkSamples} samples`);
    const opts = { pacing: c.pacing, loop: c.loop, chunkSamples: c.chunkSamples, rateHz: c.rateHz, stream: c.stream, spinWindowUs: c.spinWindowUs };
    const made = joinWavs(wavs, c.rateHz).then((samples) => createWavSource(samples, opts, ctx.clock, ctx.timers));
    // A resampled file has round(frames x rate / its rate) samples, give or take one.
    const samples = wavs.reduce((n, w) => n + Math.round((w.frames * c.rateHz) / w.sampleRateHz), 0);
    return deferredSource(pcmFrameSpec(c.stream, c.chunkSamples), made, c.loop ? Number.POSITIVE_INFINITY : Math.ceil(samples / c.chunkSamples), pacingSpeed(c.pacing));
  },
});
