import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readCapture } from '../capture/arrow-capture.js';
import { isOperatingError } from '../core/errors.js';
import { readModelCard } from '../model/card.js';
import { createProgress, type ProgressStream } from './progress.js';
import { fileKind, filesUnder, formatAlertSummary, holdsAlerts, loadRegistry, summariseAlertFile, type InspectKind, type SchemaFolders } from './inspect-alerts.js';
import type { SchemaRegistry } from '../modalities/alerts/avro/registry.js';
import { formatWavSummary, isWavFile, summariseWav, type WavSummary } from './inspect-wav.js';

/** What `hairtrigger inspect` found about one capture. */
export interface CaptureSummary {
  path: string;
  stream: string;
  shape: number[];
  dtype: string;
  frames: number;
  /** Frames per label (unlabelled frames under "(none)"); null when the stream has no labels. */
  labels: Record<string, number> | null;
  /** Sensor time from the first frame to the last, seconds; null without sensor times. */
  durationS: number | null;
  /** Mean arrival rate over that span, frames per second. */
  rateHz: number | null;
  /** The truncation message when only complete record batches were recovered, else null. */
  truncation: string | null;
}

export interface InspectResult {
  text: string;
  json: unknown;
  /** True when a capture in the folder could not be read (the others are still listed). */
  failed: boolean;
}

/** Summarises one capture file; throws the capture's typed error when it is not one. */
export function summariseCapture(path: string): CaptureSummary {
  const cap = readCapture(path);
  let labels: Record<string, number> | null = null;
  if (cap.spec.labels !== undefined && cap.spec.labels.length > 0) {
    const names = cap.spec.labels;
    labels = Object.fromEntries(names.map((l) => [l, 0]));
    for (let i = 0; i < cap.count; i++) {
      const k = cap.labels[i];
      const name = k >= 0 && k < names.length ? names[k] : '(none)';
      labels[name] = (labels[name] ?? 0) + 1;
    }
  }
  // A loop, not Math.max(...times): a capture may hold millions of frames.
  let timed = 0;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const t of cap.sensorNs) {
    if (!Number.isFinite(t)) continue;
    timed++;
    lo = Math.min(lo, t);
    hi = Math.max(hi, t);
  }
  const spanNs = timed > 1 ? hi - lo : null;
  return {
    path, stream: cap.spec.stream, shape: [...cap.spec.shape], dtype: cap.spec.dtype, frames: cap.count, labels,
    durationS: spanNs === null ? null : spanNs / 1e9,
    rateHz: spanNs === null || spanNs === 0 ? null : ((timed - 1) * 1e9) / spanNs,
    truncation: cap.truncation?.message ?? null,
  };
}

/** One line of text per capture. */
export function formatCaptureSummary(s: CaptureSummary): string {
  const labels = s.labels === null ? 'unlabelled' : Object.entries(s.labels).map(([l, n]) => `${l} ${n}`).join(', ');
  const time = s.durationS === null ? 'no sensor times' : `${s.durationS.toFixed(3)} s${s.rateHz === null ? '' : ` (${s.rateHz.toFixed(0)} frames/s)`}`;
  return `${s.path}: ${s.stream}, [${s.shape.join(', ')}] ${s.dtype}, ${s.frames} frames, ${time}, labels: ${labels}${s.truncation === null ? '' : `; TRUNCATED: ${s.truncation}`}\n`;
}

/**
 * `hairtrigger inspect PATH`: a capture or WAV file, every capture (`*.arrows`, `*.arrow`)
 * and WAV file in a folder (with a progress bar on a terminal), or a model folder (its card). Operating errors of a
 * single capture or card are thrown; in a folder each failing capture is listed with its
 * error and `failed` is set.
 */
export function inspectPath(path: string, stream?: ProgressStream): InspectResult {
  if (existsSync(join(path, 'card.json'))) return inspectModel(path);
  if (!(existsSync(path) && statSync(path).isDirectory())) return { ...summariseFile(path, true), failed: false };
  const files = readdirSync(path).filter((f) => /\.(arrows?|wav)$/i.test(f)).sort();
  const bar = createProgress({ label: 'inspect', total: files.length, unit: 'captures', ...(stream ? { stream } : {}) });
  const out: (CaptureSummary | WavSummary | { path: string; error: string })[] = [];
  let text = '';
  let failed = false;
  files.forEach((f, i) => {
    const p = join(path, f);
    try {
      const r = summariseFile(p, false);
      out.push(r.json);
      text += r.text;
    } catch (err) {
      if (!isOperatingError(err)) throw err;
      failed = true;
      out.push({ path: p, error: err.message });
      text += `${p}: ${err.message}\n`;
    }
    bar.update(i + 1);
  });
  bar.end();
  if (files.length === 0) text = `${path}: no captures (*.arrows) or WAV files here\n`;
  return { text, json: out, failed };
}

/** A capture or a WAV file (by extension, or by its magic when `sniff`); throws its typed error. */
function summariseFile(path: string, sniff: boolean): { text: string; json: CaptureSummary | WavSummary } {
  if (isWavFile(path, sniff)) {
    const w = summariseWav(path);
    return { text: formatWavSummary(w), json: w };
  }
  const c = summariseCapture(path);
  return { text: formatCaptureSummary(c), json: c };
}

function inspectModel(dir: string): InspectResult {
  const card = readModelCard(dir);
  const raw = card.raw as { fixed?: { precision: string; agreementTop1: number; n: number }; fpga?: { latencyUs: number; latencyCycles: number; clockMhz: number; dsp: number; modelAccuracy?: string } };
  const facts = {
    dir, task: card.task, labels: card.labels, inputShape: card.inputShape, frame: card.preprocessing.frame,
    params: card.params, files: card.files, fixed: raw.fixed ?? null, fpga: raw.fpga ?? null,
  };
  const lines = [
    `${dir}: model ${card.task}, labels ${card.labels.join('/')}, input [${card.inputShape.join(', ')}] from frames ${card.preprocessing.frame.shape === null ? 'of any length' : `[${card.preprocessing.frame.shape.join(', ')}]`} ${card.preprocessing.frame.dtype}`,
    `  student ${card.params.student} params${card.params.teacher === null ? '' : `, teacher ${card.params.teacher} params`}`,
    raw.fixed ? `  firmware ${raw.fixed.precision}: top-1 agreement ${raw.fixed.agreementTop1} with float on ${raw.fixed.n} inputs` : '  firmware: not checked (hairtrigger compile --check N --card)',
    raw.fpga ? `  fpga model: ${raw.fpga.latencyCycles} cycles = ${raw.fpga.latencyUs} us at ${raw.fpga.clockMhz} MHz, ${raw.fpga.dsp} DSP` : '',
    raw.fpga?.modelAccuracy ? `  ${raw.fpga.modelAccuracy}` : '',
  ];
  return { text: lines.filter((l) => l !== '').join('\n') + '\n', json: facts, failed: false };
}

/** What `hairtrigger inspect PATH...` prints and its exit status. */
export interface InspectRun {
  text: string;
  /** JSON: one pretty document for captures and model folders alone (as before alert files);
   * one line per file and a final summary line when any path holds alert files. */
  json: string;
  /** 0: every file read (alert files with record faults included: the faults are listed);
   * 1: a capture, WAV file or model folder that does not read (in a folder or beside alert files); 2: a named path cannot be read or is of no known kind. */
  status: 0 | 1 | 2;
}

/**
 * `hairtrigger inspect PATH...`. Paths with no alert file in them are summarised as before
 * (`inspectPath`: captures, capture folders, model folders). When any path holds alert files,
 * every file is reported (folders recursed; captures and alert files read, other files skipped
 * and counted) and the JSON is one line per file; alert files are decoded with a registry
 * loaded from `schemas`.
 */
export function inspectPaths(paths: string[], schemas: SchemaFolders, stream?: ProgressStream): InspectRun {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length === 0 && !paths.some(holdsAlerts)) {
    const rs = paths.map((p) => inspectPath(p, stream));
    const json = rs.length === 1 ? rs[0].json : rs.map((r) => r.json);
    return { text: rs.map((r) => r.text).join(''), json: JSON.stringify(json, null, 2) + '\n', status: rs.some((r) => r.failed) ? 1 : 0 };
  }
  const run = new AlertInspection(schemas);
  for (const p of paths) run.path(p, stream);
  return run.finish();
}

/** Reports for one `inspect` run over paths that hold alert files. */
class AlertInspection {
  private registry: SchemaRegistry | null = null;
  private text = '';
  private readonly lines: unknown[] = [];
  private readonly totals = { files: 0, records: 0, decoded: 0, errors: 0, skipped: 0 };
  private status: 0 | 1 | 2 = 0;

  constructor(private readonly schemas: SchemaFolders) {}

  /** A named path: a file of a known kind, or a folder (recursed). */
  path(p: string, stream?: ProgressStream): void {
    if (!existsSync(p)) return this.unreadable(p, 'no such file or folder');
    if (existsSync(join(p, 'card.json'))) return this.report(p, 'model');
    if (!statSync(p).isDirectory()) {
      const kind = fileKind(p, true);
      if (kind === 'other') return this.unreadable(p, 'of no known kind (an Avro container file, a Confluent-framed record, a capture, a WAV file or a model folder)');
      return this.file(p, kind);
    }
    const files = filesUnder(p);
    const bar = createProgress({ label: 'inspect', total: files.length, unit: 'files', ...(stream ? { stream } : {}) });
    files.forEach((f, i) => {
      const kind = fileKind(f, false);
      if (kind === 'other') this.totals.skipped++;
      else this.file(f, kind);
      bar.update(i + 1);
    });
    bar.end();
  }

  private file(p: string, kind: Exclude<InspectKind, 'other'>): void {
    if (kind === 'capture' || kind === 'wav') return this.report(p, kind);
    this.registry ??= loadRegistry(this.schemas);
    const s = summariseAlertFile(p, kind, this.registry);
    this.totals.files++;
    this.totals.records += s.records;
    this.totals.decoded += s.decoded;
    this.totals.errors += s.errors.length;
    // A file whose records have faults was still read (each fault is listed): status 0, as
    // issue 10 specifies; only a path that cannot be read, or of no known kind, is 2.
    this.text += formatAlertSummary(s);
    this.lines.push(s);
  }

  /** A capture, a WAV file or a model folder, as `inspectPath` reports it, as one JSON line. */
  private report(p: string, kind: 'capture' | 'wav' | 'model'): void {
    try {
      const r = inspectPath(p);
      this.text += r.text;
      this.lines.push({ file: p, kind, ...(r.json as object) });
    } catch (err) {
      if (!isOperatingError(err)) throw err;
      if (this.status === 0) this.status = 1;
      this.text += `${p}: ${err.message}\n`;
      this.lines.push({ file: p, kind, error: err.message });
    }
  }

  private unreadable(p: string, why: string): void {
    this.status = 2;
    this.text += `${p}: ${why}\n`;
    this.lines.push({ file: p, error: why });
  }

  finish(): InspectRun {
    const t = this.totals;
    this.text += `${t.files} alert files, ${t.records} records, ${t.decoded} decoded, ${t.errors} errors; ${t.skipped} other files skipped\n`;
    this.lines.push({ kind: 'summary', ...t });
    return { text: this.text, json: this.lines.map((l) => JSON.stringify(l)).join('\n') + '\n', status: this.status };
  }
}

