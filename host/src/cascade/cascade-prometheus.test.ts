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
    const teacher = 'teacher="alerts-transient/teacher"';
    const want: Array<[string, number]> = [
      ['unsure_frames_total', 130], ['sent_frames_total', 120], ['dropped_frames_total', 10], ['answers_total', 118],
      ['teacher_failures_total', 1], ['agreed_total', 90], ['queue_depth', 2], ['queue_depth_max', 64], ['queue_frames', 64],
      ['sent_frames_per_second', 12.5], ['agreement_ratio', 90 / 117], ['recent_agreement_ratio', 0.8],
    ];
    for (const [name, value] of want) expect(sampleValue(text, `hairtrigger_cascade_${name}{${teacher}}`), name).toBeCloseTo(value, 12);
    expect(sampleValue(text, `hairtrigger_cascade_decided_total{${teacher},by="teacher"}`)).toBe(100);
    expect(sampleValue(text, `hairtrigger_cascade_decided_total{${teacher},by="student"}`)).toBe(20);
    expect(sampleValue(text, `hairtrigger_cascade_cut{${teacher},kind="margin"}`)).toBe(0.06);
    expect(sampleValue(text, `hairtrigger_cascade_teacher_latency_seconds{${teacher},quantile="0.5"}`)).toBeCloseTo(c.teacherLatencyUs.p50 / 1e6, 15);
    expect(sampleValue(text, `hairtrigger_cascade_teacher_latency_seconds{${teacher},quantile="0.99"}`)).toBeCloseTo(c.teacherLatencyUs.p99 / 1e6, 15);
    expect(text).toContain('# TYPE hairtrigger_cascade_sent_frames_total counter');
    expect(text).toContain('# TYPE hairtrigger_cascade_queue_depth gauge');
  });

  it('has no cascade samples without a cascade, and no decided series without replace', async () => {
    const none = await new PrometheusExporter(() => fakeSnapshot({ cascade: null }), { defaultMetrics: false }).metricsText();
    expect(none.split('\n').filter((l) => l.startsWith('hairtrigger_cascade_'))).toEqual([]);
    const noReplace = await new PrometheusExporter(() => fakeSnapshot({ cascade: fakeCascade({ replace: false }) }), { defaultMetrics: false }).metricsText();
    expect(noReplace).not.toMatch(/^hairtrigger_cascade_decided_total\{/m);
    expect(sampleValue(noReplace, 'hairtrigger_cascade_sent_frames_total{teacher="alerts-transient/teacher"}')).toBe(120);
  });
});
