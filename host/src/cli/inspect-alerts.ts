import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { isOperatingError } from '../core/errors.js';
import { decodeConfluent } from '../modalities/alerts/avro/confluent.js';
import { readAlertBuffer } from '../modalities/alerts/avro/container.js';
import { SchemaRegistry } from '../modalities/alerts/avro/registry.js';
import type { AlertSchemaInfo } from '../modalities/alerts/types.js';
import { isWavFile } from './inspect-wav.js';

/**
 * `hairtrigger inspect` over astronomy alert files: Avro container files (`.avro`, or any
 * file that starts with `Obj\x01`) and bare Confluent-framed records (`.confluent`, or a named
 * file whose first byte is 0), decoded with a schema registry loaded from folders.
 */

/** What inspect found in one alert file (one JSON line with --json). */
export interface AlertFileSummary {
  file: string;
  kind: 'alerts';
  format: 'container' | 'confluent';
  codec: string | null;
  schema: { name: string; version: string | null; id: number | null } | null;
  /** Records the file holds (as its blocks declare them, as far as they could be read). */
  records: number;
  decoded: number;
  errors: { index: number; code: string; message: string }[];
}

/** The kinds of file inspect reads; `other` files in a folder are skipped and counted. */
export type InspectKind = 'alerts-container' | 'alerts-confluent' | 'capture' | 'wav' | 'other';

const CONTAINER_MAGIC = Buffer.from('Obj\x01', 'latin1');

/** The first `n` bytes of a file (fewer when it is shorter). */
function head(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * A file's kind: by extension (`.avro`, `.confluent`, `.arrows`/`.arrow`), else, for a file
 * named on the command line (`sniff`), by its first bytes (Avro container magic; a Confluent
 * magic byte 0 before at least a 4-byte id).
 */
export function fileKind(path: string, sniff: boolean): InspectKind {
  const ext = extname(path).toLowerCase();
  if (ext === '.avro') return 'alerts-container';
  if (ext === '.confluent') return 'alerts-confluent';
  if (ext === '.arrows' || ext === '.arrow') return 'capture';
  if (isWavFile(path, sniff)) return 'wav';
  if (!sniff) return 'other';
  const start = head(path, 5);
  if (start.length >= 4 && start.subarray(0, 4).equals(CONTAINER_MAGIC)) return 'alerts-container';
  if (start.length === 5 && start[0] === 0) return 'alerts-confluent';
  return 'other';
}

/** Every file under `dir`, recursively, sorted by path. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/** Whether `path` is, or is a folder holding, an alert file (so inspect reports alerts for it). */
export function holdsAlerts(path: string): boolean {
  if (!existsSync(path)) return false;
  if (!statSync(path).isDirectory()) return fileKind(path, true).startsWith('alerts');
  return filesUnder(path).some((f) => fileKind(f, false).startsWith('alerts'));
}

/** Folders of schemas for the registry; absent folders are left out. */
export interface SchemaFolders {
  rubin?: string;
  ztf?: string;
}

/** A registry with Rubin's and ZTF's schemas from `folders` (those that exist). */
export function loadRegistry(folders: SchemaFolders): SchemaRegistry {
  const reg = new SchemaRegistry();
  if (folders.rubin !== undefined && existsSync(folders.rubin)) reg.loadRubin(folders.rubin);
  if (folders.ztf !== undefined && existsSync(folders.ztf)) reg.loadZtf(folders.ztf);
  return reg;
}

function schemaOf(info: AlertSchemaInfo | null): AlertFileSummary['schema'] {
  return info === null ? null : { name: info.name, version: info.version, id: info.id };
}

/** Reads one alert file of `kind` and summarises it; decode faults are listed, never thrown. */
export function summariseAlertFile(path: string, kind: 'alerts-container' | 'alerts-confluent', registry: SchemaRegistry): AlertFileSummary {
  const buf = readFileSync(path);
  if (kind === 'alerts-container') {
    const r = readAlertBuffer(buf, path, registry);
    const errors = r.errors.map((e) => ({ index: e.index, code: e.reason, message: e.message }));
    return { file: path, kind: 'alerts', format: 'container', codec: r.codec, schema: schemaOf(r.schema), records: r.records, decoded: r.alerts.length, errors };
  }
  try {
    const a = decodeConfluent(buf, registry, path);
    return { file: path, kind: 'alerts', format: 'confluent', codec: null, schema: schemaOf(a.schema), records: 1, decoded: 1, errors: [] };
  } catch (err) {
    if (!isOperatingError(err)) throw err;
    const reason = (err as { reason?: string }).reason ?? err.code;
    const id = buf.length >= 5 ? buf.readUInt32BE(1) : null;
    const schema = id === null ? null : registry.get(id)?.info ?? null;
    return { file: path, kind: 'alerts', format: 'confluent', codec: null, schema: schemaOf(schema), records: 1, decoded: 0, errors: [{ index: 0, code: reason, message: err.message }] };
  }
}

/** One line of text per alert file, then one per fault. */
export function formatAlertSummary(s: AlertFileSummary): string {
  const schema = s.schema === null ? 'no schema' : `schema ${s.schema.name}${s.schema.version === null ? '' : ` ${s.schema.version}`}${s.schema.id === null ? '' : ` (id ${s.schema.id})`}`;
  const codec = s.format === 'container' ? ` codec ${s.codec ?? '?'},` : '';
  let text = `${s.file}: alerts, ${s.format},${codec} ${schema}, ${s.records} records, ${s.decoded} decoded${s.errors.length === 0 ? '' : `, ${s.errors.length} errors`}\n`;
  for (const e of s.errors) text += `  record ${e.index}: ${e.code}: ${e.message}\n`;
  return text;
}
