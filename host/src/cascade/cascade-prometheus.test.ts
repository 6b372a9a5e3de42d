// The cascade's series on /metrics: read from the snapshot's `cascade`, conventional names,
// empty (HELP and TYPE only) for a pipeline without one.
import { describe, expect, it } from 'vitest';
import { PrometheusExporter } from '../metrics/prometheus.js';
import type { CascadeSnapshot } from '../server/api-types.js';
import { fakeLatency, fakeSnapshot, sampleValue } from '../server/testing.js';

function fakeCascade(over: Partial<CascadeSnapshot> = {}): CascadeSnapshot {
  return {
    teacher: 'alerts-transient/teacher', cutKind: 'margin', cut: 0.06, queueFrames: 64, replace: true,
    unsure: 130, sent: 120, dropped: 10, sentPerS: 12.5, answered: 118, failed: 1, agreed: 90, agreement: 90 / 117, agreementRecent: 0.8, windowS: 5,
    queueDepth: 2, queueDepthMax: 64, decidedByTeacher: 100, decidedByStudent: 20,
    teacherLatencyUs: { ...fakeLatency(1500), count: 117 }, teacherInferUs: fakeLatency(900),
    ...over,
  };
}

describe('cascade metrics in the Prometheus exposition', () => {
  it('exports the counters, the queue, agreement, the cut and teacher latency from the snapshot', async () => {
    const c = fakeCascade();
    const text = await new PrometheusExporter(() => fakeSnapshot({ cascade: c }), { defaultMetrics: false }).metricsText();
    expect(sampleValue(text, 'hairtrigger_cascade_unsure_frames_total{teacher=\"alerts-transient/teacher\"}')).toBe(130);
    expect(sampleValue(text, 'hairtrigger_cascade_sent_frames_total{teacher=\"alerts-transient/teacher\"}')).toBe(120);
    expect(sampleValue(text, 'hairtrigger_cascade_dropped_frames_total{teacher=\"alerts-transient/teacher\"}')).toBe(10);
    expect(sampleValue(text, 'hairtrigger_cascade_answers_total{teacher=\"alerts-transient/teacher\"}')).toBe(118);
    expect(sampleValue(text, 'hairtrigger_cascade_teacher_failures_total{teacher=\"alerts-transient/teacher\"}')).toBe(1);
    expect(sampleValue(text, 'hairtrigger_cascade_agreed_total{teacher=\"alerts-transient/teacher\"}')).toBe(90);
    expect(sampleValue(text, 'hairtrigger_cascade_decided_total{teacher="alerts-transient/teacher",by="teacher"}')).toBe(100);
    expect(sampleValue(text, 'hairtrigger_cascade_decided_total{teacher="alerts-transient/teacher",by="student"}')).toBe(20);
    expect(sampleValue(text, 'hairtrigger_cascade_queue_depth{teacher=\"alerts-transient/teacher\"}')).toBe(2);
    expect(sampleValue(text, 'hairtrigger_cascade_queue_depth_max{teacher=\"alerts-transient/teacher\"}')).toBe(64);
    expect(sampleValue(text, 'hairtrigger_cascade_queue_frames{teacher=\"alerts-transient/teacher\"}')).toBe(64);
    expect(sampleValue(text, 'hairtrigger_cascade_sent_frames_per_second{teacher=\"alerts-transient/teacher\"}')).toBe(12.5);
    expect(sampleValue(text, 'hairtrigger_cascade_agreement_ratio{teacher=\"alerts-transient/teacher\"}')).toBeCloseTo(90 / 117, 12);
    expect(sampleValue(text, 'hairtrigger_cascade_recent_agreement_ratio{teacher=\"alerts-transient/teacher\"}')).toBe(0.8);
    expect(sampleValue(text, 'hairtrigger_cascade_cut{teacher="alerts-transient/teacher",kind="margin"}')).toBe(0.06);
    expect(sampleValue(text, 'hairtrigger_cascade_teacher_latency_seconds{teacher="alerts-transient/teacher",quantile="0.5"}')).toBeCloseTo(c.teacherLatencyUs.p50 / 1e6, 15);
    expect(sampleValue(text, 'hairtrigger_cascade_teacher_latency_seconds{teacher="alerts-transient/teacher",quantile="0.99"}')).toBeCloseTo(c.teacherLatencyUs.p99 / 1e6, 15);
    expect(text).toContain('# TYPE hairtrigger_cascade_sent_frames_total counter');
    expect(text).toContain('# TYPE hairtrigger_cascade_queue_depth gauge');
  });

  it('has no cascade samples without a cascade, and no decided series without replace', async () => {
    const none = await new PrometheusExporter(() => fakeSnapshot({ cascade: null }), { defaultMetrics: false }).metricsText();
    expect(none.split('\n').filter((l) => l.startsWith('hairtrigger_cascade_'))).toEqual([]);
    const noReplace = await new PrometheusExporter(() => fakeSnapshot({ cascade: fakeCascade({ replace: false }) }), { defaultMetrics: false }).metricsText();
    expect(noReplace).not.toMatch(/^hairtrigger_cascade_decided_total\{/m);
    expect(sampleValue(noReplace, 'hairtrigger_cascade_sent_frames_total{teacher=\"alerts-transient/teacher\"}')).toBe(120);
  });
});
