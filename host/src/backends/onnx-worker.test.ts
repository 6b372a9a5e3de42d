import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { PROTOCOL, waitForAnswer } from './onnx-worker.js';

/**
 * A stand-in for the onnx worker, as plain source: once the main thread waits on the control
 * word, it wakes it without answering (the late notify of a previous frame), then, 50 ms on,
 * writes 42 to the answer word and stores `done`.
 */
const STRAY_WAKE_THEN_ANSWER = `
const { workerData } = require('node:worker_threads');
const { control, answer, p } = workerData;
const nap = new Int32Array(new SharedArrayBuffer(4));
// notify returns how many waiters it woke: repeat until the main thread was waiting.
while (Atomics.notify(control, p.state) === 0) Atomics.wait(nap, 0, 0, 1);
Atomics.wait(nap, 0, 0, 50);
answer[0] = 42;
Atomics.store(control, p.state, p.done);
Atomics.notify(control, p.state);
`;

describe('waiting for the onnx worker', () => {
  it('a wake without an answer (the previous frame\'s late notify) does not end the wait', async () => {
    const shared = new SharedArrayBuffer(8);
    const control = new Int32Array(shared, 0, 1);
    const answer = new Int32Array(shared, 4, 1);
    Atomics.store(control, PROTOCOL.state, PROTOCOL.request);
    const w = new Worker(STRAY_WAKE_THEN_ANSWER, { eval: true, workerData: { control, answer, p: PROTOCOL } });
    const answered = waitForAnswer(control, 60_000);
    expect(answered).toBe(true);
    expect(Atomics.load(control, PROTOCOL.state)).toBe(PROTOCOL.done);
    expect(answer[0]).toBe(42);
    await w.terminate();
  });

  it('gives up after the timeout when nobody answers', () => {
    const control = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(control, PROTOCOL.state, PROTOCOL.request);
    expect(waitForAnswer(control, 20)).toBe(false);
    Atomics.store(control, PROTOCOL.state, PROTOCOL.done);
    expect(waitForAnswer(control, 20)).toBe(true);
  });
});
