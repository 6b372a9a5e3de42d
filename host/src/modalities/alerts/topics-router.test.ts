import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERTS_DIR, avroFiles } from '../../../../test/support/alerts.js';
import { FrameRing } from '../../core/frame.js';
import { readAlertFile } from './avro/container.js';
import { CLASSES } from './filters/testing.js';
import { createTopicsRouter, topicsRouterSchema } from './topics-router.js';
import { setSlotAlert } from './types.js';
import type { RouterContext } from '../../trigger/routers.js';
import { tempDir } from '../../../../test/support/fixtures.js';

const ZTF_SCHEMAS = join(ALERTS_DIR, 'ztf-avro-alert', 'schema');

function router(dir: string, filters: { name: string; expr: string; topic: string }[]) {
  const errors: string[] = [];
  const ctx: RouterContext = { runId: 'r', labels: CLASSES, targets: ['SN Ia'], aux: [], at: (p) => p, log: () => {}, error: (e) => errors.push(e.message), framesFailed: () => 0 };
  const cfg = { kind: 'topics', ztfSchemas: ZTF_SCHEMAS, filters, topics: { path: join(dir, 'topics') } };
  return { r: createTopicsRouter(topicsRouterSchema.parse(cfg), ctx), cfg, errors };
}

describe('topics router reload (SIGHUP)', () => {
  it('routes by the new filters from the reload on, keeps its topic files and carries its counters', async () => {
    const alerts = avroFiles(join(ALERTS_DIR, 'ztf-4.02-2023-10')).flatMap((f) => readAlertFile(f).alerts);
    expect(alerts.length).toBeGreaterThan(20);
    const dir = tempDir('topics-reload');
    const { r, cfg } = router(dir, [{ name: 'real', expr: 'drb > 0.9', topic: 'ztf' }]);
    const half = Math.floor(alerts.length / 2);
    const ring = new FrameRing(1, CLASSES.length, 4);
    const fired: boolean[] = [];
    alerts.forEach((a, i) => {
      if (i === half) {
        const reload = r.prepareReload!({ ...cfg, filters: [{ name: 'bogus', expr: 'drb <= 0.9', topic: 'ztf' }] }, ['SN Ia']);
        expect(reload).not.toHaveProperty('restart');
        (reload as { apply(): void }).apply();
      }
      const slot = ring.acquire();
      slot.probs.set([0.7, 0.1, 0.1, 0.1]);
      slot.late = false;
      setSlotAlert(slot, a);
      r.route(slot);
      fired.push(slot.triggered);
    });
    await r.close();
    // ZTF's deep real/bogus score, read from the decoded record itself.
    const drb = alerts.map((a) => (a.value as { candidate: { drb: number } }).candidate.drb);
    const want = drb.map((x, i) => (i < half ? x > 0.9 : x <= 0.9));
    expect(fired).toEqual(want);
    const routed = want.filter(Boolean).length;
    expect(r.counters()).toMatchObject({ alerts: alerts.length, routed, unmatched: alerts.length - routed, error: 0, topics: { ztf: routed }, matched: { real: want.slice(0, half).filter(Boolean).length, bogus: want.slice(half).filter(Boolean).length } });
    // One topic, one set of files, every routed alert in it.
    const lines = readdirSync(join(dir, 'topics')).filter((f) => f.endsWith('.jsonl')).flatMap((f) => readFileSync(join(dir, 'topics', f), 'utf8').trim().split('\n'));
    expect(lines).toHaveLength(routed);
  });

  it('asks for a restart when the filters name other topics, and refuses a filter on a field the schema lacks, changing nothing', () => {
    const { r, cfg } = router(tempDir('topics-refuse'), [{ name: 'real', expr: 'drb > 0.9', topic: 'ztf' }]);
    expect(r.prepareReload!({ ...cfg, filters: [{ name: 'real', expr: 'drb > 0.9', topic: 'elsewhere' }] }, ['SN Ia'])).toEqual({ restart: expect.stringMatching(/route\.filters name topics \[elsewhere\] where \[ztf\] are open/) });
    expect(() => r.prepareReload!({ ...cfg, filters: [{ name: 'typo', expr: 'drbb > 0.9', topic: 'ztf' }] }, ['SN Ia'])).toThrow(/E_CONFIG.*typo.*drbb/);
    expect(r.prepareReload!({ ...cfg, topics: { path: '/elsewhere' } }, ['SN Ia'])).toEqual({ restart: 'route.topics changed: topic files are opened at start-up' });
    expect(r.counters()).toMatchObject({ alerts: 0, matched: { real: 0 } });
  });
});
