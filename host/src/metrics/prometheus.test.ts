import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { fakeDevice, fakeSnapshot, sampleValue } from '../server/testing.js';
import { PrometheusExporter } from './prometheus.js';
import type { Snapshot } from './snapshot.js';

describe('PrometheusExporter', () => {
  it('renders every series from the snapshot at scrape time', async () => {
    let snap = fakeSnapshot();
    const exporter = new PrometheusExporter(() => snap, { defaultMetrics: false });
    snap = fakeSnapshot({ frames: 1234, triggers: 56, late: 7, dropped: 8, budgetViolations: 9, fps: 2500.5 });
    const text = await exporter.metricsText();
    expect(sampleValue(text, 'hairtrigger_frames_total')).toBe(1234);
    expect(sampleValue(text, 'hairtrigger_triggers_total')).toBe(56);
    expect(sampleValue(text, 'hairtrigger_late_frames_total')).toBe(7);
    expect(sampleValue(text, 'hairtrigger_dropped_frames_total')).toBe(8);
    expect(sampleValue(text, 'hairtrigger_budget_violations_total')).toBe(9);
    expect(sampleValue(text, 'hairtrigger_frames_per_second')).toBe(2500.5);
    expect(sampleValue(text, 'hairtrigger_budget_seconds')).toBe(25e-6);
    expect(sampleValue(text, 'hairtrigger_errors_total{code="E_FRAME_SHAPE"}')).toBe(2);
    expect(sampleValue(text, 'hairtrigger_class_frames_total{class="live"}')).toBe(250);
    expect(sampleValue(text, 'hairtrigger_info{pipeline="cells-demo",backend="sim",model="cells-student-v1"}')).toBe(1);
    expect(text).toContain('# TYPE hairtrigger_frames_total counter');
    expect(text).toContain('# TYPE hairtrigger_latency_seconds histogram');
  });

  it('exports the fate of every frame: suppressed by reason, non-target, ring overflows, clamped samples', async () => {
    const exporter = new PrometheusExporter(() => fakeSnapshot(), { defaultMetrics: false });
    const text = await exporter.metricsText();
    const s = fakeSnapshot();
    expect(sampleValue(text, 'hairtrigger_suppressed_total{reason="below_threshold"}')).toBe(s.suppressed.belowThreshold);
    expect(sampleValue(text, 'hairtrigger_suppressed_total{reason="holdoff"}')).toBe(s.suppressed.holdoff);
    expect(sampleValue(text, 'hairtrigger_suppressed_total{reason="rate_limit"}')).toBe(s.suppressed.rateLimit);
    expect(sampleValue(text, 'hairtrigger_suppressed_total{reason="late"}')).toBe(s.suppressed.late);
    expect(sampleValue(text, 'hairtrigger_non_target_frames_total')).toBe(s.nonTarget);
    expect(sampleValue(text, 'hairtrigger_trigger_ring_overflows_total')).toBe(s.triggerRingOverflows);
    expect(sampleValue(text, 'hairtrigger_clamped_samples_total')).toBe(s.clampedSamples);
    // The exported series alone account for every frame.
    const suppressed = ['below_threshold', 'holdoff', 'rate_limit', 'late'].reduce((a, r) => a + sampleValue(text, `hairtrigger_suppressed_total{reason="${r}"}`)!, 0);
    const fates = sampleValue(text, 'hairtrigger_triggers_total')! + suppressed + sampleValue(text, 'hairtrigger_non_target_frames_total')!;
    expect(fates).toBe(sampleValue(text, 'hairtrigger_frames_total'));
  });

  it("renders, one metric per macrotask, exactly what prom-client's registry.metrics() renders", async () => {
    const snap = fakeSnapshot({ device: fakeDevice() });
    const exporter = new PrometheusExporter(() => snap, { defaultMetrics: false });
    expect(await exporter.metricsText()).toBe(await exporter.registry.metrics());
  });

  it('renders once per published snapshot, however many scrapes ask, concurrently or not', async () => {
    let snap = fakeSnapshot({ frames: 1 });
    const exporter = new PrometheusExporter(() => snap, { defaultMetrics: false });
    const texts = await Promise.all(Array.from({ length: 16 }, () => exporter.metricsText()));
    expect(exporter.renders).toBe(1);
    expect(new Set(texts).size).toBe(1);
    await exporter.metricsText();
    expect(exporter.renders).toBe(1);
    snap = fakeSnapshot({ frames: 2 });
    expect(sampleValue(await exporter.metricsText(), 'hairtrigger_frames_total')).toBe(2);
    expect(exporter.renders).toBe(2);
  });

  it('exports latency as a histogram per stage: cumulative buckets in seconds, +Inf = _count, _sum in seconds', async () => {
    const snap = fakeSnapshot();
    const text = await new PrometheusExporter(() => snap, { defaultMetrics: false }).metricsText();
    const b = snap.latencyBuckets!;
    for (const stage of ['e2e', 'queue', 'service', 'decode', 'preprocess', 'infer', 'policy', 'emit', 'device']) {
      const x = b.series[stage];
      b.leUs.forEach((le, i) => expect(sampleValue(text, `hairtrigger_latency_seconds_bucket{stage="${stage}",le="${le / 1e6}"}`), `${stage} le ${le}`).toBe(x.counts[i]));
      expect(sampleValue(text, `hairtrigger_latency_seconds_bucket{stage="${stage}",le="+Inf"}`)).toBe(x.count);
      expect(sampleValue(text, `hairtrigger_latency_seconds_count{stage="${stage}"}`)).toBe(x.count);
      expect(sampleValue(text, `hairtrigger_latency_seconds_sum{stage="${stage}"}`)).toBeCloseTo(x.sumUs / 1e6, 12);
    }
    // e2e's median is ~12 us (testing.ts): about half the samples at or below 10 us, all by 1 ms.
    const at = (le: string) => sampleValue(text, `hairtrigger_latency_seconds_bucket{stage="e2e",le="${le}"}`)!;
    expect(at('0.00001')).toBeGreaterThan(200);
    expect(at('0.00001')).toBeLessThan(500);
    expect(at('0.001')).toBe(1000);
  });

  it('follows the Prometheus naming conventions on every series (base units, _total on counters, no unit-less latency)', async () => {
    const exporter = new PrometheusExporter(() => fakeSnapshot({ device: fakeDevice(), source: { numPending: 1 }, transport: { 'serial x': { crcErrors: 1 } }, route: { routed: 1, unmatched: 0, error: 0, topics: { a: 1 } } }), { defaultMetrics: false });
    const text = await exporter.metricsText();
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    expect(types.size).toBeGreaterThan(15);
    for (const [name, type] of types) {
      expect(name, name).toMatch(/^hairtrigger_[a-z0-9_]+$/);
      // Base units only: seconds and bytes, never micro/nano/milliseconds.
      expect(name, name).not.toMatch(/_(us|ns|ms|micros|nanos|millis|microseconds|nanoseconds|milliseconds|kb|mb)(_|$)/);
      if (type === 'counter') expect(name, name).toMatch(/_total$/);
      else expect(name, name).not.toMatch(/_total$/);
      if (type === 'histogram') expect(name, name).toMatch(/_seconds$/);
    }
    expect(types.get('hairtrigger_latency_seconds')).toBe('histogram');
    // Every sample belongs to a declared family (histograms through _bucket, _sum, _count).
    for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
      const name = line.split(/[{ ]/)[0];
      const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
      expect(types.has(family), line).toBe(true);
    }
  });

  it('takes exactly one snapshot per scrape, so all series agree', async () => {
    let calls = 0;
    const exporter = new PrometheusExporter(() => fakeSnapshot({ frames: ++calls }), { defaultMetrics: false });
    const text = await exporter.metricsText();
    expect(calls).toBe(1);
    expect(sampleValue(text, 'hairtrigger_frames_total')).toBe(1);
    await exporter.metricsText();
    expect(calls).toBe(2);
  });

  it('drops label sets that vanish between scrapes (model swap)', async () => {
    let snap: Snapshot = fakeSnapshot();
    const exporter = new PrometheusExporter(() => snap, { defaultMetrics: false });
    await exporter.metricsText();
    snap = fakeSnapshot({ model: 'cells-student-v2', perClass: { a: 1 } });
    const text = await exporter.metricsText();
    expect(text).not.toContain('model="cells-student-v1"');
    expect(text).toContain('model="cells-student-v2"');
    expect(sampleValue(text, 'hairtrigger_class_frames_total{class="live"}')).toBeUndefined();
    expect(sampleValue(text, 'hairtrigger_class_frames_total{class="a"}')).toBe(1);
  });

  it('escapes hostile label values instead of breaking the exposition', async () => {
    const exporter = new PrometheusExporter(() => fakeSnapshot({ model: 'a"b\\c\nd' }), { defaultMetrics: false });
    const text = await exporter.metricsText();
    expect(text).toContain('model="a\\"b\\\\c\\nd"');
  });

  it('rejects when the provider throws, and recovers on the next scrape', async () => {
    let fail = true;
    const exporter = new PrometheusExporter(() => {
      if (fail) throw new Error('view broken');
      return fakeSnapshot();
    }, { defaultMetrics: false });
    await expect(exporter.metricsText()).rejects.toThrow('view broken');
    fail = false;
    expect(sampleValue(await exporter.metricsText(), 'hairtrigger_frames_total')).toBe(1000);
  });

  it('uses its own registry: two exporters coexist and the global registry stays empty', async () => {
    const a = new PrometheusExporter(() => fakeSnapshot({ frames: 1 }));
    const b = new PrometheusExporter(() => fakeSnapshot({ frames: 2 }));
    expect(sampleValue(await a.metricsText(), 'hairtrigger_frames_total')).toBe(1);
    const textB = await b.metricsText();
    expect(sampleValue(textB, 'hairtrigger_frames_total')).toBe(2);
    expect(textB).toContain('process_cpu_user_seconds_total');
    expect(await globalRegistry.metrics()).not.toContain('hairtrigger_');
    expect(a.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it("exports an alert router's outcomes and topics, and nothing for a pipeline without one", async () => {
    const route = { alerts: 1234, routed: 200, unmatched: 1030, error: 4, topics: { 'sn-ia': 150, tde: 70 } };
    const text = await new PrometheusExporter(() => fakeSnapshot({ route }), { defaultMetrics: false }).metricsText();
    expect(sampleValue(text, 'hairtrigger_route_total{outcome="routed"}')).toBe(200);
    expect(sampleValue(text, 'hairtrigger_route_total{outcome="unmatched"}')).toBe(1030);
    expect(sampleValue(text, 'hairtrigger_route_total{outcome="error"}')).toBe(4);
    expect(sampleValue(text, 'hairtrigger_route_topic_total{topic="sn-ia"}')).toBe(150);
    expect(sampleValue(text, 'hairtrigger_route_topic_total{topic="tde"}')).toBe(70);
    const none = await new PrometheusExporter(() => fakeSnapshot(), { defaultMetrics: false }).metricsText();
    expect(none).not.toMatch(/^hairtrigger_route_total\{/m);
  });

  it("exports a source's own counters (NATS consumer lag) by stat, and none for a source without", async () => {
    const source = { received: 900, acked: 880, numPending: 12_000, numAckPending: 20, numRedelivered: 3 };
    const text = await new PrometheusExporter(() => fakeSnapshot({ source }), { defaultMetrics: false }).metricsText();
    expect(sampleValue(text, 'hairtrigger_source{stat="numPending"}')).toBe(12_000);
    expect(sampleValue(text, 'hairtrigger_source{stat="numAckPending"}')).toBe(20);
    expect(sampleValue(text, 'hairtrigger_source{stat="acked"}')).toBe(880);
    const none = await new PrometheusExporter(() => fakeSnapshot(), { defaultMetrics: false }).metricsText();
    expect(none).not.toMatch(/^hairtrigger_source\{/m);
  });

  it('exports the fpga device counters and gauges, labelled by its path', async () => {
    const exporter = new PrometheusExporter(() => fakeSnapshot({ backend: 'fpga', device: fakeDevice() }), { defaultMetrics: false });
    const text = await exporter.metricsText();
    const dev = 'device="/dev/shm/ht-jets"';
    expect(sampleValue(text, `hairtrigger_device_jobs_total{${dev}}`)).toBe(12_345);
    expect(sampleValue(text, `hairtrigger_device_timeouts_total{${dev}}`)).toBe(1);
    expect(sampleValue(text, `hairtrigger_device_resets_total{${dev}}`)).toBe(2);
    expect(sampleValue(text, `hairtrigger_device_corrupt_total{${dev}}`)).toBe(3);
    expect(sampleValue(text, `hairtrigger_device_fifo_overflows_total{${dev}}`)).toBe(4);
    expect(sampleValue(text, `hairtrigger_device_fifo_pending{${dev}}`)).toBe(5);
    expect(sampleValue(text, `hairtrigger_device_modelled_latency_seconds{${dev}}`)).toBeCloseTo(0.175e-6, 15);
    expect(sampleValue(text, `hairtrigger_device_wait_seconds{${dev},stat="last"}`)).toBeCloseTo(900e-9, 15);
    expect(sampleValue(text, `hairtrigger_device_wait_seconds{${dev},stat="mean"}`)).toBeCloseTo(1100.5e-9, 15);
    expect(sampleValue(text, `hairtrigger_device_wait_seconds{${dev},stat="min"}`)).toBeCloseTo(700e-9, 15);
    expect(sampleValue(text, `hairtrigger_device_wait_seconds{${dev},stat="max"}`)).toBeCloseTo(85_000e-9, 15);
    expect(sampleValue(text, `hairtrigger_device_info{${dev},model_hash="0123456789ab",clock_khz="200000",latency_cycles="35"}`)).toBe(1);
    expect(text).toContain('# TYPE hairtrigger_device_jobs_total counter');
    expect(text).toContain('# TYPE hairtrigger_device_wait_seconds gauge');
  });

  it('has no device samples without a device, and drops them when the device goes', async () => {
    let snap: Snapshot = fakeSnapshot({ device: fakeDevice() });
    const exporter = new PrometheusExporter(() => snap, { defaultMetrics: false });
    expect(await exporter.metricsText()).toMatch(/^hairtrigger_device_jobs_total\{/m);
    snap = fakeSnapshot();
    const text = await exporter.metricsText();
    expect(text.split('\n').filter((l) => l.startsWith('hairtrigger_device_'))).toEqual([]);
    expect(text).toContain('# TYPE hairtrigger_device_jobs_total counter');
  });
});

describe('calibration series', () => {
  const calibration: NonNullable<Snapshot['calibration']> = {
    file: 'c.json', method: 'split-conformal', createdAt: '2026-12-07T00:00:00Z', data: 'val',
    targets: [
      { kind: 'recall', classes: ['WBC'], target: 0.95, bound: 0.9545, threshold: 0.98, n: 87, labelled: 71, passed: 68, achieved: 68 / 71 },
      { kind: 'falseRate', classes: ['WBC', 'Platelets'], target: 0.01, bound: 0.0091, threshold: 0.0105, n: 874, labelled: 0, passed: 0, achieved: null },
    ],
    cascade: null,
    drift: { score: 'top', per: 'frame', test: 'ks', windowFrames: 500, frames: 500, referenceN: 1137, statistic: 0.3, pValue: 1e-9, alpha: 0.001, drift: true, checks: 10, flaggedChecks: 4 },
  };

  it('exports each calibrated rate beside its target and the drift check, by conventional names', async () => {
    const exporter = new PrometheusExporter(() => fakeSnapshot({ calibration }), { defaultMetrics: false });
    const text = await exporter.metricsText();
    expect(text).toContain('hairtrigger_calibration_target_ratio{kind="recall",class="WBC"} 0.95');
    expect(text).toContain(`hairtrigger_calibration_achieved_ratio{kind="recall",class="WBC"} ${68 / 71}`);
    expect(text).not.toMatch(/hairtrigger_calibration_achieved_ratio\{kind="falseRate"/); // none counted yet
    expect(text).toContain('hairtrigger_calibration_labelled_frames_total{kind="recall",class="WBC"} 71');
    expect(text).toContain('hairtrigger_calibration_passed_frames_total{kind="recall",class="WBC"} 68');
    expect(text).toContain('hairtrigger_calibration_threshold{kind="falseRate",class="WBC,Platelets"} 0.0105');
    expect(text).toMatch(/^hairtrigger_score_drift\{score="top"\} 1$/m);
    expect(text).toMatch(/^hairtrigger_score_drift_p_value\{score="top"\} 1e-9$/m);
    expect(text).toContain('hairtrigger_score_drift_checks_total{outcome="drift"} 4');
    expect(text).toContain('hairtrigger_score_drift_checks_total{outcome="ok"} 6');
    expect(text).not.toMatch(/^hairtrigger_calibration_cascade\S* /m); // no cut calibrated
    for (const [, name, type] of text.matchAll(/^# TYPE (hairtrigger_(?:calibration|score_drift)\S*) (\S+)$/gm)) {
      if (type === 'counter') expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
    }
  });

  it("exports a calibrated cascade cut's promise and its running share", async () => {
    const cascade = { on: 'margin' as const, cut: 0.2973, promise: 'catch' as const, target: 0.9, bound: 0.9005, n: 1205, frames: 40, sent: 36, achieved: 0.9 };
    const text = await new PrometheusExporter(() => fakeSnapshot({ calibration: { ...calibration, cascade } }), { defaultMetrics: false }).metricsText();
    expect(text).toContain('hairtrigger_calibration_cascade_cut{promise="catch",on="margin"} 0.2973');
    expect(text).toContain('hairtrigger_calibration_cascade_bound_ratio{promise="catch",on="margin"} 0.9005');
    expect(text).toContain('hairtrigger_calibration_cascade_achieved_ratio{promise="catch",on="margin"} 0.9');
    expect(text).toContain('hairtrigger_calibration_cascade_counted_frames_total{promise="catch",on="margin"} 40');
    expect(text).toContain('hairtrigger_calibration_cascade_sent_frames_total{promise="catch",on="margin"} 36');
  });

  it('leaves them empty without a calibration', async () => {
    const text = await new PrometheusExporter(() => fakeSnapshot(), { defaultMetrics: false }).metricsText();
    expect(text).not.toMatch(/^hairtrigger_(calibration|score_drift)\S* /m);
  });
});

describe('a labelled keyword replay\'s live score', () => {
  const detectionScore: NonNullable<Snapshot['detectionScore']> = {
    truth: 't.json', stream: 'speakers.wav', word: null, includeMissed: false, rules: { acceptAfterEndS: 1, debounceS: 1 },
    windows: 117, truePositives: 103, misses: 13, pending: 1, falseAlarms: 104, detections: 238, repeats: 31, otherWords: 0,
    streamS: 273.5, lengthS: 274, ended: false, falseAlarmsPerHour: 104 / (273.5 / 3600), recall: 103 / 116,
    delayMs: { count: 103, p50: -10, p90: 510, p99: 690, max: 850, mean: -17.4 },
    targets: [{ classes: ['yes', 'no'], target: 0.9, bound: 0.9024, threshold: 0.16, per: 'clip', windows: 116, detected: 103, recall: 103 / 116 }],
  };

  it('exports the counts by stream, the delay quantiles, and each recall target per detection beside its per-clip promise', async () => {
    const text = await new PrometheusExporter(() => fakeSnapshot({ detectionScore }), { defaultMetrics: false }).metricsText();
    expect(text).toContain('hairtrigger_keyword_true_positives_total{stream="speakers.wav"} 103');
    expect(text).toContain('hairtrigger_keyword_misses_total{stream="speakers.wav"} 13');
    expect(text).toContain('hairtrigger_keyword_false_alarms_total{stream="speakers.wav"} 104');
    expect(text).toContain('hairtrigger_keyword_pending_windows{stream="speakers.wav"} 1');
    expect(text).toContain(`hairtrigger_keyword_false_alarms_per_hour{stream="speakers.wav"} ${104 / (273.5 / 3600)}`);
    expect(text).toContain('hairtrigger_keyword_delay_seconds{stream="speakers.wav",quantile="0.9"} 0.51');
    expect(text).toContain('hairtrigger_keyword_delay_seconds{stream="speakers.wav",quantile="1"} 0.85');
    expect(text).toContain(`hairtrigger_keyword_target_recall_ratio{class="yes,no"} ${103 / 116}`);
    expect(text).toContain('hairtrigger_keyword_target_promise_ratio{class="yes,no"} 0.9');
    expect(text).toContain('hairtrigger_keyword_target_detected_total{class="yes,no"} 103');
    for (const [, name, type] of text.matchAll(/^# TYPE (hairtrigger_keyword_\S*) (\S+)$/gm)) {
      if (type === 'counter') expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
    }
  });

  it('leaves them empty without calibration.truth', async () => {
    const text = await new PrometheusExporter(() => fakeSnapshot(), { defaultMetrics: false }).metricsText();
    expect(text).not.toMatch(/^hairtrigger_keyword_\S* /m);
    expect(text).toContain('# TYPE hairtrigger_keyword_misses_total counter');
  });
});
