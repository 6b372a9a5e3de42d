/**
 * Defect 6 of issue 9: a second daemon started on a running daemon's config must fail before
 * it opens anything for writing, and leave the first one's port, lock and logs as they were.
 * Three real `hairtrigger run` processes (bin/hairtrigger.js, the compiled CLI: `make build`).
 */
import { once } from 'node:events';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDaemon } from '../../host/src/cli/run-daemon.js';
import { validateConfig } from '../../host/src/config/schema.js';
import { SinkError } from '../../host/src/core/errors.js';
import { runFiles } from '../../host/src/sinks/log-files.js';
import { freePort, startRun as start, until } from '../support/cli-process.js';
import { readArrowLog, readJsonlLog, REPO, tempDir, ZOO } from '../support/fixtures.js';

describe('a second daemon on the same config', () => {
  it('fails with a clear error and leaves the first one its port, its lock and readable logs', async () => {
    const dir = tempDir('second');
    const port = await freePort();
    const jsonl = join(dir, 'logs', 't.jsonl');
    const arrow = join(dir, 'logs', 't.arrows');
    const config = join(dir, 'run.yaml');
    writeFileSync(config, [
      `model: ${join(ZOO, 'cells-bccd')}`, 'backend: sim', 'budgetUs: 100000',
      `source: { kind: replay, path: ${join(REPO, 'sim/recordings/cells-bccd-test.arrows')}, pacing: x4, loop: true }`,
      'trigger: { targets: [WBC], threshold: 0.5, maxRatePerS: 100000, burst: 100 }',
      `sinks: { jsonl: ${jsonl}, arrow: ${arrow} }`, `server: { host: 127.0.0.1, port: ${port} }`, '',
    ].join('\n'));
    const first = start(['-c', config, '--progress-ms', '200']);
    try {
      await until('the first daemon to log triggers', () => /triggers [1-9]/.test(first.stderr()));
      const firstFiles = [...runFiles(jsonl), ...runFiles(arrow)];
      expect(firstFiles).toHaveLength(2);
      const lock = readFileSync(`${jsonl}.lock`, 'utf8');
      expect(lock.trim()).toBe(String(first.child.pid));

      // Same config: the port is taken, so it stops before it opens a model or a file.
      const second = start(['-c', config]);
      expect(await second.exited).toBe(2);
      expect(second.stderr()).toMatch(new RegExp(`E_CONFIG .*127\\.0\\.0\\.1:${port} is already in use`));
      // Same logs on another port: the lock stops it before it opens anything for writing.
      const third = start(['-c', config, '--port', '0']);
      expect(await third.exited).toBe(2);
      expect(third.stderr()).toMatch(new RegExp(`E_SINK .*t\\.jsonl is in use by process ${first.child.pid}`));

      expect([...runFiles(jsonl), ...runFiles(arrow)]).toEqual(firstFiles);
      expect(readFileSync(`${jsonl}.lock`, 'utf8')).toBe(lock);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      const sizeBefore = statSync(firstFiles[0]).size;
      await until('the first daemon to keep writing', () => statSync(firstFiles[0]).size > sizeBefore);
    } finally {
      first.child.kill('SIGTERM');
    }
    expect(await first.exited).toBe(0);
    const rows = readArrowLog(arrow).numRows;
    expect(rows).toBeGreaterThan(0);
    expect(readJsonlLog(jsonl)).toHaveLength(rows);
    expect(() => statSync(`${jsonl}.lock`)).toThrow(/ENOENT/);
  }, 120_000);

  it('refused by a live lock, gives back the port it had bound and writes nothing', async () => {
    const dir = tempDir('second');
    const port = await freePort();
    const jsonl = join(dir, 't.jsonl');
    // The lock of a live process that is not this one: the test runner's parent.
    writeFileSync(`${jsonl}.lock`, `${process.ppid}\n`);
    const cfg = validateConfig({
      model: join(ZOO, 'cells-bccd'), backend: 'sim',
      source: { kind: 'replay', path: 'sim/recordings/cells-bccd-test.arrows' },
      trigger: { targets: ['WBC'] }, sinks: { jsonl }, server: { host: '127.0.0.1', port },
    });
    await expect(runDaemon(cfg, { progressMs: 0, summary: false, baseDir: REPO })).rejects.toThrow(SinkError);
    const s = createServer().listen(port, '127.0.0.1');
    await once(s, 'listening');
    await new Promise((res) => s.close(res));
    expect(readFileSync(`${jsonl}.lock`, 'utf8')).toBe(`${process.ppid}\n`);
    expect(runFiles(jsonl)).toEqual([]);
  });
});
