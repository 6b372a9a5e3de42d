/**
 * The dashboard against REAL daemons (`node bin/hairtrigger.js run`, the compiled CLI: `make
 * build`), one modality at a time, paced in real time so they keep running: cells (the BCCD
 * replay of `make run`), alerts (a night of real ZTF packets, looped) and keywords (real "yes"
 * clips as a WAV stream, looped). Each view must show the daemon's own live data; on the cells
 * daemon a threshold typed into the page (with the token from the URL the daemon printed)
 * reaches the daemon (its `/api/controls` and the scores of the triggers it then writes), a
 * control without the token is refused, a reload shows history, and a daemon killed and
 * started again on the same port is reconnected to. Saves a 1280x800 screenshot of each view
 * to docs/img/dashboard-<view>.png (README "Dashboard").
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlsState, HistoryColumns } from '../../host/src/server/api-types.js';
import type { Snapshot, TriggerEvent } from '../../host/src/metrics/snapshot.js';
import { freePort, startRun, until } from '../support/cli-process.js';
import { readJsonlLog, REPO, SHARED, tempDir, ZOO } from '../support/fixtures.js';
import { CHROMIUM_ARGS, ensureUiBuilt, outsideOutage, repoRoot, watchPage } from './harness.js';

const imgDir = join(repoRoot, 'docs', 'img');
const VIEWS = ['overview', 'latency', 'triggers', 'model', 'devices'] as const;
/** The threshold the page sets: above most of the BCCD student's white-cell probabilities at 0.5. */
const NEW_THRESHOLD = 0.999;

type Daemon = ReturnType<typeof startRun> & { url: string; token: string };

/** Starts `hairtrigger run` on `configs` (several: one daemon, several pipelines) and waits for the token URL it prints. */
async function startDaemon(...configs: string[]): Promise<Daemon> {
  const d = startRun([...configs.flatMap((c) => ['-c', c]), '--progress-ms', '0']);
  await until('the token URL in the log', () => /open (http:\/\/\S+)\/#token=(\S+)/.test(d.stderr()), 90_000).catch((err: Error) => {
    d.child.kill('SIGKILL');
    throw new Error(`${err.message}\n${d.stderr()}`);
  });
  const [, url, token] = /open (http:\/\/\S+)\/#token=(\S+)/.exec(d.stderr())!;
  return { ...d, url: url!, token: decodeURIComponent(token!) };
}

async function stop(d: Daemon | undefined): Promise<void> {
  if (d === undefined || d.child.exitCode !== null) return;
  d.child.kill('SIGTERM');
  await Promise.race([d.exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (d.child.exitCode === null) d.child.kill('SIGKILL');
}

async function getJson<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

function writeConfig(path: string, lines: string[]): string {
  writeFileSync(path, [...lines, ''].join('\n'));
  return path;
}

describe('dashboard against real daemons', () => {
  const dir = tempDir('dashboard');
  let browser: Browser;
  let page: Page;
  let daemon: Daemon | undefined;
  const problems: string[] = [];
  const text = (id: string) => page.getByTestId(id).textContent();
  const live = () => expect.poll(() => text('conn'), { timeout: 30_000 }).toBe('live');
  const showView = async (name: string) => {
    await page.locator(`[role="tab"][data-view="${name}"]`).click();
    await expect.poll(() => page.getByTestId(`view-${name}`).isVisible()).toBe(true);
  };
  /** Once `rows` triggers are listed, opens the newest and waits for its detail of `kind`. */
  const openNewestTrigger = async (kind: string, rows = 1) => {
    await showView('triggers');
    await expect.poll(() => page.getByTestId('trigger-list').locator('tr').count(), { timeout: 60_000 }).toBeGreaterThanOrEqual(rows);
    // The daemon keeps the details of its last limits.triggerDetailsMax triggers only: on a fast
    // stream (the cell sorter fires about a hundred a second) a loaded machine can list a trigger
    // that has left that ring before its detail is fetched. The page then says so (checked), and
    // the newest trigger listed by then is opened instead.
    for (let attempt = 1; ; attempt++) {
      await page.getByTestId('trigger-list').locator('tr').first().click();
      await expect.poll(() => text('detail-text'), { timeout: 10_000 }).not.toBe('loading…');
      const left = (await text('detail-text'))?.includes("has left the daemon's detail ring") === true;
      if (!left || attempt === 20) break;
    }
    await expect.poll(() => page.getByTestId('detail-images').getAttribute('data-kind'), { timeout: 10_000 }).toBe(kind);
  };

  beforeAll(async () => {
    await ensureUiBuilt();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // Expected: the control sent without the token (401), and 503 from the API and /healthz
    // while a daemon starts (its server listens before the pipeline runs; the page asks again,
    // and reads /healthz's report either way, ui/src/dashboard.ts); anything else is a fault.
    watchPage(page, problems, (status, path) => (status === 401 && path.startsWith('/api/control/')) || (status === 503 && (path.startsWith('/api/') || path === '/healthz')));
  });

  afterAll(async () => {
    await browser?.close();
    await stop(daemon);
  });

  it('cells: every view shows the live replay; a threshold set in the page reaches the daemon; no token is refused; reload shows history; a restarted daemon is reconnected to', async () => {
    const port = await freePort();
    const jsonl = join(dir, 'cells-triggers');
    const config = writeConfig(join(dir, 'cells.yaml'), [
      'pipeline: cells-bccd', `model: ${join(ZOO, 'cells-bccd')}`, 'variant: student', 'backend: sim', 'budgetUs: 200',
      `source: { kind: replay, path: ${join(REPO, 'sim', 'recordings', 'cells-bccd-test.arrows')}, pacing: realtime, loop: true }`,
      'trigger: { targets: [WBC], threshold: 0.5, holdoffUs: 20, maxRatePerS: 2000, burst: 4 }',
      `sinks: { jsonl: ${jsonl} }`, `server: { host: 127.0.0.1, port: ${port} }`,
    ]);
    daemon = await startDaemon(config);
    const url = daemon.url;

    // Without the token: the page says 401 and the daemon counts the refusal.
    await page.goto(url);
    await live();
    await page.getByTestId('control-threshold').fill(String(NEW_THRESHOLD));
    await page.getByTestId('control-apply').click();
    await expect.poll(() => text('control-message'), { timeout: 10_000 }).toContain('401');
    expect((await getJson<ControlsState>(`${url}/api/controls`)).unauthorized).toBe(1);
    expect((await getJson<ControlsState>(`${url}/api/controls`)).settings.threshold).toBe(0.5);

    // With the token from the URL the daemon printed.
    await page.goto(`${url}/#token=${encodeURIComponent(daemon.token)}`);
    await live();
    expect(await page.evaluate(() => location.href)).not.toContain('token');
    await expect.poll(() => text('setting-source'), { timeout: 10_000 }).toContain('replay');
    expect(await text('setting-threshold')).toBe('probability ≥ 0.5');
    // One pipeline: no selector, no table of pipelines (the page as it always was).
    expect(await page.getByTestId('pipeline-choice').isHidden()).toBe(true);
    expect(await page.getByTestId('pipelines-panel').isHidden()).toBe(true);
    await expect.poll(async () => Number((await text('frames'))?.replaceAll(',', '')), { timeout: 30_000 }).toBeGreaterThan(0);
    const before = readJsonlLog<TriggerEvent>(jsonl);
    expect(before.some((e) => e.score < NEW_THRESHOLD), 'some triggers at 0.5 score below the new threshold').toBe(true);
    await page.getByTestId('control-threshold').fill(String(NEW_THRESHOLD));
    await page.getByTestId('control-apply').click();
    await expect.poll(() => page.getByTestId('audit').locator('td').allTextContents(), { timeout: 10_000 }).toContain(`trigger.threshold: 0.5 -> ${NEW_THRESHOLD}`);
    expect((await getJson<ControlsState>(`${url}/api/controls`)).settings.threshold).toBe(NEW_THRESHOLD);
    await expect.poll(() => text('setting-threshold'), { timeout: 10_000 }).toBe(`probability ≥ ${NEW_THRESHOLD}`);
    // Frames decided before the change have seq below the frame count of a snapshot built after it.
    await new Promise((r) => setTimeout(r, 1000));
    const changedBy = (await getJson<Snapshot>(`${url}/api/snapshot`)).frames;
    await until('frames after the change', async () => (await getJson<Snapshot>(`${url}/api/snapshot`)).frames > changedBy + 2000, 60_000);
    const after = readJsonlLog<TriggerEvent>(jsonl).filter((e) => e.kind === 'trigger' && e.seq >= changedBy);
    expect(after.every((e) => e.score >= NEW_THRESHOLD), `scores after the change: ${after.map((e) => e.score).join(', ')}`).toBe(true);

    await showView('latency');
    await expect.poll(async () => Number(await page.getByTestId('nines-chart').getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThan(3);
    expect(await text('e2e-p99')).not.toBe('–');
    await expect.poll(async () => Number(await page.getByTestId('tail-chart').getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThan(3);
    await openNewestTrigger('image');
    await expect.poll(() => page.getByTestId('per-class').locator('tr').count()).toBeGreaterThan(1);
    await showView('model');
    await expect.poll(() => text('model-params-student'), { timeout: 10_000 }).not.toBe('–');
    await showView('devices');
    await expect.poll(async () => Number(await text('ws-clients')), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);

    // A reload shows the daemon's history at once, not an empty chart filling up.
    const historyRows = async () => (await getJson<HistoryColumns>(`${url}/api/history`)).t.length;
    await until('ten history rows', async () => (await historyRows()) >= 10, 60_000);
    const rows = await historyRows();
    await showView('overview');
    await page.reload();
    await live();
    await expect.poll(async () => Number(await page.getByTestId('chart').getAttribute('data-points')), { timeout: 10_000 }).toBeGreaterThanOrEqual(rows);

    // Screenshots once the charts hold some history, the newest trigger's crop open.
    await openNewestTrigger('image');
    mkdirSync(imgDir, { recursive: true });
    for (const name of VIEWS) {
      await showView(name);
      // What each view reads on being shown has arrived.
      if (name === 'latency') await expect.poll(async () => Number(await page.getByTestId('nines-chart').getAttribute('data-points')), { timeout: 10_000 }).toBeGreaterThan(3);
      if (name === 'model') await expect.poll(() => text('model-params-student'), { timeout: 10_000 }).not.toBe('–');
      // The control refused above, as the server's own state counts it (as /api/controls does).
      if (name === 'devices') await expect.poll(() => text('server-unauthorized'), { timeout: 10_000 }).toBe('1');
      await page.evaluate(() => window.scrollTo(0, 0));
      expect(await page.evaluate(() => document.documentElement.scrollWidth), name).toBeLessThanOrEqual(1280);
      await page.screenshot({ path: join(imgDir, `dashboard-${name}.png`) });
    }

    // Killed, then started again on the same port: the banner shows, then the page is live again.
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await expect.poll(() => page.getByTestId('disconnected').isVisible(), { timeout: 20_000 }).toBe(true);
    daemon = await startDaemon(config);
    await live();
    expect(await page.getByTestId('disconnected').isHidden()).toBe(true);
    await stop(daemon);
  }, 300_000);

  it('alerts: the views show a looped replay of real ZTF packets; a trigger opens with its cutouts and light curve', async () => {
    const config = writeConfig(join(dir, 'alerts.yaml'), [
      'pipeline: alerts-ztf', `model: ${join(ZOO, 'alerts-transient')}`, 'backend: sim', 'budgetUs: 1000000',
      `source: { kind: alerts, paths: [${join(SHARED, 'alerts', 'ztf-4.02-2023-10')}], pacing: { kind: rate, alertsPerS: 100 }, loop: true }`,
      // Every class a target: the night's alerts are mostly AGN and periodic variables.
      'decoder: { kind: avro }', "trigger: { targets: ['SN Ia', 'SN II', 'SN Ibc', SLSN, TDE, AGN, Periodic], threshold: 0.5 }", `sinks: { jsonl: ${join(dir, 'alerts-triggers')} }`, 'server: { host: 127.0.0.1, port: 0 }',
    ]);
    daemon = await startDaemon(config);
    await page.goto(`${daemon.url}/#token=${encodeURIComponent(daemon.token)}`);
    await live();
    expect(await text('setting-decoder')).toContain('avro');
    await openNewestTrigger('alert');
    expect(await page.getByTestId('detail-images').locator('figcaption').allTextContents()).toEqual(['science', 'template', 'difference']);
    expect(await page.getByTestId('detail-chart').isVisible()).toBe(true);
    expect(await text('detail-text')).toMatch(/^ZTF\w+:/);
    await page.screenshot({ path: join(imgDir, 'dashboard-triggers-alerts.png') });
    await showView('model');
    await expect.poll(() => text('model-name'), { timeout: 10_000 }).toContain('alerts');
    await stop(daemon);
  }, 300_000);

  it('keywords: the views show a looped WAV stream of real "yes" clips; a trigger opens with its spectrogram and stream time', async () => {
    const config = writeConfig(join(dir, 'keywords.yaml'), [
      'pipeline: keywords', `model: ${join(ZOO, 'keywords')}`, 'backend: sim', 'budgetUs: 60000000',
      `source: { kind: wav, path: ${join(SHARED, 'audio', 'speech-commands-pico-tinyml-benchmark', 'yes')}, pacing: realtime, loop: true }`,
      'trigger: {}', `sinks: { jsonl: ${join(dir, 'keyword-triggers')} }`, 'server: { host: 127.0.0.1, port: 0 }',
    ]);
    daemon = await startDaemon(config);
    await page.goto(`${daemon.url}/#token=${encodeURIComponent(daemon.token)}`);
    await live();
    expect(await text('setting-source')).toContain('wav');
    await openNewestTrigger('spectrogram', 3);
    expect(await text('detail-text')).toMatch(/MFCC, 49 frames × 10 coefficients at t = \d+\.\d\d s in the stream/);
    expect((await page.getByTestId('trigger-list').locator('tr').first().locator('td').nth(1).textContent()) ?? '').toMatch(/^t = \d+\.\d\d s$/);
    await page.screenshot({ path: join(imgDir, 'dashboard-triggers-keywords.png') });
    await stop(daemon);
  }, 300_000);

  it('two pipelines in one daemon: the header selector (keyboard) switches every view to the other pipeline\'s data; the fragment keeps it', async () => {
    const cells = writeConfig(join(dir, 'multi-cells.yaml'), [
      'pipeline: cells-bccd', `model: ${join(ZOO, 'cells-bccd')}`, 'backend: sim', 'budgetUs: 200',
      `source: { kind: replay, path: ${join(REPO, 'sim', 'recordings', 'cells-bccd-test.arrows')}, pacing: realtime, loop: true }`,
      'trigger: { targets: [WBC], threshold: 0.5, holdoffUs: 20, maxRatePerS: 2000, burst: 4 }',
      `sinks: { jsonl: ${join(dir, 'multi-cells-triggers')} }`, 'server: { host: 127.0.0.1, port: 0 }',
    ]);
    const keywords = writeConfig(join(dir, 'multi-keywords.yaml'), [
      'pipeline: keywords', `model: ${join(ZOO, 'keywords')}`, 'backend: sim', 'budgetUs: 60000000',
      `source: { kind: wav, path: ${join(SHARED, 'audio', 'speech-commands-pico-tinyml-benchmark', 'yes')}, pacing: realtime, loop: true }`,
      'trigger: {}', `sinks: { jsonl: ${join(dir, 'multi-keyword-triggers')} }`,
    ]);
    daemon = await startDaemon(cells, keywords);
    await page.goto(`${daemon.url}/#token=${encodeURIComponent(daemon.token)}`);
    await live();
    // The first pipeline by default, the selector and the table listing both.
    await expect.poll(() => text('pipeline'), { timeout: 10_000 }).toBe('cells-bccd');
    await expect.poll(() => page.getByTestId('pipeline-choice').isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => page.getByTestId('pipelines').locator('th').allTextContents(), { timeout: 10_000 }).toEqual(['cells-bccd', 'keywords']);
    expect(await page.getByTestId('pipelines').locator('tr').nth(1).locator('td').first().textContent()).toContain('wav');
    expect(await text('setting-source')).toContain('replay');

    // By keyboard: focus the selector, the next option.
    await page.getByTestId('pipeline-select').focus();
    await page.keyboard.press('ArrowDown');
    await page.waitForURL(/#overview&p=keywords$/, { timeout: 10_000 });
    await live();
    await expect.poll(() => text('pipeline'), { timeout: 10_000 }).toBe('keywords');
    await expect.poll(() => text('setting-source'), { timeout: 10_000 }).toContain('wav');
    await expect.poll(() => page.getByTestId('pipeline-select').inputValue(), { timeout: 10_000 }).toBe('keywords');
    // The other views follow: the model card and the trigger details are the keyword pipeline's.
    await showView('model');
    await expect.poll(() => text('model-name'), { timeout: 10_000 }).toContain('keywords');
    expect(await page.evaluate(() => location.hash)).toBe('#model&p=keywords');
    await openNewestTrigger('spectrogram');
    // A reload keeps the pipeline; the daemon's cell pipeline was not touched meanwhile.
    await page.reload();
    await live();
    await expect.poll(() => text('pipeline'), { timeout: 10_000 }).toBe('keywords');
    expect((await getJson<Snapshot>(`${daemon.url}/api/snapshot`)).pipeline).toBe('cells-bccd');
    await showView('overview');
    await expect.poll(() => page.getByTestId('pipelines').locator('tr').count(), { timeout: 10_000 }).toBe(2);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(imgDir, 'dashboard-overview-two-pipelines.png') });
    await stop(daemon);
  }, 300_000);

  it('the page had no errors and no failed requests but the refused control', () => {
    expect(outsideOutage(problems)).toEqual([]);
  });
});
