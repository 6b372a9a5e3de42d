/**
 * The dashboard in a real browser: the built page (ui/dist) served by the real server, fed by
 * a fake daemon view, read back through the elements' data-testid attributes.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusExporter } from '../../host/src/metrics/prometheus.js';
import { startHttpServer, type HttpServer } from '../../host/src/server/http.js';
import { createFakeView, fakeDevice, fakeLatency, fakeTrigger, type FakeView } from '../../host/src/server/testing.js';
import { CHROMIUM_ARGS, ensureUiBuilt, outsideOutage, tickSnapshots, uiDir, watchPage } from './harness.js';

// This fake view has no history, distributions, model or controls: the server says 404 and
// the page carries on with the live data (dashboard-views.test.ts covers those).
const OPTIONAL_API = ['/api/history', '/api/latency', '/api/model', '/api/server', '/api/controls'];

/** The frames counter as a number ("12,345" -> 12345); NaN while it shows no value. */
async function framesShown(page: Page): Promise<number> {
  return Number((await page.getByTestId('frames').textContent())?.replaceAll(',', ''));
}

describe('live dashboard page', () => {
  let view: FakeView;
  let server: HttpServer;
  let browser: Browser;
  let page: Page;
  const pageProblems: string[] = [];

  function serve(port: number) {
    return startHttpServer({ view, port, uiDir, metrics: new PrometheusExporter(() => view.snapshot(), { defaultMetrics: false }), logger: false });
  }

  beforeAll(async () => {
    await ensureUiBuilt();
    view = createFakeView({ e2eUs: { ...fakeLatency(10), p99: 24.7 } });
    tickSnapshots(view);
    server = await serve(0);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage();
    watchPage(page, pageProblems, (status, path) => status === 404 && OPTIONAL_API.includes(path));
    await page.goto(server.url);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('connects and shows the pipeline identity', async () => {
    await expect.poll(() => page.getByTestId('conn').textContent(), { timeout: 10_000 }).toBe('live');
    expect(await page.getByTestId('pipeline').textContent()).toBe('cells-demo');
    expect(await page.getByTestId('backend').textContent()).toBe('sim');
    expect(await page.getByTestId('model').textContent()).toBe('cells-student-v1');
  });

  it('shows the frames counter rising over time', async () => {
    await expect.poll(() => framesShown(page), { timeout: 5_000 }).toBeGreaterThan(0);
    const first = await framesShown(page);
    await expect.poll(() => framesShown(page), { timeout: 5_000 }).toBeGreaterThan(first);
    expect(await page.getByTestId('fps').textContent()).toBe('2,000');
  });

  it('shows e2e latency quantiles in microseconds (one unit per column: the p99 column shows 2 µs as 2.00)', async () => {
    expect(await page.getByTestId('e2e-p50').textContent()).toBe('10.0');
    expect(await page.getByTestId('e2e-p99').textContent()).toBe('24.7');
    expect(await page.getByTestId('e2e-p999').textContent()).toBe('30.0');
    expect(await page.getByTestId('decode-p99').textContent()).toBe('2.00');
    expect(await page.getByTestId('latency-unit-p99').textContent()).toBe('µs');
    expect(await page.getByTestId('late').textContent()).toBe('3');
    expect(await page.getByTestId('dropped').textContent()).toBe('2');
  });

  it('accounts for the frames that did not fire, by reason, with ring overflows and clamped samples', async () => {
    view.current.suppressed = { belowThreshold: 1234, holdoff: 20, rateLimit: 10, late: 2 };
    view.current.nonTarget = 888;
    view.current.triggerRingOverflows = 6;
    view.current.clampedSamples = 7;
    await expect.poll(() => page.getByTestId('suppressed-below-threshold').textContent(), { timeout: 5_000 }).toBe('1,234');
    expect(await page.getByTestId('suppressed-holdoff').textContent()).toBe('20');
    expect(await page.getByTestId('suppressed-rate-limit').textContent()).toBe('10');
    expect(await page.getByTestId('suppressed-late').textContent()).toBe('2');
    expect(await page.getByTestId('non-target').textContent()).toBe('888');
    expect(await page.getByTestId('ring-overflows').textContent()).toBe('6');
    expect(await page.getByTestId('clamped-samples').textContent()).toBe('7');
  });

  it('shows the device panel only while the snapshot carries an fpga device', async () => {
    await page.locator('[role="tab"][data-view="devices"]').click();
    const panel = page.getByTestId('device');
    expect(await panel.isHidden()).toBe(true);
    view.current.backend = 'fpga';
    view.current.device = fakeDevice({ jobs: 4321, waitNsMean: 1250, waitNsMax: 85_000, resets: 2 });
    await expect.poll(() => panel.isVisible(), { timeout: 5_000 }).toBe(true);
    expect(await page.getByTestId('device-path').textContent()).toBe('/dev/shm/ht-jets');
    expect(await page.getByTestId('device-hash').textContent()).toBe('0123456789ab');
    expect(await page.getByTestId('device-cycles').textContent()).toBe('35');
    expect(await page.getByTestId('device-clock-mhz').textContent()).toBe('200');
    expect(await page.getByTestId('device-jobs').textContent()).toBe('4,321');
    expect(await page.getByTestId('device-wait-mean').textContent()).toBe('1.25');
    expect(await page.getByTestId('device-wait-unit').textContent()).toBe('µs');
    expect(await page.getByTestId('device-wait-max').textContent()).toBe('85.0');
    expect(await page.getByTestId('device-resets').textContent()).toBe('2');
    expect(await page.getByTestId('device-fifo-overflows').textContent()).toBe('4');
    delete view.current.device;
    view.current.backend = 'sim';
    await expect.poll(() => panel.isHidden(), { timeout: 5_000 }).toBe(true);
  });

  it("shows an alert broker's routing counters only while the snapshot carries them", async () => {
    const panel = page.getByTestId('route');
    expect(await panel.isHidden()).toBe(true);
    view.current.route = { routed: 1200, unmatched: 34_000, error: 3, topics: { 'early-sn': 900, '<b>tde</b>': 400 } };
    await expect.poll(() => panel.isVisible(), { timeout: 5_000 }).toBe(true);
    expect(await page.getByTestId('route-routed').textContent()).toBe('1,200');
    expect(await page.getByTestId('route-unmatched').textContent()).toBe('34,000');
    expect(await page.getByTestId('route-error').textContent()).toBe('3');
    const topics = page.getByTestId('route-topics').locator('tr');
    expect(await topics.count()).toBe(2);
    expect(await topics.nth(1).locator('td').allTextContents()).toEqual(['<b>tde</b>', '400']);
    delete view.current.route;
    await expect.poll(() => panel.isHidden(), { timeout: 5_000 }).toBe(true);
  });

  it('lists the latest triggers, newest first, as text', async () => {
    view.emitTriggers([fakeTrigger(41, { id: '1234567890123456789' }), fakeTrigger(42, { class: '<img src=x onerror=alert(1)>', score: 0.5, e2eUs: 19.25, payload: { objectId: 'ZTF23abcdefg' } })]);
    const rows = page.getByTestId('trigger-list').locator('tr');
    await expect.poll(() => rows.count(), { timeout: 5_000 }).toBe(2);
    expect(await rows.first().locator('td').allTextContents()).toEqual(['42', 'ZTF23abcdefg', '<img src=x onerror=alert(1)>', '0.500', '19.3']);
    // Without a payload the sensor's id stands for the object, digit for digit.
    expect(await rows.nth(1).locator('td').nth(1).textContent()).toBe('1234567890123456789');
    expect(await page.locator('[data-testid="trigger-list"] img').count()).toBe(0);
  });

  it('shows the link down and reconnects when the daemon comes back', async () => {
    const port = server.port;
    await server.close();
    await expect.poll(() => page.getByTestId('conn').getAttribute('data-state'), { timeout: 5_000 }).toBe('waiting');
    const before = await framesShown(page);
    server = await serve(port);
    await expect.poll(() => page.getByTestId('conn').textContent(), { timeout: 15_000 }).toBe('live');
    await expect.poll(() => framesShown(page), { timeout: 5_000 }).toBeGreaterThan(before);
  });

  it('loaded with no errors, CSP violations or failed requests', () => {
    // A refused reconnect while the daemon was down is expected; anything else is not.
    expect(outsideOutage(pageProblems)).toEqual([]);
  });
});
