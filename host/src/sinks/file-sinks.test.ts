import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC, type Table } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { TriggerEvent } from '../metrics/snapshot.js';
import { ArrowSink } from './arrow-sink.js';
import { contractEvents, sinkContract, type SinkHarness } from './contract.js';
import { fileSinkSchema, type FileSinkOptions } from './file-sink.js';
import { JsonlSink } from './jsonl-sink.js';
import { runFilePath, runFiles } from './log-files.js';
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

const READERS = {
  jsonl: { ext: 'jsonl', make: (o: FileSinkOptions, c: SinkContext): Sink => new JsonlSink(o, c), read: (b: Buffer) => b.toString('utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as TriggerEvent) },
  arrow: { ext: 'arrows', make: (o: FileSinkOptions, c: SinkContext): Sink => new ArrowSink(o, c), read: (b: Buffer) => arrowEvents(tableFromIPC(b)) },
};

describe('file sinks when a part cannot be created', () => {
  for (const [kind, r] of Object.entries(READERS)) {
    it(`${kind}: count an E_SINK, leave the file in the way untouched and keep every record in the current part`, async () => {
      const base = join(mkdtempSync(join(tmpdir(), 'ht-sink-')), `t.${r.ext}`);
      writeFileSync(runFilePath(base, 'r1', 1), 'someone else\n');
      const errors: Error[] = [];
      const sink = r.make(fileSinkSchema.parse({ path: base, fileBytesMax: 2048 }), { runId: 'r1', labels: LABELS, resolvePath: (p) => p, onError: (e) => errors.push(e) });
      const events = contractEvents(40, { run: 'r1', labels: LABELS });
      for (let i = 0; i < 40; i += 4) sink.write(events.slice(i, i + 4));
      await sink.close();
      expect(readFileSync(runFilePath(base, 'r1', 1), 'utf8')).toBe('someone else\n');
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect(e.message).toMatch(/E_SINK .*t\.r1\.0001\.\w+: cannot create trigger log file: exists already/);
      const part0 = readFileSync(runFilePath(base, 'r1', 0));
      // At most one attempt per fileBytesMax the current part grows past its bound, not one per record.
      expect(errors.length).toBeLessThanOrEqual(Math.ceil(part0.byteLength / 2048));
      expect(r.read(part0)).toEqual(events);
      expect(sink.counters()).toMatchObject({ accepted: 40, written: 40, dropped: 0, errors: { E_SINK: errors.length } });
    });
  }
});
