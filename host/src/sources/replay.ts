import { assert } from '../core/assert.js';
import { CaptureFormatError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { Clock } from '../core/clock.js';
import { z } from 'zod';
import { readCapture, type Capture } from '../capture/arrow-capture.js';
import { pacedSource } from './pacer.js';
import { sources } from './registry.js';
import { ingest, pacingSchema, pacingSpeed, type Pacing, type Source, type TimerScheduler } from './source.js';

export interface ReplayOptions {
  pacing: Pacing;
  /** Start again from the first frame after the last (sequence numbers keep increasing). */
  loop: boolean;
  /** Stop after this many frames (looping included); Infinity for no limit. */
  frames: number;
  /** Frame rate assumed for frames without sensor time, per second. */
  nominalRateHz: number;
  /** See `PacerOptions.spinWindowUs`; default `limits.pacerSpinWindowUs`. */
  spinWindowUs?: number;
}

/**
 * Replays a capture held in memory. Each slot points into the capture's frame buffer: no
 * copy, no allocation per frame. Sensor times (relative to the capture's start) set the pace;
 * on each loop the stream time continues from the end of the previous pass plus one mean
 * frame interval, and sequence numbers continue from the last.
 */
export function createReplaySource(capture: Capture, opts: ReplayOptions, clock: Clock, timers: TimerScheduler): Source {
  assert(opts.frames >= 0, 'replay frame limit is non-negative');
  const n = capture.count;
  const hasTimes = n > 0 && capture.sensorNs.every((t) => Number.isFinite(t));
  const nominalNs = 1e9 / opts.nominalRateHz;
  const spanNs = hasTimes && n > 1 ? capture.sensorNs[n - 1] - capture.sensorNs[0] : 0;
  const periodNs = hasTimes ? spanNs + (n > 1 ? spanNs / (n - 1) : nominalNs) : n * nominalNs;
  const seqSpan = n > 0 ? capture.seq[n - 1] - capture.seq[0] + 1 : 0;
  return pacedSource(
    capture.spec,
    (sink) => ({
      dueOffsetNs(k) {
        if (n === 0) return 0;
        const pass = Math.floor(k / n);
        const i = k - pass * n;
        const t = hasTimes ? capture.sensorNs[i] - capture.sensorNs[0] : i * nominalNs;
        return pass * periodNs + t;
      },
      deliver(k, dueNs) {
        if (k >= opts.frames || n === 0 || (!opts.loop && k >= n)) return false;
        const pass = Math.floor(k / n);
        const i = k - pass * n;
        const at = capture.offsets[i];
        const s = sink();
        const slot = s.acquire();
        slot.seq = capture.seq[i] + pass * seqSpan;
        slot.sensorNs = capture.sensorNs[i] + pass * periodNs;
        slot.dueNs = dueNs;
        slot.label = capture.labels[i];
        slot.raw = capture.frames;
        slot.rawOffset = at;
        slot.rawLength = capture.offsets[i + 1] - at;
        ingest(s, clock, slot);
        return true;
      },
    }),
    pacingSpeed(opts.pacing),
    clock,
    timers,
    { spinWindowUs: opts.spinWindowUs ?? limits.pacerSpinWindowUs, expectedFrames: opts.loop ? opts.frames : Math.min(opts.frames, n) },
  );
}

/** The config of a `replay` source. */
export const replaySourceSchema = z
  .object({
    kind: z.literal('replay'),
    /** Capture file (Arrow IPC stream or file). */
    path: z.string().min(1),
    pacing: pacingSchema.default('realtime'),
    loop: z.boolean().default(false),
    /** Stop after this many frames (default: the whole capture, or forever when looping). */
    frames: z.number().int().positive().optional(),
    /** Frame rate assumed for frames without sensor time. */
    nominalRateHz: z.number().positive().max(1e8).default(1000),
  })
  .strict();
export type ReplaySourceConfig = z.infer<typeof replaySourceSchema>;

sources.register({
  kind: 'replay',
  summary: 'a recorded capture (Arrow IPC), as fast as possible or paced (realtime, xN), optionally looped',
  schema: replaySourceSchema,
  create(config, ctx) {
    const s = config as ReplaySourceConfig;
    const path = ctx.at(s.path);
    const capture = readCapture(path);
    if (capture.count === 0) throw new CaptureFormatError(path, `no frames to replay${capture.truncation === null ? ' (the capture is empty)' : ` (${capture.truncation.message})`}`);
    if (capture.truncation !== null) ctx.error(capture.truncation);
    const frames = s.frames ?? (s.loop ? Number.POSITIVE_INFINITY : capture.count);
    return createReplaySource(capture, { pacing: s.pacing, loop: s.loop, frames, nominalRateHz: s.nominalRateHz }, ctx.clock, ctx.timers);
  },
});
