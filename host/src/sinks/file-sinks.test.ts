import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC, type Table } from 'apache-arrow';
import { describe } from 'vitest';
import type { TriggerEvent } from '../metrics/snapshot.js';
import { ArrowSink } from './arrow-sink.js';
import { sinkContract, type SinkHarness } from './contract.js';
import { fileSinkSchema } from './file-sink.js';
import { JsonlSink } from './jsonl-sink.js';
import { runFiles } from './log-files.js';
import type { Sink, SinkContext } from './sink.js';

const LABELS = ['RBC', 'WBC', 'Platelets'];

/** A harness over a fresh folder; `read` parses one file with a reader independent of the sink. */
function fileHarness(ext: string, make: (opts: ReturnType<typeof fileSinkSchema.parse>, ctx: SinkContext) => Sink, read: (bytes: Buffer) => TriggerEvent[]): () => SinkHarness {
  return () => {
    const base = join(mkdtempSync(join(tmpdir(), 'ht-sink-')), 'logs', `triggers.${ext}`);
    const errors: Error[] = [];
    return {
      labels: LABELS,
      stallRecords: 2000,
      async open(o) {
        const opts = fileSinkSchema.parse({ path: base, ...(o.fileBytesMax ? { fileBytesMax: o.fileBytesMax } : {}), ...(o.bufferedBytesMax !== undefined ? { bufferedBytesMax: o.bufferedBytesMax } : {}) });
        return make(opts, { runId: o.runId, labels: LABELS, resolvePath: (p) => p, onError: (e) => errors.push(e) });
      },
      async readBack(runId) {
        const files = runFiles(base, runId);
        const bytes = files.map((f) => readFileSync(f));
        return { events: bytes.flatMap(read), bytes: bytes.reduce((n, b) => n + b.byteLength, 0) };
      },
      files: (runId) => runFiles(base, runId),
      async cleanup() {
        if (errors.length > 0) throw new Error(`sink reported errors: ${errors.map((e) => e.message).join('; ')}`);
      },
    };
  };
}

/** An Arrow trigger log row as a TriggerEvent: Int64 seq to number, probs to an array, payload parsed. */
function arrowEvents(t: Table): TriggerEvent[] {
  return t.toArray().map((row) => {
    const r = row.toJSON() as Record<string, unknown>;
    return { ...r, seq: Number(r.seq), probs: Array.from(r.probs as Iterable<number>), payload: JSON.parse(r.payload as string) } as TriggerEvent;
  });
}

describe('JSON lines sink', () => {
  sinkContract('jsonl', fileHarness('jsonl', (o, c) => new JsonlSink(o, c), (b) => b.toString('utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as TriggerEvent)), { writesFiles: true });
});

describe('Arrow sink', () => {
  sinkContract('arrow', fileHarness('arrows', (o, c) => new ArrowSink(o, c), (b) => arrowEvents(tableFromIPC(b))), { writesFiles: true });
});
