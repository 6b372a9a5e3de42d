/**
 * The dashboard's views in a real browser: the built page (ui/dist) served by the real server
 * with a fake daemon view for the websocket and the issue-13 JSON API answered in the browser
 * (fake-api.ts). Expectations come from the fake's formulas, not from the page's code. (The
 * README's screenshots come from real daemons: dashboard-daemon.test.ts.)
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusExporter } from '../../host/src/metrics/prometheus.js';
import { startHttpServer, type HttpServer } from '../../host/src/server/http.js';
import { createFakeView, fakeLatency, fakeTrigger, type FakeView } from '../../host/src/server/testing.js';
import { FAKE_TOKEN, FakeApi, fakeSettings } from './fake-api.js';
import { CHROMIUM_ARGS, ensureUiBuilt, outsideOutage, tickSnapshots, uiDir, watchPage } from './harness.js';

const VIEWS = ['overview', 'latency', 'triggers', 'model', 'devices'] as const;

describe('dashboard views', () => {
  let view: FakeView;
  let server: HttpServer;
  let browser: Browser;
  let page: Page;
  const api = new FakeApi();
  const pageProblems: string[] = [];
  const text = (id: string) => page.getByTestId(id).textContent();
  const serve = (port: number) => startHttpServer({ view, port, uiDir, metrics: new PrometheusExporter(() => view.snapshot(), { defaultMetrics: false }), logger: false });
  const showView = async (name: string) => {
    await page.locator(`[role="tab"][data-view="${name}"]`).click();
    await expect.poll(() => page.getByTestId(`view-${name}`).isVisible()).toBe(true);
  };

  beforeAll(async () => {
    await ensureUiBuilt();
    view = createFakeView({
      atMs: 1_700_000_000_000,
      settings: fakeSettings(),
      quality: { labelled: 1000, targets: 200, triggers: 50, triggersOnTargets: 45, purity: 0.9, yield: 0.225, targetsMissedLate: 2, targetsSuppressed: 30, triggersByTruth: { live: 45, dead: 5 } },
      confusion: [[600, 50, 0], [30, 160, 10], [0, 40, 110]],
      agreement: { other: 'cells-teacher', frames: 1000, agreed: 970, recent: 0.96, windowS: 10 },
      cascade: {
        teacher: 'cells-bccd/teacher', cutKind: 'margin', cut: 0.9, queueFrames: 64, replace: false, unsure: 130, sent: 120, dropped: 10, sentPerS: 12.5,
        answered: 101, failed: 1, agreed: 80, agreement: 0.8, agreementRecent: 0.75, windowS: 5, queueDepth: 3, queueDepthMax: 64,
        decidedByTeacher: 0, decidedByStudent: 0, teacherLatencyUs: { ...fakeLatency(1500), count: 100 }, teacherInferUs: fakeLatency(900),
      },
      calibration: {
        file: 'cells.calibration.json', method: 'split-conformal', createdAt: '2026-12-07T00:00:00Z', data: 'val split',
        targets: [
          { kind: 'recall', classes: ['live'], target: 0.95, bound: 0.9545, threshold: 0.98440569, n: 87, labelled: 200, passed: 192, achieved: 0.96 },
          { kind: 'recall', classes: ['live', 'dead'], target: 0.9, bound: 0.9024, threshold: 0.27052058, n: 122, labelled: 0, passed: 0, achieved: null },
        ],
        cascade: { on: 'margin', cut: 0.29732707, promise: 'catch', target: 0.9, bound: 0.9005, n: 1205, frames: 40, sent: 36, achieved: 0.9 },
        drift: { score: 'top', per: 'frame', test: 'ks', windowFrames: 500, frames: 500, referenceN: 1137, statistic: 0.31, pValue: 2e-9, alpha: 0.001, drift: true, checks: 12, flaggedChecks: 3 },
      },
      detectionScore: {
        truth: 'speakers.json', stream: 'speakers.wav', word: null, includeMissed: false, rules: { acceptAfterEndS: 1, debounceS: 1 },
        windows: 117, truePositives: 100, misses: 14, pending: 3, falseAlarms: 104, detections: 238, repeats: 31, otherWords: 0,
        streamS: 270, lengthS: 274, ended: false, falseAlarmsPerHour: 104 / (270 / 3600), recall: 100 / 114,
        delayMs: { count: 100, p50: -10.4, p90: 510, p99: 690, max: 850, mean: -17.4 },
        targets: [{ classes: ['live', 'dead'], target: 0.9, bound: 0.9024, threshold: 0.16123929, per: 'clip', windows: 114, detected: 100, recall: 100 / 114 }],
      },
      errorsLatest: [{ atMs: 1_700_000_000_000, code: 'E_FRAME_SHAPE', where: 'decoder ht-frame', message: 'frame of 12 bytes, expected 3,072' }],
      e2eUs: { ...fakeLatency(10), max: 2500 },
    });
    tickSnapshots(view);
    server = await serve(0);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    watchPage(page, pageProblems);
    await api.install(page);
    await page.goto(server.url);
    await page.waitForFunction(() => document.querySelector('[data-testid="conn"]')?.textContent === 'live', undefined, { timeout: 10_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('overview shows the settings in force, counters, errors and uptime', async () => {
    expect(await text('setting-source')).toBe('replay cells.ht (realtime x1)');
    expect(await text('setting-threshold')).toBe('probability ≥ 0.5');
    // 1,500 µs is shown in ms, 25 µs in µs: each value's unit by its magnitude.
    expect(await text('setting-holdoff')).toBe('1.50 ms');
    expect(await text('setting-budget')).toBe('25.0 µs');
    expect(await text('setting-rate')).toBe('1,000 triggers/s, burst 10');
    expect(await text('uptime')).toBe('12 s');
    expect(await page.getByTestId('errors-latest').locator('td').allTextContents()).toContain('frame of 12 bytes, expected 3,072');
    await expect.poll(() => page.getByTestId('chart').getAttribute('data-points'), { timeout: 5_000 }).not.toBeNull();
  });

  it('moves between tabs with the arrow keys, Home and End, and keeps the view in the URL', async () => {
    await page.locator('[role="tab"][data-view="overview"]').focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.locator('[role="tab"][aria-selected="true"]').getAttribute('data-view')).toBe('latency');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-view'))).toBe('latency');
    expect(await page.evaluate(() => location.hash)).toBe('#latency');
    expect(await page.getByTestId('view-overview').isHidden()).toBe(true);
    await page.keyboard.press('End');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-view'))).toBe('devices');
    await page.keyboard.press('ArrowRight'); // wraps around
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-view'))).toBe('overview');
    await page.keyboard.press('ArrowLeft');
    expect(await page.evaluate(() => location.hash)).toBe('#devices');
    await page.keyboard.press('Home');
    // Only the selected tab is in the tab order (roving tabindex).
    expect(await page.locator('[role="tab"][tabindex="0"]').count()).toBe(1);
    expect(await page.getByTestId('view-overview').isVisible()).toBe(true);
  });

  it('latency view: one unit per column and per axis, chosen by magnitude', async () => {
    await showView('latency');
    // The max column holds 2,500 µs (e2e): the whole column is in ms, decode's 4 µs as 0.00400.
    expect(await text('latency-unit-max')).toBe('ms');
    expect(await text('e2e-max')).toBe('2.50');
    expect(await text('decode-max')).toBe('0.00400');
    expect(await text('latency-unit-p99')).toBe('µs');
    expect(await text('e2e-p99')).toBe('20.0');
    // Distribution points are below 1 µs: ns. History p99.9 reaches 1,619 µs: ms. Heatmap edges to 2,048 µs: ms.
    await expect.poll(() => page.getByTestId('nines-chart').getAttribute('data-unit'), { timeout: 5_000 }).toBe('ns');
    expect(Number(await page.getByTestId('nines-chart').getAttribute('data-points'))).toBe(4);
    expect(await page.getByTestId('tail-chart').getAttribute('data-unit')).toBe('ms');
    expect(await page.getByTestId('split-chart').getAttribute('data-unit')).toBe('µs');
    expect(await text('heatmap-unit')).toBe('ms');
    expect(await page.locator('[data-testid="nines-chart"] .u-legend').textContent()).toContain('budget');
  });

  it('triggers view: per class, purity and yield, confusion matrix', async () => {
    await showView('triggers');
    const perClass = page.getByTestId('per-class').locator('tr');
    await expect.poll(() => perClass.count()).toBe(3);
    // perClass { debris: 700, live: 250, dead: 50 } of 1,000.
    expect(await perClass.nth(1).locator('th, td').allTextContents()).toEqual(['live', '250', '25.0%', '45']);
    expect(await text('purity')).toBe('90.0%');
    expect(await text('yield')).toBe('22.5%');
    expect(await text('targets-missed-late')).toBe('2');
    const confusion = page.getByTestId('confusion').locator('tr');
    expect(await confusion.count()).toBe(4);
    expect(await confusion.nth(2).locator('th, td').allTextContents()).toEqual(['live', '30', '160', '10']);
    // The calibrated recall beside its promise, and the drift flag.
    const calibrated = page.getByTestId('calibration-targets').locator('tr');
    expect(await calibrated.first().locator('th, td').allTextContents()).toEqual(['recall live ≥ 95.0%', '≥ 95.5% (n 87)', '0.9844', '200', '96.0%']);
    // The targets' recall together, and a calibrated cascade cut with its running rate.
    expect(await calibrated.nth(1).locator('th, td').allTextContents()).toEqual(['recall live/dead together ≥ 90.0%', '≥ 90.2% (n 122)', '0.2705', '0', '–']);
    expect(await calibrated.nth(2).locator('th, td').allTextContents()).toEqual(['teacher sees ≥ 90.0% of wrong frames', '≥ 90.1% (n 1,205)', 'margin < 0.2973', '40', '90.0%']);
    expect(await page.getByTestId('drift-state').getAttribute('data-drift')).toBe('true');
    expect(await text('drift-state')).toBe('DRIFT: live scores differ from the calibration set (p < 0.001)');
    expect(await text('drift-p')).toBe('2.0e-9 (D 0.310)');
    expect(await text('drift-checks')).toBe('3 of 12');
    expect(await page.getByTestId('calibration-none').isHidden()).toBe(true);
    // A labelled keyword replay's detections against its truth, and the calibrated recall per detection beside its per-clip promise.
    expect(await page.getByTestId('detection-score').isVisible()).toBe(true);
    expect(await text('detection-stream')).toBe('speakers.wav, 270.0 of 274.0 s');
    expect(await text('detection-tp')).toBe('100 of 117 (3 open)');
    expect(await text('detection-false-alarms')).toBe(`104 (${(104 / (270 / 3600)).toFixed(1)}/h)`);
    expect(await text('detection-recall')).toBe(`${((100 / 114) * 100).toFixed(1)}%`);
    expect(await text('detection-delay')).toBe('-10 ms / 510 ms / 850 ms');
    expect(await page.getByTestId('detection-targets').locator('tr').first().locator('th, td').allTextContents()).toEqual(['recall live/dead together ≥ 90.0% (threshold 0.1612)', '114', '100', `${((100 / 114) * 100).toFixed(1)}%`]);
  });

  it('opens a trigger on click or Enter: a crop, an alert with cutouts and light curve, a spectrogram', async () => {
    const events = [fakeTrigger(1), fakeTrigger(2, { payload: { objectId: 'ZTF23abcdefg' } }), fakeTrigger(3, { streamMs: 1170, class: 'yes' }), fakeTrigger(4)];
    for (const e of events) api.events.set(e.seq, e);
    view.emitTriggers(events);
    const rows = page.getByTestId('trigger-list').locator('tr');
    await expect.poll(() => rows.count(), { timeout: 5_000 }).toBe(4);
    await page.locator('[data-testid="trigger-list"] tr[data-seq="2"]').click();
    await expect.poll(() => page.getByTestId('detail-images').locator('canvas').count(), { timeout: 5_000 }).toBe(3);
    expect(await page.getByTestId('detail-images').locator('figcaption').allTextContents()).toEqual(['science', 'template', 'difference']);
    expect(await page.getByTestId('detail-chart').isVisible()).toBe(true);
    await page.locator('[data-testid="trigger-list"] tr[data-seq="3"]').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => text('detail-text'), { timeout: 5_000 }).toContain('t = 1.17 s');
    expect(await page.getByTestId('detail-images').getAttribute('data-kind')).toBe('spectrogram');
    await page.locator('[data-testid="trigger-list"] tr[data-seq="1"]').click();
    await expect.poll(() => page.getByTestId('detail-images').getAttribute('data-kind'), { timeout: 5_000 }).toBe('image');
    await page.locator('[data-testid="trigger-list"] tr[data-seq="4"]').click();
    await expect.poll(() => text('detail-text'), { timeout: 5_000 }).toContain('left the daemon');
    // A late target's `missed` record is listed as such.
    view.emitTriggers([fakeTrigger(5, { kind: 'missed', late: true })]);
    await expect.poll(() => page.locator('[data-testid="trigger-list"] tr[data-seq="5"] td').nth(2).textContent(), { timeout: 5_000 }).toBe('live (missed: late)');
    // Triggers the cascade held (replace) say who decided them.
    view.emitTriggers([
      fakeTrigger(6, { cascade: { decidedBy: 'teacher', student: 'dead', teacher: 'live', teacherScore: 0.9, inTime: true } }),
      fakeTrigger(7, { cascade: { decidedBy: 'student', student: 'live', teacher: null, teacherScore: null, inTime: false } }),
    ]);
    const classOf = (seq: number) => page.locator(`[data-testid="trigger-list"] tr[data-seq="${seq}"] td`).nth(2).textContent();
    await expect.poll(() => classOf(6), { timeout: 5_000 }).toBe('live (teacher; student: dead)');
    expect(await classOf(7)).toBe('live (student; no teacher answer in time)');
  });

  it('model view shows the card and live agreement as probabilities', async () => {
    await showView('model');
    await expect.poll(() => text('model-params-student'), { timeout: 5_000 }).toBe('12,345');
    expect(await text('model-modelled')).toBe('6.00 µs (1,200 cycles at 200 MHz)');
    expect(await page.getByTestId('model-accuracy').locator('td').allTextContents()).toEqual(['91.2%', '90.5%']);
    expect(await text('agreement-total')).toBe('97.0% of 1,000 frames');
    expect(await text('agreement-recent')).toBe('96.0% over the last 10 s');
  });

  it('model view shows the cascade to the teacher and charts its agreement and sent/s over the snapshots seen', async () => {
    await showView('model');
    await expect.poll(() => page.getByTestId('cascade-body').isVisible(), { timeout: 5_000 }).toBe(true);
    expect(await page.getByTestId('cascade-none').isVisible()).toBe(false);
    expect(await text('cascade-teacher')).toBe('cells-bccd/teacher');
    expect(await text('cascade-cut')).toBe('margin < 0.9');
    expect(await text('cascade-sent')).toBe('120 (12.5/s)');
    expect(await text('cascade-dropped')).toBe('10');
    expect(await text('cascade-queue')).toBe('3 now, 64 at most, of 64');
    expect(await text('cascade-agreement')).toBe('80.0% of 100 answers');
    expect(await text('cascade-agreement-recent')).toBe('75.0% over the last 5 s');
    expect(await text('cascade-latency')).toBe('1.50 ms p50, 3.00 ms p99');
    expect(await text('cascade-decided')).toBe('the student (replace off)');
    // One point per snapshot the page has seen: the charts grow as snapshots come.
    const points = async (id: string) => Number(await page.getByTestId(id).getAttribute('data-points'));
    const before = await points('cascade-agreement-chart');
    await expect.poll(() => points('cascade-agreement-chart'), { timeout: 5_000 }).toBeGreaterThan(before);
    expect(await points('cascade-sent-chart')).toBeGreaterThan(0);
    expect(await page.getByTestId('cascade-agreement-chart').locator('canvas').count()).toBe(1);
  });

  it('model selection: its switches as markers on the rates chart, its models and switches in the model view', async () => {
    const at = 1_700_000_000_000;
    const sw = (k: number, direction: 'down' | 'up', from: string, to: string, rateHz: number) => ({ atMs: at + k * 1000, from, to, direction, reason: `${direction} because`, rateHz, utilization: 0.95, lateFraction: 0, atFrame: k * 100 });
    view.current.modelSelection = {
      mode: 'budget', current: 'w4x8', rateHz: 12_000, lateFraction: 0.01, offPathUs: 0, lowSinceMs: null, switches: { down: 2, up: 1 },
      estimates: [
        { name: 'cells-bccd/student', accuracy: 0.9958, serviceUs: 45, measured: true, utilization: 0.54, tailFailed: false, offPathUs: 0 },
        { name: 'w4x8', accuracy: 0.99, serviceUs: 30, measured: true, utilization: 0.36, tailFailed: false, offPathUs: 0 },
        { name: 'teacher', accuracy: 0.9968, serviceUs: 1500, measured: false, utilization: 18, tailFailed: false, offPathUs: 0 },
      ],
      recent: [sw(1, 'down', 'teacher', 'cells-bccd/student', 3000), sw(2, 'up', 'cells-bccd/student', 'teacher', 100), sw(3, 'down', 'teacher', 'w4x8', 12_000)],
    };
    await showView('overview');
    await expect.poll(() => text('model-switches'), { timeout: 5_000 }).toBe('2 down, 1 up');
    await expect.poll(() => page.getByTestId('chart').getAttribute('data-markers'), { timeout: 5_000 }).toBe('3');
    await showView('model');
    await expect.poll(() => text('selection-current'), { timeout: 5_000 }).toBe('w4x8');
    expect(await page.getByTestId('selection-none').isHidden()).toBe(true);
    expect(await text('selection-rate')).toBe('12,000 frames/s');
    expect(await text('selection-switches')).toBe('2 down, 1 up');
    // Most accurate first; the one in force marked; the teacher's service time from the probe.
    const rows = page.getByTestId('selection-models').locator('tr');
    expect(await rows.nth(0).locator('th, td').allTextContents()).toEqual(['teacher', '99.7%', '1.50 ms', '18.00', 'start-up probe, scaled']);
    expect(await rows.nth(2).locator('th, td').allTextContents()).toEqual(['w4x8 (in force)', '99.0%', '30.0 µs', '0.36', 'measured in force']);
    // Newest switch first.
    expect(await page.getByTestId('selection-recent').locator('tr').nth(0).locator('td').nth(1).textContent()).toBe('▼ teacher → w4x8');
    delete view.current.modelSelection;
    await expect.poll(() => page.getByTestId('selection-none').isVisible(), { timeout: 5_000 }).toBe(true);
  });

  it('devices view shows the server, source lag and link counters', async () => {
    view.current.source = { received: 12_000, numPending: 345 };
    view.current.transport = { 'serial /dev/ttyUSB0': { crcErrors: 2, reconnects: 1 } };
    await showView('devices');
    await expect.poll(() => text('ws-clients'), { timeout: 5_000 }).toBe('3');
    await expect.poll(() => page.getByTestId('source').isVisible(), { timeout: 5_000 }).toBe(true);
    expect(await page.getByTestId('source-counters').locator('th, td').allTextContents()).toEqual(['received', '12,000', 'numPending', '345']);
    expect(await page.getByTestId('transport-table').locator('tr').nth(1).locator('th, td').allTextContents()).toEqual(['crcErrors', '2']);
  });

  it('refuses a control without the token and says so; with the token from the URL fragment the change is applied and audited', async () => {
    await showView('overview');
    await page.getByTestId('control-threshold').fill('0.9');
    await page.getByTestId('control-apply').click();
    await expect.poll(() => text('control-message'), { timeout: 5_000 }).toContain('401');
    expect(api.settings.threshold).toBe(0.5);
    await page.goto(`${server.url}/#token=${FAKE_TOKEN}`);
    await expect.poll(() => page.getByTestId('conn').textContent(), { timeout: 10_000 }).toBe('live');
    expect(await page.evaluate(() => location.href)).not.toContain(FAKE_TOKEN);
    expect(await page.evaluate(() => sessionStorage.getItem('hairtrigger.token'))).toBe(FAKE_TOKEN);
    await page.getByTestId('control-threshold').fill('0.9');
    await page.getByTestId('control-apply').click();
    await expect.poll(() => page.getByTestId('audit').locator('td').allTextContents(), { timeout: 5_000 }).toContain('trigger.threshold: 0.5 -> 0.9');
    expect(api.settings.threshold).toBe(0.9);
    expect(await text('unauthorized')).toBe('1');
    // Pause, replay speed and the model switch post what the page shows.
    await page.getByTestId('control-pause').click();
    await expect.poll(() => page.getByTestId('audit').locator('td').allTextContents(), { timeout: 5_000 }).toContain('POST /api/control/pause');
    expect(api.settings.paused).toBe(true);
    await page.getByTestId('control-speed').fill('');
    await page.getByTestId('control-speed-apply').click();
    await expect.poll(() => page.getByTestId('audit').locator('td').allTextContents(), { timeout: 5_000 }).toContain('replay.speed: 1 -> null');
    await page.getByTestId('control-model').selectOption('cells-teacher');
    await page.getByTestId('control-model-apply').click();
    await expect.poll(() => page.getByTestId('audit').locator('td').allTextContents(), { timeout: 5_000 }).toContain('model: cells-student-v1 -> cells-teacher');
  });

  it('a reload shows the history before any live row could fill it', async () => {
    await page.reload();
    await expect.poll(() => page.getByTestId('conn').textContent(), { timeout: 10_000 }).toBe('live');
    // 120 rows from /api/history; live snapshots add one row a second at most.
    await expect.poll(async () => Number(await page.getByTestId('chart').getAttribute('data-points')), { timeout: 5_000 }).toBeGreaterThanOrEqual(120);
  });

  it('shows a disconnected banner while the daemon is away and reconnects', async () => {
    expect(await page.getByTestId('disconnected').isHidden()).toBe(true);
    const port = server.port;
    await server.close();
    await expect.poll(() => page.getByTestId('disconnected').isVisible(), { timeout: 10_000 }).toBe(true);
    server = await serve(port);
    await expect.poll(() => page.getByTestId('conn').textContent(), { timeout: 20_000 }).toBe('live');
    expect(await page.getByTestId('disconnected').isHidden()).toBe(true);
  });

  it('fits 1280 px and a small laptop (1024 px) without horizontal scrolling in every view, an alert open', async () => {
    const alert = fakeTrigger(12, { class: 'SN Ia', score: 0.97, payload: { objectId: 'ZTF23abcdefg' } });
    api.events.set(alert.seq, alert);
    view.emitTriggers([fakeTrigger(11), fakeTrigger(13, { streamMs: 1170, class: 'yes' }), alert]);
    for (const name of VIEWS) {
      await showView(name);
      if (name === 'triggers') {
        await page.locator('[data-testid="trigger-list"] tr[data-seq="12"]').click();
        await expect.poll(() => page.getByTestId('detail-images').locator('canvas').count(), { timeout: 5_000 }).toBe(3);
      }
      for (const [width, height] of [[1280, 800], [1024, 640]] as const) {
        await page.setViewportSize({ width, height });
        // Charts follow their panels on the next frame.
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        expect(await page.evaluate(() => document.documentElement.scrollWidth), `${name} at ${width} px`).toBeLessThanOrEqual(width);
      }
    }
  });

  it('loaded with no page errors and no failed requests but the expected ones', () => {
    // Expected: refused reconnects while the server was down, the control sent without the
    // token, and the detail of a trigger that left the ring.
    const expected = ['401 /api/control/trigger', '404 /api/triggers/test/4'];
    expect(outsideOutage(pageProblems).filter((p) => !expected.includes(p))).toEqual([]);
    expect(pageProblems).toEqual(expect.arrayContaining(expected));
  });
});
