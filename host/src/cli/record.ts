import { ConfigError, SourceError } from '../core/errors.js';
import { pacingSchema as sourcePacingSchema } from '../sources/source.js';
import { systemClock } from '../native/addon.js';
import { FrameRing } from '../core/frame.js';
import { CaptureWriter, readCapture } from '../capture/arrow-capture.js';
import { createReplaySource } from '../sources/replay.js';
import { realTimers, type Pacing, type Source } from '../sources/source.js';
import { createSyntheticSource } from '../modalities/cells/synthetic-source.js';
import { createProgress } from './progress.js';

export interface RecordOptions {
  out: string;
  source: 'synthetic' | 'replay';
  input?: string;
  seed: number;
  rateHz: number;
  pacing: string;
  frames?: number;
}

/**
 * `hairtrigger record`: writes what a source delivers, stamped with its arrival time on
 * this machine's clock (as ns since the Unix epoch), to a capture. SIGINT/SIGTERM stop the
 * source and close the file, so every frame received is on disk. A source that runs out
 * before `--frames` is a SourceError naming both numbers (after the file is closed, so the
 * frames it did deliver are kept); a bad `--pacing` is a ConfigError.
 */
export async function recordCapture(o: RecordOptions): Promise<void> {
  const clock = systemClock();
  const frames = o.frames ?? Number.POSITIVE_INFINITY;
  const paced = sourcePacingSchema.safeParse(o.pacing);
  if (!paced.success) throw new ConfigError('--pacing', `value "${o.pacing}": ${paced.error.issues[0].message}`);
  const pacing: Pacing = paced.data;
  let source: Source;
  if (o.source === 'synthetic') {
    source = createSyntheticSource({ seed: o.seed, rateHz: o.rateHz, pacing, frames }, clock, realTimers);
    process.stderr.write(`record: synthetic lymphocytes, seed ${o.seed}, ${o.rateHz} cells/s\n`);
  } else {
    if (o.input === undefined) throw new ConfigError('--input', 'record --source replay needs --input CAPTURE');
    const cap = readCapture(o.input);
    source = createReplaySource(cap, { pacing, loop: false, frames: Math.min(frames, cap.count), nominalRateHz: 1000 }, clock, realTimers);
    process.stderr.write(`record: re-recording ${o.input} (${cap.count} frames)\n`);
  }
  const epochNs = BigInt(Date.now()) * 1_000_000n;
  const t0 = clock.nowNs();
  const writer = new CaptureWriter(o.out, source.spec, { epochNs });
  const ring = new FrameRing(1, Math.max(1, source.spec.labels?.length ?? 1), 4);
  // On a terminal a bar; otherwise a line every 2 s, for logs.
  const bar = process.stderr.isTTY === true ? createProgress({ label: 'record', total: Number.isFinite(frames) ? frames : null, unit: 'frames' }) : null;
  const progress = bar !== null ? setInterval(() => bar.update(writer.written), 200) : setInterval(() => process.stderr.write(`record: ${writer.written} frames\n`), 2000);
  let signalled = false;
  const stop = () => {
    signalled = true;
    void source.stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  source.start({
    acquire: () => ring.acquire(),
    push: (slot) => writer.append(slot.seq, slot.stampsNs[0] - t0, slot.raw, slot.rawOffset, slot.rawLength, slot.label),
  });
  await source.done;
  clearInterval(progress);
  bar?.end();
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  await writer.close();
  process.stderr.write(`record: wrote ${writer.written} frames to ${o.out} (epoch ${epochNs} ns)\n`);
  if (!signalled && writer.written < frames) {
    throw new SourceError(o.input ?? o.source, `--frames ${frames} asked for, but the source ran out after ${writer.written} frames (all of them are in ${o.out})`);
  }
}
