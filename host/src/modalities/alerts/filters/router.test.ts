import { describe, expect, it } from 'vitest';
import { FilterError } from '../../../core/errors.js';
import type { AlertView } from '../types.js';
import { compileFilters, type FilterSpec } from './filters.js';
import { TopicRouter } from './router.js';
import { emptyScores, type Scores } from './scores.js';
import { CLASSES, madeUpScores, REPLAY_FILTERS, replayAlerts, replayCatalogues } from './testing.js';

// Each filter written again as plain JavaScript over the decoded record: the reference the
// router's answers are held against (null fields never match, as the language says).
const num = (v: unknown): number | null => (typeof v === 'number' && !Number.isNaN(v) ? v : null);
const REFERENCE: Record<string, (a: AlertView, s: Scores) => boolean | 'error' | 'skip'> = {
  bright: (a) => (a.survey !== 'ztf' ? 'skip' : (num(a.field('candidate.magpsf')) ?? 99) < 18 && (num(a.field('candidate.drb')) ?? -1) > 0.5),
  'faint-real': (a, s) => (a.survey !== 'ztf' ? 'skip' : (num(a.field('candidate.magpsf')) ?? -99) >= 18 && (s.realbogus ?? -1) > 0.9),
  ia: (_a, s) => s.class === 'SN Ia' && (s.score ?? 0) > 0.5,
  'rubin-snr': (a) => {
    if (a.survey !== 'rubin') return 'skip';
    const band = a.field('diaSource.band');
    return (num(a.field('diaSource.snr')) ?? -1) > 20 && band !== null && band !== 'u' && band !== 'y';
  },
  'long-history': (a) => {
    if (a.survey !== 'ztf') return 'skip';
    const prv = a.value as { prv_candidates: Array<{ jd: number }> | null };
    if (prv.prv_candidates === null) return false; // a null on the way reads as null: unknown
    return prv.prv_candidates.length > 30 ? prv.prv_candidates[30].jd > 0 : 'error';
  },
};

describe('TopicRouter on a real replay', () => {
  it('puts every alert in exactly one outcome, counts topics and filters that add up, and agrees with a plain-JS reading', () => {
    const alerts = replayAlerts();
    expect(alerts.length).toBeGreaterThan(600);
    const errors: FilterError[] = [];
    const router = new TopicRouter(compileFilters(REPLAY_FILTERS, { catalogues: replayCatalogues(), classes: CLASSES }), (e) => errors.push(e));
    const scores = emptyScores();
    const expectTopics: Record<string, number> = {};
    const expectOutcomes = { routed: 0, unmatched: 0, error: 0 };
    let deliveries = 0;
    for (const a of alerts) {
      madeUpScores(a, scores);
      const r = router.route(a, scores);
      const want = REPLAY_FILTERS.map((f) => REFERENCE[f.name](a, scores));
      const wantTopics = [...new Set(REPLAY_FILTERS.filter((_f, i) => want[i] === true).map((f) => f.topic))];
      expect(r.topics, `${a.source} #${a.index}`).toEqual(wantTopics);
      const outcome = wantTopics.length > 0 ? 'routed' : want.includes('error') ? 'error' : 'unmatched';
      expect(r.outcome).toBe(outcome);
      expectOutcomes[outcome]++;
      for (const t of wantTopics) expectTopics[t] = (expectTopics[t] ?? 0) + 1;
      deliveries += r.topics.length;
    }
    const c = router.counters();
    expect(c.alerts).toBe(alerts.length);
    expect(c.routed + c.unmatched + c.error).toBe(c.alerts);
    expect({ routed: c.routed, unmatched: c.unmatched, error: c.error }).toEqual(expectOutcomes);
    for (const t of router.topics) expect(c.topics[t]).toBe(expectTopics[t] ?? 0);
    expect(Object.values(c.topics).reduce((x, y) => x + y, 0)).toBe(deliveries);
    for (const f of Object.values(c.filters)) expect(f.matched + f.notMatched + f.unknown + f.errors + f.skipped).toBe(alerts.length);
    const flat = router.snapshotCounters() as Record<string, Record<string, number>>;
    for (const f of REPLAY_FILTERS) expect(['matched', 'notMatched', 'unknown', 'errors', 'skipped'].reduce((sum, k) => sum + flat[k][f.name], 0)).toBe(alerts.length);
    expect(flat.topics).toEqual(c.topics);
    expect(c.filters['long-history'].errors).toBe(errors.length);
    expect(errors.every((e) => e instanceof FilterError && /filter "long-history".*no field prv_candidates\.30\.jd/.test(e.message))).toBe(true);
    // The replay exercises every outcome and every kind of filter result.
    expect(Math.min(c.routed, c.unmatched, c.error)).toBeGreaterThan(0);
    expect(Math.min(c.filters.bright.skipped, c.filters['rubin-snr'].matched, c.filters['long-history'].errors, c.filters['faint-real'].matched)).toBeGreaterThan(0);
  });

  it('keeps routing when one filter fails, and a match outranks another filter failing', () => {
    const alerts = replayAlerts().filter((a) => a.survey === 'ztf' && ((a.value as { prv_candidates: unknown[] | null }).prv_candidates?.length ?? 9) < 5);
    expect(alerts.length).toBeGreaterThan(0);
    const specs: FilterSpec[] = [
      { name: 'fails', expr: 'prv_candidates[5].jd > 0', topic: 'a' },
      { name: 'all', expr: 'jd > 0', topic: 'b' },
    ];
    const router = new TopicRouter(compileFilters(specs, { catalogues: replayCatalogues(), classes: CLASSES }));
    const r = router.route(alerts[0], emptyScores());
    expect(r.outcome).toBe('routed');
    expect(r.topics).toEqual(['b']);
    expect(router.matchedFilters('b')).toEqual(['all']);
    expect(router.counters().filters.fails.errors).toBe(1);
  });
});
