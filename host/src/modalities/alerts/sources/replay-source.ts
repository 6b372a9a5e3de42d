import { z } from 'zod';
import { assert } from '../../../core/assert.js';
import type { Clock } from '../../../core/clock.js';
import { SourceError } from '../../../core/errors.js';
import type { FrameSpec } from '../../../core/frame.js';
import { limits } from '../../../core/limits.js';
import { pacedSource } from '../../../sources/pacer.js';
import type { ReplayOptions } from '../../../sources/replay.js';
import { sources } from '../../../sources/registry.js';
import { ingest, type Source, type TimerScheduler } from '../../../sources/source.js';
import { listAlertFiles, loadAlertFiles } from './load.js';
import { alertPacingSchema, alertSchedule, type AlertPacing } from './pacing.js';
import type { AlertTimeline } from './timeline.js';

/**
 * What an alerts source's frames look like: one Avro record a frame, of any length. The shape
 * is nominal (the alerts preprocessors take frames of any length).
 */
export function alertFrameSpec(stream: string): FrameSpec {
  return { stream, shape: [1], dtype: 'uint8' };
}

/** As a capture replay's options (loop, frame limit, spin window), with the alerts' pacing. */
export interface AlertReplayOptions extends Pick<ReplayOptions, 'loop' | 'frames' | 'spinWindowUs'> {
  pacing: AlertPacing;
  stream: string;
}

/**
 * Replays alerts in observation order (`timeline`), at `max` speed or paced (`AlertPacing`).
 * Each slot points at the record's bytes in the file's buffer (no copy); `seq` is the
 * alert's position in observation order (continuing across loops). The writer schema
 * reaches the decoder through the buffer the slot points into (`record-bases.ts`).
 */
export function createAlertReplaySource(t: AlertTimeline, opts: AlertReplayOptions, clock: Clock, timers: TimerScheduler): Source {
  assert(opts.frames >= 0, 'alert replay frame limit is non-negative');
  const n = t.count;
  const schedule = alertSchedule(opts.pacing, t.jd);
  return pacedSource(
    alertFrameSpec(opts.stream),
    (sink) => ({
      dueOffsetNs: schedule.dueOffsetNs,
      deliver(k, dueNs) {
        if (k >= opts.frames || n === 0 || (!opts.loop && k >= n)) return false;
        const i = k % n;
        const s = sink();
        const slot = s.acquire();
        slot.seq = k;
        slot.dueNs = dueNs;
        slot.raw = t.base[i];
        slot.rawOffset = t.offset[i];
        slot.rawLength = t.length[i];
        ingest(s, clock, slot);
        return true;
      },
    }),
    schedule.speed,
    clock,
    timers,
    { spinWindowUs: opts.spinWindowUs ?? limits.pacerSpinWindowUs, expectedFrames: opts.loop ? opts.frames : Math.min(opts.frames, n) },
  );
}

/** The config of an `alerts` source. */
export const alertsSourceSchema = z
  .object({
    kind: z.literal('alerts'),
    /** Avro container files and folders (recursed for `*.avro`). */
    paths: z.array(z.string().min(1)).min(1),
    pacing: alertPacingSchema.default('max'),
    loop: z.boolean().default(false),
    /** Stop after this many alerts (default: every alert once, or forever when looping). */
    frames: z.number().int().positive().optional(),
    /** The stream's name in metrics and triggers. */
    stream: z.string().min(1).default('alerts'),
  })
  .strict();
export type AlertsSourceConfig = z.infer<typeof alertsSourceSchema>;

sources.register({
  kind: 'alerts',
  summary: 'alert packets from Avro container files and folders, in observation order, at max speed or paced (realtime, xN, rate, burst)',
  schema: alertsSourceSchema,
  create(config, ctx) {
    const c = config as AlertsSourceConfig;
    const paths = c.paths.map((p) => ctx.at(p));
    const { timeline, errors } = loadAlertFiles(listAlertFiles(paths));
    for (const e of errors) ctx.error(e);
    if (timeline.count === 0) throw new SourceError(paths.join(', '), `no alert record to replay (${errors.length} unreadable)`);
    ctx.log(`alerts: ${timeline.count} alerts from ${timeline.files.length} files, jd ${timeline.jd[0]} to ${timeline.jd[timeline.count - 1]}`);
    const frames = c.frames ?? (c.loop ? Number.POSITIVE_INFINITY : timeline.count);
    return createAlertReplaySource(timeline, { pacing: c.pacing, loop: c.loop, frames, stream: c.stream }, ctx.clock, ctx.timers);
  },
});
