/**
 * Trigger log throughput: records a second and bytes a record for the JSON lines and Arrow
 * sinks, written in drain-sized batches and closed (everything on disk), with the cells
 * model's 3 classes and the jet tagger's 5. Run: `node build/bench/sinks.js [records]`.
 * Not part of `make bench` (which times pipelines); prints one JSON line per case.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArrowSink } from '../host/src/sinks/arrow-sink.js';
import { fileSinkSchema } from '../host/src/sinks/file-sink.js';
import { JsonlSink } from '../host/src/sinks/jsonl-sink.js';
import type { Sink, SinkContext } from '../host/src/sinks/sink.js';
import { contractEvents } from '../host/src/sinks/testing.js';

const RECORDS = Number(process.argv[2] ?? 200_000);
/** About what one 100 ms drain holds at 10,000 triggers a second. */
const BATCH = 1000;

async function run(kind: 'jsonl' | 'arrow', labels: string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ht-bench-sinks-'));
  const ctx: SinkContext = { runId: 'bench', labels, resolvePath: (p) => p, onError: (e) => { throw e; } };
  const opts = fileSinkSchema.parse(join(dir, `t.${kind === 'jsonl' ? 'jsonl' : 'arrows'}`));
  const batches = Array.from({ length: RECORDS / BATCH }, (_, i) => contractEvents(BATCH, { run: 'bench', labels, firstSeq: i * BATCH, seed: i + 1 }));
  const sink: Sink = kind === 'jsonl' ? new JsonlSink(opts, ctx) : new ArrowSink(opts, ctx);
  const t0 = process.hrtime.bigint();
  for (const b of batches) sink.write(b);
  const queuedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  await sink.close();
  const totalMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = sink.counters();
  console.log(JSON.stringify({ kind, classes: labels.length, records: c.written, recordsPerS: Math.round(c.written / (totalMs / 1e3)), bytesPerRecord: +(c.bytes / c.written).toFixed(1), encodeMsPer1000: +((queuedMs / RECORDS) * 1000).toFixed(3) }));
  rmSync(dir, { recursive: true, force: true });
}

for (const labels of [['RBC', 'WBC', 'Platelets'], ['g', 'q', 'w', 'z', 't']]) {
  for (const kind of ['jsonl', 'arrow'] as const) await run(kind, labels);
}
