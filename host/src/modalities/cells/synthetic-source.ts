import { z } from 'zod';
import { assert } from '../../core/assert.js';
import { limits } from '../../core/limits.js';
import type { Clock } from '../../core/clock.js';
import type { FrameSpec } from '../../core/frame.js';
import { createLymphocyteGenerator, LYMPHOCYTE_LABELS } from './lymphocytes.js';
import { createRng } from '../../core/rng.js';
import { pacedSource } from '../../sources/pacer.js';
import { sources } from '../../sources/registry.js';
import { ingest, pacingSchema, pacingSpeed, type Pacing, type Source, type TimerScheduler } from '../../sources/source.js';

export interface SyntheticOptions {
  seed: number;
  /** Mean cell arrival rate (Poisson), per second of stream time. */
  rateHz: number;
  pacing: Pacing;
  /** Stop after this many frames; Infinity for a live stream. */
  frames: number;
  /** See `PacerOptions.spinWindowUs`; default `limits.pacerSpinWindowUs`. */
  spinWindowUs?: number;
}

/**
 * The synthetic lymphocyte generator as a live source: cells arrive as a Poisson process at
 * `rateHz`, each rendered into the source's one frame buffer just before it is pushed (the
 * hot path is synchronous, so the buffer is free again when `push` returns). The seed is
 * printed by the caller so any run can be reproduced.
 */
export function createSyntheticSource(opts: SyntheticOptions, clock: Clock, timers: TimerScheduler): Source {
  assert(opts.rateHz > 0, 'arrival rate is positive');
  const gen = createLymphocyteGenerator({ seed: opts.seed });
  const arrivals = createRng(opts.seed ^ 0x5bd1e995);
  const buffer = new Uint8Array(gen.frameBytes);
  const spec: FrameSpec = { stream: 'cells-lymphocyte-synthetic', shape: [gen.size, gen.size, 1], dtype: 'uint8', labels: LYMPHOCYTE_LABELS };
  let nextDueNs = 0;
  let dueK = -1;
  return pacedSource(
    spec,
    (sink) => ({
      dueOffsetNs(k) {
        // Arrival times are drawn in order, once per frame.
        while (dueK < k) {
          nextDueNs += (-Math.log(1 - arrivals.uniform()) / opts.rateHz) * 1e9;
          dueK++;
        }
        return nextDueNs;
      },
      deliver(k, dueNs) {
        if (k >= opts.frames) return false;
        // Rendered before ingest: the sensor made the frame; our latency starts on arrival.
        const label = gen.next(buffer, 0);
        const s = sink();
        const slot = s.acquire();
        slot.seq = k;
        slot.dueNs = dueNs;
        slot.label = label;
        slot.raw = buffer;
        slot.rawOffset = 0;
        slot.rawLength = buffer.length;
        ingest(s, clock, slot);
        return true;
      },
    }),
    pacingSpeed(opts.pacing),
    clock,
    timers,
    { spinWindowUs: opts.spinWindowUs ?? limits.pacerSpinWindowUs, expectedFrames: opts.frames },
  );
}

/** The config of a `synthetic` source. */
export const syntheticSourceSchema = z
  .object({
    kind: z.literal('synthetic'),
    seed: z.number().int().default(1),
    rateHz: z.number().positive().max(1e8).default(2000),
    pacing: pacingSchema.default('realtime'),
    frames: z.number().int().positive().optional(),
  })
  .strict();
export type SyntheticSourceConfig = z.infer<typeof syntheticSourceSchema>;

sources.register({
  kind: 'synthetic',
  summary: 'the synthetic lymphocyte generator as a live Poisson stream (seeded)',
  schema: syntheticSourceSchema,
  create(config, ctx) {
    const s = config as SyntheticSourceConfig;
    ctx.log(`synthetic source: seed ${s.seed}, ${s.rateHz} cells/s`);
    return createSyntheticSource({ seed: s.seed, rateHz: s.rateHz, pacing: s.pacing, frames: s.frames ?? Number.POSITIVE_INFINITY }, ctx.clock, ctx.timers);
  },
});
