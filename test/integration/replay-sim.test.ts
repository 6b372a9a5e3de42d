// The daemon on the sim backend fires exactly the triggers an offline evaluation of the same
// firmware gives: the generated project's C testbench, built with the layers' CPU fast paths
// off (the template code as Vitis reads it), run over the same preprocessed frames, with the
// softmax and threshold applied here.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exactLiteral } from '../../hls/compiler/writer.js';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import { firmwareLib } from '../../host/src/backends/sim.fixture.js';
import { firmwareName } from '../../host/src/daemon.js';
import { readModelCard } from '../../host/src/model/card.js';
import { createModelPreprocessor } from '../../host/src/preprocess/model-input.js';
import { readJsonlLog, replayConfig, REPO, runToEnd, tempDir, ZOO } from '../support/fixtures.js';

function offlineTriggers(task: string, capturePath: string, target: string, threshold: number, dir: string): { seqs: number[]; frames: number } {
  const card = readModelCard(join(ZOO, task));
  const cap = readCapture(capturePath);
  const pre = createModelPreprocessor(card.preprocessing);
  const x = new Float32Array(pre.inputElements);
  const lines: string[] = [];
  for (let i = 0; i < cap.count; i++) {
    pre.run(cap.frames, cap.offsets[i]!, x);
    lines.push(Array.from(x, (v) => exactLiteral(v, `frame ${i}`)).join(' '));
  }
  writeFileSync(join(dir, `${task}.in`), lines.join('\n') + '\n');
  const project = dirname(firmwareLib(firmwareName(task, 'student')));
  execFileSync('make', ['-s', '-C', project, 'csim_tb_generic'], { stdio: 'pipe' });
  execFileSync(join(project, 'csim_tb_generic'), [join(dir, `${task}.in`), join(dir, `${task}.raw`), join(dir, `${task}.out`)], { stdio: 'pipe' });
  const logits = readFileSync(join(dir, `${task}.out`), 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  const k = card.labels.indexOf(target);
  const seqs: number[] = [];
  logits.forEach((z, i) => {
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    if (e[k]! / e.reduce((a, b) => a + b, 0) >= threshold) seqs.push(cap.seq[i]!);
  });
  return { seqs, frames: cap.count };
}

const CASES = [
  { task: 'cells-bccd', capture: 'sim/recordings/cells-bccd-test.arrows', target: 'WBC' },
  { task: 'jets-hls4ml', capture: 'sim/recordings/jets-hls4ml-10k.arrows', target: 't' },
];

describe('replay on the sim backend', () => {
  const dir = tempDir('replay-sim');
  for (const c of CASES) {
    it(`${c.task}: the daemon's triggers are the C testbench's, frame for frame`, async () => {
      const capture = join(REPO, c.capture);
      const jsonl = join(dir, `${c.task}.jsonl`);
      const d = await runToEnd(replayConfig(join(ZOO, c.task), capture, { backend: 'sim', sinks: { jsonl }, trigger: { targets: [c.target], threshold: 0.5, maxRatePerS: 1e7, burst: 1_000_000 } }));
      const snap = d.metrics.snapshot();
      expect(snap.backend).toBe('sim');
      const offline = offlineTriggers(c.task, capture, c.target, 0.5, dir);
      expect(snap.frames).toBe(offline.frames);
      expect(snap.dropped).toBe(0);
      const logged = readJsonlLog<{ seq: number }>(jsonl).map((e) => e.seq);
      expect(offline.seqs.length).toBeGreaterThan(offline.frames / 20);
      expect(logged).toEqual(offline.seqs);
    }, 120_000);
  }
});
