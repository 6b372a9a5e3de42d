/**
 * Bytes the cascade's hot-path half allocates per frame sent: `Cascade.offer` (margin, the
 * copy of the frame's inputs into the teacher's queue, submit) and `Cascade.holds` (replace:
 * the copy of the decision), on the BCCD cell sorter's real teacher in its worker. Run as
 *   node --single-threaded --expose-gc --max-semi-space-size=128 --min-semi-space-size=128 \
 *     build/bench/cascade-alloc-probe.js [--pixels] [--control]
 * Each window offers n unsure frames (n up to the queue's 1024, so every one is sent) between
 * two reads of the young space; then, outside it, waits for the teacher to answer them all and
 * joins the answers (which allocate: off the hot path). `--pixels`: the frames went to the
 * student as the camera's bytes, so each one sent is normalised into its queue slot. Windows of 256 and 1024 frames, twice;
 * their difference cancels fixed costs. `--control` makes one small object per offer: the probe
 * must see it. Prints one JSON line: {perFrameBytes, windows: [{frames, sent, bytes}]}.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cascade } from '../host/src/cascade/cascade.js';
import { loadCascadeTeacher } from '../host/src/cascade/load.js';
import { FrameRing } from '../host/src/core/frame.js';
import { systemClock } from '../host/src/native/addon.js';
import { TriggerRing } from '../host/src/sinks/trigger-ring.js';
import { TriggerPolicy } from '../host/src/trigger/policy.js';
import { createStreamPreprocessor } from '../host/src/preprocess/stream-preprocessor.js';

declare const gc: () => void;

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const QUEUE = 1024;
const newSpaceUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;

async function main(control: boolean, pixels: boolean): Promise<void> {
  const model = join(REPO, 'models', 'zoo', 'cells-bccd');
  const clock = systemClock();
  let cascade: Cascade | null = null;
  const { readModelCard } = await import('../host/src/model/card.js');
  const card = readModelCard(model);
  const teacher = await loadCascadeTeacher({ model, variant: 'teacher', cut: { margin: 0.9 }, queueFrames: QUEUE, replace: true }, card, (p) => p, () => cascade?.join());
  const policy = new TriggerPolicy({ targets: ['WBC'], threshold: 0.5, holdoffUs: 0, maxRatePerS: 1e7, burst: 1e6 }, card.labels, 1e7);
  const frames = new FrameRing(3 * 32 * 32, 3, QUEUE);
  cascade = new Cascade(teacher.queue, {
    teacher: teacher.name, cut: teacher.cut, replace: true, labels: card.labels, teacherTakesProbabilities: teacher.takesProbabilities,
    inputs: 1, budgetUs: 1e7, clock, windowS: 5, policy: () => policy.params, ring: new TriggerRing(3), frameSlots: QUEUE,
    // `--pixels`: the student took each frame as the camera's bytes; a frame sent is normalised into the queue.
    pixels: pixels ? { route: () => true, pre: createStreamPreprocessor(card.preprocessing, 'cells-bccd card') } : null,
  });
  const raw = new Uint8Array(QUEUE * 32 * 32 * 3).map((_, i) => (i * 37) & 255);
  // Unsure frames (margin 0.05 under the cut of 0.9), each with its own inputs and times.
  for (const s of frames.slots) {
    for (let k = 0; k < s.input.length; k++) s.input[k] = Math.sin(s.index * 7 + k);
    s.raw = raw;
    s.rawOffset = s.index * 32 * 32 * 3;
    s.rawLength = 32 * 32 * 3;
    s.probs.set([0.45, 0.4, 0.15]);
    s.predicted = 0;
    s.triggered = s.index % 3 === 0;
    s.seq = s.index;
    clock.stamp(s.stampsNs, 0);
    s.dueNs = s.stampsNs[0];
  }
  const keep: object[] = new Array(8).fill(null);
  const c = cascade;
  const statBytes = -newSpaceUsed() + newSpaceUsed();
  const drain = async (): Promise<void> => {
    for (let waitedMs = 0; c.queue.outstanding > 0; waitedMs++) {
      if (waitedMs > 120_000) throw new Error('the teacher did not answer');
      await new Promise((r) => setTimeout(r, 1));
      c.join();
    }
  };
  const window = async (n: number): Promise<{ frames: number; sent: number; bytes: number }> => {
    await drain();
    const sent0 = c.queue.sent;
    gc();
    const used = newSpaceUsed();
    for (let i = 0; i < n; i++) {
      const s = frames.slots[i];
      c.offer(s);
      c.holds(s);
      if (control) keep[i & 7] = { i };
    }
    const after = newSpaceUsed();
    if (after < used) throw new Error('a scavenge ran inside a window; enlarge --max-semi-space-size');
    return { frames: n, sent: c.queue.sent - sent0, bytes: after - used - statBytes };
  };
  await window(QUEUE);
  await window(QUEUE);
  const windows = [await window(256), await window(QUEUE), await window(256), await window(QUEUE)];
  await drain();
  await c.close();
  const per = (a: { frames: number; bytes: number }, b: { frames: number; bytes: number }) => (b.bytes - a.bytes) / (b.frames - a.frames);
  process.stdout.write(`${JSON.stringify({ perFrameBytes: Math.min(per(windows[0], windows[1]), per(windows[2], windows[3])), windows, keep: keep.length })}\n`);
}

main(process.argv.includes('--control'), process.argv.includes('--pixels')).catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
