/**
 * `/api/triggers/:run/:seq`, `/api/model` and `/api/server` from a real `hairtrigger run`
 * (the compiled CLI: `make build`), whose server starts before the pipeline and reaches it
 * through the composition root's late view: a trigger from the log is served with its crop
 * (the frame of that seq in the recording, read with apache-arrow), the model view is the
 * card's, the server state names the URL it listens on.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { TriggerEvent } from '../../host/src/metrics/snapshot.js';
import type { ModelView, ServerState, TriggerDetail } from '../../host/src/server/api-types.js';
import { startRun, until } from '../support/cli-process.js';
import { readJsonlLog, REPO, tempDir, ZOO } from '../support/fixtures.js';

describe('the detail API of a running daemon', () => {
  it('serves a logged trigger with its crop, the model in force and the server state', async () => {
    const dir = tempDir('detail-api');
    const capture = join(REPO, 'sim', 'recordings', 'cells-bccd-test.arrows');
    const jsonl = join(dir, 't.jsonl');
    const config = join(dir, 'run.yaml');
    // Hold-off of half a second: the ring of 64 holds the last half minute of triggers.
    writeFileSync(config, [
      `model: ${join(ZOO, 'cells-bccd')}`, 'backend: sim', 'budgetUs: 60000000',
      `source: { kind: replay, path: ${capture}, pacing: realtime, loop: true }`,
      'trigger: { targets: [WBC], threshold: 0.5, holdoffUs: 500000 }', `sinks: { jsonl: ${jsonl} }`,
      'server: { host: 127.0.0.1, port: 0 }', '',
    ].join('\n'));
    const run = startRun(['--config', config]);
    try {
      await until('the dashboard URL in the log', () => /dashboard on (http:\/\/\S+)\//.test(run.stderr()));
      const url = /dashboard on (http:\/\/\S+)\//.exec(run.stderr())![1]!;
      let first: TriggerEvent | undefined;
      await until('a trigger in the log', () => (first = readJsonlLog<TriggerEvent>(jsonl)[0]) !== undefined);
      const res = await fetch(`${url}/api/triggers/${encodeURIComponent(first!.run)}/${first!.seq}`);
      expect(res.status).toBe(200);
      const detail = (await res.json()) as TriggerDetail;
      expect(detail.event).toEqual(first);
      const table = tableFromIPC(readFileSync(capture));
      const seqs = Array.from(table.getChild('seq')!.toArray() as BigInt64Array, Number);
      const row = seqs.indexOf(first!.seq);
      expect(row).toBeGreaterThanOrEqual(0);
      expect(detail.view).toEqual({ kind: 'image', width: 32, height: 32, channels: 3, pixels: Array.from(table.getChild('frame')!.get(row) as Uint8Array) });
      expect((await fetch(`${url}/api/triggers/${encodeURIComponent(first!.run)}/${first!.seq + 10_000_000}`)).status).toBe(404);

      const card = JSON.parse(readFileSync(join(ZOO, 'cells-bccd', 'card.json'), 'utf8'));
      const model = (await (await fetch(`${url}/api/model`)).json()) as ModelView;
      expect(model).toMatchObject({ name: 'cells-bccd/student', labels: card.labels, params: { teacher: card.teacher.params, student: card.student.params }, precision: card.fixed.precision });
      expect(model.modelled).toEqual({ cycles: card.fpga.latencyCycles, clockMhz: card.fpga.clockMhz, us: expect.closeTo(card.fpga.latencyUs, 3) });

      const server = (await (await fetch(`${url}/api/server`)).json()) as ServerState;
      expect(server).toMatchObject({ url, wsClients: 0, unauthorized: 0 });
      expect(server.uptimeS).toBeGreaterThan(0);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  }, 180_000);
});
