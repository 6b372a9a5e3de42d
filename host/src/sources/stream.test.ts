import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../core/clock.js';
import { FrameRing } from '../core/frame.js';
import { createRng } from '../core/rng.js';
import { writeCapture } from '../datasets/export.js';
import type { TimerScheduler } from './source.js';
import { createStreamSource, streamSourceSchema } from './stream.js';

/** Timers that never fire: the ingress queue's drain only runs if the source runs it itself. */
const stalled: TimerScheduler = { setTimeout: () => 0, clearTimeout: () => {}, setImmediate: () => 0, clearImmediate: () => {} };

describe('stream source', () => {
  it('hands every frame its queue accepted to the pipeline when stopped (a clean SIGTERM loses none)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-stream-'));
    const path = join(dir, 'c.arrows');
    const n = 300;
    // Frame i holds the byte i % 256 throughout, so the bytes the pipeline sees can be checked against the file.
    const frames = new Uint8Array(n * 4);
    for (let i = 0; i < n; i++) frames.fill(i & 255, i * 4, i * 4 + 4);
    await writeCapture(path, { stream: 's', shape: [2, 2, 1], dtype: 'uint8', labels: ['a'] }, { count: n, frames, labels: new Int8Array(n) }, createRng(1));
    const cfg = streamSourceSchema.parse({ kind: 'stream', path, stream: 's', shape: [2, 2, 1], dtype: 'uint8' });
    const source = createStreamSource(cfg, { clock: manualClock(0), timers: stalled, at: (p) => p, log: () => {}, error: (e) => { throw e; } });
    const ring = new FrameRing(4, 1, 8);
    const seen: { seq: number; byte: number }[] = [];
    source.start({ acquire: () => ring.acquire(), push: (s) => seen.push({ seq: s.seq, byte: s.raw[s.rawOffset] }) });
    // The file is read on real I/O; with the drain stalled every frame waits in the queue.
    const deadline = Date.now() + 20_000;
    while (source.ingress.accepted < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(source.ingress.accepted).toBe(n);
    expect(seen).toHaveLength(0);
    await source.stop();
    expect(source.ingress.delivered).toBe(n);
    expect(seen.map((s) => s.seq)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(seen.every((s) => s.byte === (s.seq & 255))).toBe(true);
  });
});
