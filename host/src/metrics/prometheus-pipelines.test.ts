import { describe, expect, it } from 'vitest';
import { fakeSnapshot, sampleValue } from '../server/testing.js';
import { PrometheusExporter } from './prometheus.js';
import { mergeExpositions, PipelineExpositions } from './prometheus-pipelines.js';

/** Sample lines (no comments, no blanks) of an exposition. */
const samples = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

describe('PipelineExpositions', () => {
  const a = fakeSnapshot({ pipeline: 'cells', frames: 1000, triggers: 10 });
  const b = fakeSnapshot({ pipeline: 'words', frames: 77, triggers: 3 });
  const exporters = [a, b].map((s) => new PrometheusExporter(() => s, { defaultMetrics: false, labels: { pipeline: s.pipeline } }));
  const merged = new PipelineExpositions(exporters);

  it('has each family once (HELP and TYPE once), every pipeline\'s samples under it with its label', async () => {
    const text = await merged.metricsText();
    const typeLines = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(new Set(typeLines).size).toBe(typeLines.length);
    const helpNames = text.split('\n').filter((l) => l.startsWith('# HELP ')).map((l) => l.split(' ')[2]);
    expect(new Set(helpNames).size).toBe(helpNames.length);
    expect(sampleValue(text, 'hairtrigger_frames_total{pipeline="cells"}')).toBe(1000);
    expect(sampleValue(text, 'hairtrigger_frames_total{pipeline="words"}')).toBe(77);
    expect(sampleValue(text, 'hairtrigger_triggers_total{pipeline="words"}')).toBe(3);
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    // The text format's rule: a family's samples follow its TYPE line, before the next family's.
    let family = '';
    for (const line of text.split('\n')) {
      if (line.startsWith('# TYPE ')) family = line.split(' ')[2]!;
      else if (line.startsWith('hairtrigger_')) expect(line.startsWith(family), `${line} under ${family}`).toBe(true);
    }
  });

  it('holds exactly the samples of each pipeline rendered alone', async () => {
    const text = await merged.metricsText();
    const alone = (await Promise.all(exporters.map((e) => e.metricsText()))).flatMap(samples);
    const ours = samples(text).filter((l) => l.startsWith('hairtrigger_'));
    expect(ours.sort()).toEqual(alone.sort());
  });

  it('mergeExpositions keeps the first HELP/TYPE and gathers samples in order', () => {
    const one = '# HELP x_total X.\n# TYPE x_total counter\nx_total{p="1"} 1\n\n# HELP y Y.\n# TYPE y gauge\ny{p="1"} 5\n';
    const two = '# HELP x_total X.\n# TYPE x_total counter\nx_total{p="2"} 2\n';
    expect(mergeExpositions([one, two])).toBe('# HELP x_total X.\n# TYPE x_total counter\nx_total{p="1"} 1\nx_total{p="2"} 2\n\n# HELP y Y.\n# TYPE y gauge\ny{p="1"} 5\n');
  });
});
