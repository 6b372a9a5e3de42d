/**
 * Reader of Vivado HLS / Vitis HLS C-synthesis reports (`<top>_csynth.xml`, or the text
 * `<top>_csynth.rpt` where only that exists): the figures the latency and resource model is
 * compared with (docs/latency-model.md, hls/compiler/report-compare.ts).
 *
 * The XML goes through fast-xml-parser (already the project's XML reader). The text report has
 * no library: it is the vendor's fixed-width ASCII tables, read here by their header rows
 * (`Target device:`, the clock table, the latency summary, the utilization `Total` row under
 * the `Name | BRAM_18K | DSP48E | ...` header), so a column moved between tool versions is
 * still found by name.
 */
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { HlsReportError } from '../../host/src/core/errors.js';

/** The top-level figures of one csynth report. Latency and interval are in clock cycles. */
export interface HlsReport {
  /** The file (or label) it was read from; errors name it. */
  readonly source: string;
  /** Tool version as written (`2019.2`, `2022.2`, `2019.2.1`). */
  readonly version: string;
  readonly part: string;
  readonly clockTargetNs: number;
  readonly clockEstimatedNs: number;
  readonly latencyMin: number;
  readonly latencyMax: number;
  readonly intervalMin: number;
  readonly intervalMax: number;
  readonly bram18k: number;
  readonly dsp: number;
  readonly ff: number;
  readonly lut: number;
  readonly uram: number;
}

/** Reports larger than this are refused (the largest aggregate csynth.xml seen is 1.7 MB). */
export const HLS_REPORT_BYTES_MAX = 16 * 1024 * 1024;

/**
 * Reads the report at `path`: XML when the name ends in `.xml`, the text report otherwise.
 * Throws `HlsReportError` naming the file and the field when the file is not a complete
 * csynth report (truncated, another kind of file, a figure missing or not a number).
 */
export function readHlsReport(path: string): HlsReport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new HlsReportError(path, `cannot read the report: ${(err as Error).message}`, { cause: err });
  }
  if (text.length > HLS_REPORT_BYTES_MAX) {
    throw new HlsReportError(path, `${text.length} bytes, over the ${HLS_REPORT_BYTES_MAX} a csynth report may have`);
  }
  return path.endsWith('.xml') ? parseHlsReportXml(text, path) : parseHlsReportRpt(text, path);
}

/** A count or a duration: a finite number >= 0 (the reports write `undef` for unknown). */
function figure(value: unknown, source: string, field: string): number {
  const s = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : undefined;
  if (s === undefined || s === '') throw new HlsReportError(`${source} ${field}`, 'missing');
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) throw new HlsReportError(`${source} ${field}`, `'${s.slice(0, 40)}' is not a number >= 0`);
  return n;
}

function text(value: unknown, source: string, field: string): string {
  if (typeof value !== 'string' && typeof value !== 'number') throw new HlsReportError(`${source} ${field}`, 'missing');
  const s = String(value).trim();
  if (s === '') throw new HlsReportError(`${source} ${field}`, 'empty');
  return s;
}

type Node = Record<string, unknown>;

function child(node: unknown, key: string, source: string, path: string): Node {
  const c = node !== null && typeof node === 'object' ? (node as Node)[key] : undefined;
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new HlsReportError(`${source} ${path}${key}`, 'missing or repeated element');
  return c as Node;
}

/**
 * Parses the XML report (`<profile>` root, Vivado HLS 2019-2020 and Vitis HLS 2022 layouts;
 * the DSP count is `<DSP48E>` in the first, `<DSP>` in the second). `source` names the file
 * in errors.
 */
export function parseHlsReportXml(xml: string, source: string): HlsReport {
  let doc: unknown;
  try {
    doc = new XMLParser({ parseTagValue: false, processEntities: false }).parse(xml, true);
  } catch (err) {
    throw new HlsReportError(source, `not well-formed XML: ${(err as Error).message}`, { cause: err });
  }
  const profile = child(doc, 'profile', source, '');
  const user = child(profile, 'UserAssignments', source, 'profile/');
  const perf = child(profile, 'PerformanceEstimates', source, 'profile/');
  const timing = child(perf, 'SummaryOfTimingAnalysis', source, 'PerformanceEstimates/');
  const lat = child(perf, 'SummaryOfOverallLatency', source, 'PerformanceEstimates/');
  const res = child(child(profile, 'AreaEstimates', source, 'profile/'), 'Resources', source, 'AreaEstimates/');
  const version = text(child(profile, 'ReportVersion', source, 'profile/').Version, source, 'ReportVersion/Version');
  const dspKey = 'DSP48E' in res ? 'DSP48E' : 'DSP';
  return {
    source, version,
    part: text(user.Part, source, 'UserAssignments/Part'),
    clockTargetNs: figure(user.TargetClockPeriod, source, 'UserAssignments/TargetClockPeriod'),
    clockEstimatedNs: figure(timing.EstimatedClockPeriod, source, 'SummaryOfTimingAnalysis/EstimatedClockPeriod'),
    latencyMin: figure(lat['Best-caseLatency'], source, 'SummaryOfOverallLatency/Best-caseLatency'),
    latencyMax: figure(lat['Worst-caseLatency'], source, 'SummaryOfOverallLatency/Worst-caseLatency'),
    intervalMin: figure(lat['Interval-min'], source, 'SummaryOfOverallLatency/Interval-min'),
    intervalMax: figure(lat['Interval-max'], source, 'SummaryOfOverallLatency/Interval-max'),
    bram18k: figure(res.BRAM_18K, source, 'Resources/BRAM_18K'),
    dsp: figure(res[dspKey], source, `Resources/${dspKey}`),
    ff: figure(res.FF, source, 'Resources/FF'),
    lut: figure(res.LUT, source, 'Resources/LUT'),
    uram: figure(res.URAM ?? '0', source, 'Resources/URAM'),
  };
}

/** The cells of a `|a|b|c|` table row, trimmed; null when the line is not a table row. */
function cells(line: string): string[] | null {
  const t = line.trim();
  if (!t.startsWith('|') || !t.endsWith('|')) return null;
  return t.slice(1, -1).split('|').map((c) => c.trim());
}

/** Index of the first line at or after `from` matching `re`; throws naming `what` if none. */
function findLine(lines: string[], re: RegExp, from: number, source: string, what: string): number {
  for (let i = from; i < lines.length; i++) if (re.test(lines[i]!)) return i;
  throw new HlsReportError(`${source} ${what}`, 'not found (truncated, or not a csynth report)');
}

/** The first table data row (a row whose first cell is a number or `ap_clk`) after line `from`. */
function firstDataRow(lines: string[], from: number, source: string, what: string): string[] {
  const end = Math.min(lines.length, from + 12);
  for (let i = from + 1; i < end; i++) {
    const c = cells(lines[i]!);
    if (c !== null && c.length >= 2 && /^(\d|ap_clk|undef)/.test(c[0]!)) return c;
  }
  throw new HlsReportError(`${source} ${what}`, 'table row not found (truncated, or not a csynth report)');
}

/**
 * Parses the text report. Only the top function's summary tables are read: the clock table
 * (target, estimated), the latency summary (cycles min/max, absolute min/max, interval
 * min/max), and the `Total` row of the utilization summary, whose columns are taken from its
 * header row by name.
 */
export function parseHlsReportRpt(rpt: string, source: string): HlsReport {
  const lines = rpt.split(/\r?\n/);
  const head = findLine(lines, /^== (Vivado|Vitis) HLS Report for /, 0, source, 'report title');
  const version = /\* Version:\s+(\S+)/.exec(lines[findLine(lines, /^\* Version:/, head, source, '* Version:')]!)![1]!;
  const part = /\* Target device:\s+(\S+)/.exec(lines[findLine(lines, /^\* Target device:\s+\S/, head, source, '* Target device:')]!)![1]!;
  const clock = firstDataRow(lines, findLine(lines, /\|\s*Clock\s*\|\s*Target/, head, source, 'clock table'), source, 'clock table');
  const latAt = findLine(lines, /^\+ Latency:/, head, source, '+ Latency:');
  const lat = firstDataRow(lines, findLine(lines, /\|\s*min\s*\|\s*max\s*\|/, latAt, source, 'latency summary'), source, 'latency summary');
  if (lat.length < 6) throw new HlsReportError(`${source} latency summary`, `${lat.length} cells, want 6 or more`);
  const util = findLine(lines, /^== Utilization Estimates/, latAt, source, 'Utilization Estimates');
  const header = cells(lines[findLine(lines, /\|\s*Name\s*\|\s*BRAM_18K\s*\|/, util, source, 'utilization header')]!)!;
  const total = cells(lines[findLine(lines, /^\|Total\s*\|/, util, source, 'utilization Total row')]!)!;
  const col = (name: RegExp, field: string): number => {
    const i = header.findIndex((h) => name.test(h));
    if (i < 0 || i >= total.length) throw new HlsReportError(`${source} utilization ${field}`, 'column not found');
    return total[i] === '-' ? 0 : figure(total[i], source, `utilization ${field}`);
  };
  const ns = (cell: string, field: string): number => figure(cell.replace(/\s*ns$/, ''), source, field);
  return {
    source, version, part,
    clockTargetNs: ns(clock[1] ?? '', 'clock Target'),
    clockEstimatedNs: ns(clock[2] ?? '', 'clock Estimated'),
    latencyMin: figure(lat[0], source, 'latency min'),
    latencyMax: figure(lat[1], source, 'latency max'),
    intervalMin: figure(lat[4], source, 'interval min'),
    intervalMax: figure(lat[5], source, 'interval max'),
    bram18k: col(/^BRAM_18K$/, 'BRAM_18K'),
    dsp: col(/^DSP/, 'DSP'),
    ff: col(/^FF$/, 'FF'),
    lut: col(/^LUT$/, 'LUT'),
    uram: col(/^URAM$/, 'URAM'),
  };
}
