// The teacher's worker as issue 15's fix left it: its thread at nice 19 (read back from
// /proc, Linux), and frames sent one at a time while it sleeps between them (the hot path
// wakes it only then) each answered with what onnxruntime itself gives on the same inputs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { TeacherQueue } from './teacher-queue.js';

const REPO = join(import.meta.dirname, '..', '..', '..');
const MODEL = join(REPO, 'models', 'zoo', 'cells-bccd', 'teacher.onnx');
const DIMS = [3, 32, 32];
const CLASSES = 3;

/** Nice value of each thread of this process (/proc/self/task/<tid>/stat, field 19). */
function threadNice(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe.runIf(process.platform === 'linux')('the teacher queue', () => {
  it('runs the teacher on a nice 19 thread and answers frames sent while it sleeps as onnxruntime does', async () => {
    let nudged: () => void = () => {};
    const at19 = (): number => threadNice().filter((n) => n === 19).length;
    const before = at19();
    const q = await TeacherQueue.start({ model: readFileSync(MODEL), inputDims: [DIMS], outputs: CLASSES, queueFrames: 4 }, () => nudged());
    try {
      // The worker's own thread (and any it started after lowering its priority) are at 19,
      // whatever the process runs at (the test may itself run under nice).
      expect(at19()).toBeGreaterThan(before);
      // The reference: onnxruntime here, with the worker's session options.
      const session = await ort.InferenceSession.create(MODEL, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
      for (let f = 0; f < 3; f++) {
        // Let the worker go back to sleep, then send one frame.
        await new Promise((r) => setTimeout(r, 20));
        const x = q.nextInputs()![0]!;
        for (let i = 0; i < x.length; i++) x[i] = Math.sin(0.37 * i + f);
        const want = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(x), [1, ...DIMS]) }))[session.outputNames[0]!]!.data as Float32Array;
        const answered = new Promise<void>((r) => (nudged = r));
        q.submit();
        await answered;
        const got: number[] = [];
        expect(q.join((a) => {
          expect(a.ok).toBe(true);
          expect(a.sent).toBe(f);
          got.push(...a.output);
        })).toBe(1);
        expect(got).toEqual(Array.from(want));
      }
      await session.release();
    } finally {
      await q.close();
    }
  }, 60_000);
});
