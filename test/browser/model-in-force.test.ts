/**
 * The Model view shows the card of the model in force, not the primary's: a REAL daemon (`node
 * bin/hairtrigger.js run`, the compiled CLI: `make build`) on the BCCD cell sorter carrying its
 * student at two sizes and the float teacher; the control API (with the token the daemon
 * printed) switches the model, and after each switch the page must show the card of the model
 * the daemon's snapshot says is in force, each figure checked against that model's card file
 * read here as JSON (name, size, parameters, accuracy, modelled device time), marked in force.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../host/src/metrics/snapshot.js';
import { freePort, startRun, until } from '../support/cli-process.js';
import { REPO, tempDir, ZOO } from '../support/fixtures.js';
import { CHROMIUM_ARGS, ensureUiBuilt, outsideOutage, watchPage } from './harness.js';

type Json = Record<string, any>;

/** The models of the run: the name the pipeline gives each, its folder and variant. */
const MODELS: Record<string, { dir: string; variant: 'student' | 'teacher' }> = {
  'cells-bccd/student': { dir: join(ZOO, 'cells-bccd'), variant: 'student' },
  w2x4: { dir: join(ZOO, 'cells-bccd-w2x4'), variant: 'student' },
  teacher: { dir: join(ZOO, 'cells-bccd'), variant: 'teacher' },
};

/** What the page must show for `model` (the snapshot's name of it), from its card file alone. */
function expected(model: string): Record<string, string> {
  const { dir, variant } = MODELS[model]!;
  const card = JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8')) as Json;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const count = (x: number) => x.toLocaleString('en-US');
  // On the simulator a student is the firmware: its fixed-point accuracy; the teacher runs float on onnx.
  const accuracy = variant === 'student' ? card.student.fixedAccuracyEmulated : card.teacher.accuracy;
  return {
    'model-name': `${card.task}/${variant}`,
    'model-in-force': `${model} (in force${model === 'cells-bccd/student' ? ', the primary)' : '; primary cells-bccd/student)'}`,
    'model-size': card.size ?? (variant === 'teacher' ? 'the teacher' : "the task's shipped size"),
    'model-params': `${count(card[variant].params)} (${variant})`,
    'model-accuracy-own': pct(accuracy),
    'model-params-student': count(card.student.params),
    // The teacher has no firmware; a student's modelled time is its card's cycles at its clock.
    'model-modelled': variant === 'teacher' ? 'no firmware' : `(${count(card.fpga.latencyCycles)} cycles at ${count(card.fpga.clockMhz)} MHz)`,
  };
}

describe('model view: the card of the model in force', () => {
  const dir = tempDir('model-in-force');
  let browser: Browser;
  let page: Page;
  let daemon: ReturnType<typeof startRun> | undefined;
  const problems: string[] = [];
  const text = (id: string) => page.getByTestId(id).textContent();

  beforeAll(async () => {
    await ensureUiBuilt();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    watchPage(page, problems, (status, path) => status === 503 && (path.startsWith('/api/') || path === '/healthz'));
  });

  afterAll(async () => {
    await browser?.close();
    if (daemon !== undefined && daemon.child.exitCode === null) {
      daemon.child.kill('SIGTERM');
      await Promise.race([daemon.exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    }
  });

  it('shows the primary card at start, and after each control-API switch the card the snapshot names, marked in force', async () => {
    const port = await freePort();
    const config = join(dir, 'sizes.yaml');
    writeFileSync(config, [
      'pipeline: cells-bccd-sizes', `model: ${join(ZOO, 'cells-bccd')}`, 'variant: student', 'backend: sim', 'budgetUs: 5000',
      'models:',
      `  - { name: w2x4, model: ${join(ZOO, 'cells-bccd-w2x4')} }`,
      `  - { name: teacher, model: ${join(ZOO, 'cells-bccd')}, variant: teacher, backend: onnx }`,
      `source: { kind: replay, path: ${join(REPO, 'sim', 'recordings', 'cells-bccd-test.arrows')}, pacing: realtime, loop: true }`,
      'trigger: { targets: [WBC], threshold: 0.5 }',
      `sinks: { jsonl: ${join(dir, 'triggers')} }`, `server: { host: 127.0.0.1, port: ${port} }`, '',
    ].join('\n'));
    daemon = startRun(['-c', config, '--progress-ms', '0']);
    const d = daemon;
    await until('the token URL in the log', () => /open (http:\/\/\S+)\/#token=(\S+)/.test(d.stderr()), 90_000).catch((err: Error) => {
      d.child.kill('SIGKILL');
      throw new Error(`${err.message}\n${d.stderr()}`);
    });
    const [, url, token] = /open (http:\/\/\S+)\/#token=(\S+)/.exec(d.stderr())!;
    const inForce = async () => ((await (await fetch(`${url}/api/snapshot`)).json()) as Snapshot).model;

    await page.goto(`${url}/#token=${token}`);
    await page.locator('[role="tab"][data-view="model"]').click();
    await expect.poll(() => page.getByTestId('view-model').isVisible(), { timeout: 30_000 }).toBe(true);

    /** The page shows the card of the model the snapshot names. */
    const showsCardInForce = async (want: string) => {
      await expect.poll(inForce, { timeout: 30_000 }).toBe(want);
      const e = expected(await inForce());
      for (const [id, value] of Object.entries(e)) {
        if (id === 'model-modelled' && value !== 'no firmware') await expect.poll(() => text(id), { timeout: 30_000 }).toContain(value);
        else await expect.poll(() => text(id), { timeout: 30_000 }).toBe(value);
      }
      expect(await page.getByTestId('model-in-force').getAttribute('data-in-force')).toBe(want);
    };
    await showsCardInForce('cells-bccd/student');
    for (const model of ['w2x4', 'teacher', 'cells-bccd/student']) {
      const res = await fetch(`${url}/api/control/model`, { method: 'POST', headers: { authorization: `Bearer ${decodeURIComponent(token!)}`, 'content-type': 'application/json' }, body: JSON.stringify({ model }) });
      expect(res.status).toBe(200);
      await showsCardInForce(model);
    }
    // The two students' cards differ in what is checked (else a page stuck on one would pass).
    expect(expected('w2x4')['model-params']).not.toBe(expected('cells-bccd/student')['model-params']);
    expect(outsideOutage(problems)).toEqual([]);
  }, 180_000);
});
