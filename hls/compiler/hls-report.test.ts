import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HlsReportError } from '../../host/src/core/errors.js';
import { parseHlsReportRpt, parseHlsReportXml, readHlsReport, type HlsReport } from './hls-report.js';
import { HLS_REPORTS_DIR, PUBLISHED_DESIGNS } from './published-designs.js';

const SEED = 20261207;

/**
 * The README's results table (../shared/reference/hls-reports/README.md), read as text: for a
 * row whose first cell starts with `key`, the latency, interval and BRAM/DSP/FF/LUT figures of
 * the top function (the first numbers of each cell; the axi wrapper's follow in brackets).
 */
function readmeRow(key: string): { latency: number[]; ii: number[]; res: number[]; part: string } {
  const readme = readFileSync(resolve(HLS_REPORTS_DIR, 'README.md'), 'utf8');
  const row = readme.split('\n').find((l) => l.startsWith(`| ${key}`));
  if (row === undefined) throw new Error(`README has no row starting with ${key}`);
  const cells = row.split('|').slice(1, -1).map((c) => c.trim());
  const nums = (c: string): number[] => c.split(/[ (;]/)[0]!.split('/').map(Number);
  return { part: cells[6]!.replace(/^report: /, '').split(' ')[0]!, latency: nums(cells[9]!), ii: nums(cells[10]!), res: nums(cells[11]!) };
}

/** README row key of each design (the first cell's text). */
const README_KEY: Record<string, string> = {
  'jet-mlp-vitis2022-r1': 'jet-mlp-vitis2022 ',
  'jet-mlp-vivado2019-r1': 'jet-mlp-tutorial-fork-vivado2019 `model_1/hls4ml_prj`',
  'jet-mlp-vivado2019-r2': '... `model_1/hls4ml_prj_2`',
  'jet-mlp-vu9p-r1': 'jet-mlp-keras3layer-vu9p',
  'jet-mlp-pruned75-q6': '... `model_3/hls4ml_prj` ',
  'jet-mlp-pruned75-q6-r64-pynq': '... `model_3/hls4ml_prj_pynq`',
  'mlp-4-128-3-r1': 'dnnonsilicon `Dummy_RF1_no_pruning`',
  'mlp-4-128-3-r16-pruned75': 'dnnonsilicon `Dummy_RF16_with_pruning75`',
  'l1-jet-tagger-conv1d': 'l1-jet-tagger-qkeras-conv1d',
  'dense16x5-stream': 'hls4ml-test-dense16x5-z7020',
  'mnist-cnn-stream-r1': 'dnnonsilicon `MNIST_original`',
  'mnist-cnn-stream-r16': 'dnnonsilicon `MNIST_R16`',
  'svhn-cnn-stream-pruned50': 'svhn-cnn-tutorial-vivado2020 `pruned_cnn`',
  'svhn-cnn-stream-pruned50-q6': '... `quantized_pruned_cnn`',
  'mnist-conv-autoencoder': 'mnist-conv-autoencoder-resource-pynqz2',
};

describe('csynth reports against the README table', () => {
  for (const d of PUBLISHED_DESIGNS) {
    it(`${d.id}: part, latency, interval, BRAM/DSP/FF/LUT as the README lists them`, () => {
      const r = readHlsReport(resolve(HLS_REPORTS_DIR, d.report));
      const want = readmeRow(README_KEY[d.id]!);
      expect(r.part).toBe(want.part);
      expect([r.latencyMin, r.latencyMax]).toEqual(want.latency);
      expect([r.intervalMin, r.intervalMax]).toEqual(want.ii);
      expect([r.bram18k, r.dsp, r.ff, r.lut]).toEqual(want.res);
      expect(r.clockTargetNs).toBeGreaterThan(r.clockEstimatedNs);
    });
  }

  it('the XML and the text report of the same run agree on every figure', () => {
    const pairs = PUBLISHED_DESIGNS.filter((d) => d.report.endsWith('.xml'));
    expect(pairs.length).toBeGreaterThan(8);
    for (const d of pairs) {
      const xml = readHlsReport(resolve(HLS_REPORTS_DIR, d.report));
      const rpt = readHlsReport(resolve(HLS_REPORTS_DIR, d.report.replace(/\.xml$/, '.rpt')));
      expect({ ...rpt, source: '' }).toEqual({ ...xml, source: '' });
    }
  });
});

const JET_XML = resolve(HLS_REPORTS_DIR, PUBLISHED_DESIGNS[0]!.report);
const SVHN_RPT = resolve(HLS_REPORTS_DIR, PUBLISHED_DESIGNS.find((d) => d.report.endsWith('.rpt'))!.report);

function expectTyped(run: () => HlsReport, where: string): void {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(HlsReportError);
    expect((err as HlsReportError).code).toBe('E_HLS_REPORT');
    expect((err as HlsReportError).where.startsWith(where)).toBe(true);
    return;
  }
  throw new Error('expected an HlsReportError');
}

describe('truncated and hostile reports', () => {
  const xml = readFileSync(JET_XML, 'utf8');
  const rpt = readFileSync(SVHN_RPT, 'utf8');
  // Where the summary figures end: a report cut before this lacks one of them.
  const xmlSummaryEnd = xml.indexOf('</AreaEstimates>');
  const rptSummaryEnd = rpt.indexOf('|Total');

  it('a report cut anywhere before its summary ends is a typed error naming the file', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: xmlSummaryEnd - 1 }), (n) => expectTyped(() => parseHlsReportXml(xml.slice(0, n), 'cut.xml'), 'cut.xml')),
      { seed: SEED, numRuns: 200 });
    fc.assert(fc.property(fc.integer({ min: 0, max: rptSummaryEnd - 1 }), (n) => expectTyped(() => parseHlsReportRpt(rpt.slice(0, n), 'cut.rpt'), 'cut.rpt')),
      { seed: SEED, numRuns: 200 });
  });

  it('arbitrary text never throws anything but the typed error', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (s) => {
      expectTyped(() => parseHlsReportXml(s, 'any.xml'), 'any.xml');
      expectTyped(() => parseHlsReportRpt(s, 'any.rpt'), 'any.rpt');
    }), { seed: SEED, numRuns: 300 });
  });

  it('a figure that is not a number names the field', () => {
    const bad = xml.replace('<Worst-caseLatency>15</Worst-caseLatency>', '<Worst-caseLatency>undef</Worst-caseLatency>');
    expect(() => parseHlsReportXml(bad, 'j.xml')).toThrow(/E_HLS_REPORT at j\.xml SummaryOfOverallLatency\/Worst-caseLatency: 'undef' is not a number/);
    const neg = rpt.replace('|Total                |      100|', '|Total                |     -100|');
    expect(() => parseHlsReportRpt(neg, 's.rpt')).toThrow(/E_HLS_REPORT at s\.rpt utilization BRAM_18K/);
  });

  it('a missing element names its path; a file that is not there names the file', () => {
    expect(() => parseHlsReportXml(xml.replace(/<AreaEstimates>[\s\S]*<\/AreaEstimates>/, ''), 'j.xml')).toThrow(/j\.xml profile\/AreaEstimates: missing/);
    expectTyped(() => readHlsReport('/nonexistent/myproject_csynth.xml'), '/nonexistent/myproject_csynth.xml');
  });

  it('a DOCTYPE with nested entities (billion laughs) ends in the typed error, unexpanded', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><profile><ReportVersion><Version>&b;</Version></ReportVersion></profile>`;
    expectTyped(() => parseHlsReportXml(bomb, 'bomb.xml'), 'bomb.xml');
  });
});
