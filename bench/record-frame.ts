/**
 * `node build/bench/record-frame.js TREE...`: what `PipelineMetrics.recordFrame` costs per
 * frame (the metrics' share of the hot path), for each checkout given (its `build/` after
 * `make build`), run alternately in one process: 30 rounds of 500,000 frames each, a snapshot
 * between rounds (which drains the hot-path counts), five classes, stamps spread over a few
 * hundred ns, labelled frames, a modelled device time where the checkout has one. Prints
 * min / p25 / median ns per frame. Used for issue 13 to compare the per-interval history and
 * quality counters against the commit before them (a second checkout made with `git archive`).
 */
import { resolve } from 'node:path';

interface Tree {
  name: string;
  // The checkouts' classes differ by version: typed loosely on purpose.
  m: { recordFrame(slot: unknown): void; snapshot(): unknown; deviceLatency?: (d: { modelledNs: number }) => void };
  slots: unknown[];
  clock: { advanceNs(ns: number): void };
}

async function setup(tree: string): Promise<Tree> {
  const at = (p: string) => resolve(tree, 'build', p);
  const { PipelineMetrics } = await import(at('host/src/metrics/pipeline-metrics.js'));
  const { FrameRing, STAMP } = await import(at('host/src/core/frame.js'));
  const { manualClock } = await import(at('host/src/core/clock.js'));
  const clock = manualClock(1e9);
  const m = new PipelineMetrics({ pipeline: 'b', backend: 'sim', model: 'm', labels: ['g', 'q', 'w', 'z', 't'], budgetUs: 100 }, clock, () => 0);
  m.deviceLatency?.({ modelledNs: 175 });
  const ring = new FrameRing(16, 5, 64);
  for (const s of ring.slots) {
    s.dueNs = 1e9;
    s.stampsNs[0] = 1e9;
    for (let k = 1; k <= STAMP.emit; k++) s.stampsNs[k] = 1e9 + 300 * k + (s.index % 7) * 50;
    s.predicted = s.label = s.index % 5;
    s.triggered = s.index % 3 === 0;
  }
  return { name: tree, m, slots: ring.slots, clock };
}

const FRAMES = 500_000;
const ROUNDS = 30;
const trees = await Promise.all(process.argv.slice(2).map(setup));
const times = trees.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) {
  trees.forEach((x, j) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < FRAMES; i++) x.m.recordFrame(x.slots[i & 63]);
    times[j].push(Number(process.hrtime.bigint() - t0) / FRAMES);
    x.clock.advanceNs(250e6);
    x.m.snapshot();
  });
}
trees.forEach((t, j) => {
  const s = times[j].sort((a, b) => a - b);
  process.stdout.write(`${t.name}: recordFrame ns/frame min ${s[0].toFixed(1)} p25 ${s[Math.floor(ROUNDS / 4)].toFixed(1)} median ${s[Math.floor(ROUNDS / 2)].toFixed(1)}\n`);
});
