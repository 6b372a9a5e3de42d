import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AlertDecodeError, SourceError } from '../../../core/errors.js';
import { limits } from '../../../core/limits.js';
import { readAlertFile, type AlertFile } from '../avro/container.js';
import { compileWriterSchema, type WriterSchema } from '../avro/schema.js';
import { registerRecordBase } from '../record-bases.js';
import type { AlertSchemaInfo, AlertView } from '../types.js';
import { buildTimeline, type AlertTimeline, type LoadedAlertFile } from './timeline.js';

/**
 * The alert files that `paths` name: files as given, folders recursed for `*.avro`, in path
 * order, each once. A path that does not exist is a SourceError (a config fault).
 */
export function listAlertFiles(paths: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      throw new SourceError(p, `no such alert file or folder (${(err as Error).message})`, { cause: err });
    }
    if (!isDir) {
      out.add(p);
      continue;
    }
    for (const e of readdirSync(p, { recursive: true, withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith('.avro')) out.add(join(e.parentPath, e.name));
    }
  }
  return [...out].sort();
}

/**
 * Reads one Avro container file for a source: each record's bytes (views into the file or its
 * decompressed blocks, each such buffer registered with the writer schema for the decoder)
 * and its observation time. The container reader decodes every record once here (for the
 * time); the decode stage decodes it again when it is replayed. Never throws for bad input: an
 * unreadable file, a broken block or a record without an observation time is an
 * AlertDecodeError in `errors`, and every other record is kept.
 */
export function loadAlertFile(path: string): LoadedAlertFile {
  let file: AlertFile;
  try {
    file = readAlertFile(path);
  } catch (err) {
    return emptyFile(path, [new AlertDecodeError({ file: path, index: 0, schema: null }, 'unreadable', (err as Error).message, { cause: err })]);
  }
  const errors = [...file.errors];
  const kept = file.alerts.filter((a) => {
    if (Number.isFinite(a.jd)) return true;
    errors.push(new AlertDecodeError({ file: path, index: a.index, schema: a.schema.name }, 'no-time', `the record has no observation time (candidate.jd / diaSource.midpointMjdTai) to order it by`));
    return false;
  });
  if (file.schema === null || kept.length === 0) return emptyFile(path, errors);
  const base = registerBases(kept, compiledSchema(file.schema), path);
  return {
    path,
    base,
    offset: Int32Array.from(kept, (a) => a.bytes.byteOffset),
    length: Int32Array.from(kept, (a) => a.bytes.byteLength),
    jd: Float64Array.from(kept, (a) => a.jd),
    index: Int32Array.from(kept, (a) => a.index),
    errors,
  };
}

// The container reader reports a file's schema as its info; the decoder needs it compiled.
// Files with one header share one info object, so each distinct schema is compiled once.
const compiled = new WeakMap<AlertSchemaInfo, WriterSchema>();

/** The compiled writer schema of `info` (a container header's), keeping `info` (and its registry id). */
function compiledSchema(info: AlertSchemaInfo): WriterSchema {
  let w = compiled.get(info);
  if (w === undefined) {
    w = { ...compileWriterSchema(info.json, info.id), info };
    compiled.set(info, w);
  }
  return w;
}

/** One base a buffer the records lie in (the file, or each decompressed block), registered; the base of each record. */
function registerBases(alerts: readonly AlertView[], schema: WriterSchema, path: string): Buffer[] {
  const groups = new Map<ArrayBufferLike, { base: Buffer; starts: number[]; indexes: number[] }>();
  const out = alerts.map((a) => {
    let g = groups.get(a.bytes.buffer);
    if (g === undefined) {
      g = { base: Buffer.from(a.bytes.buffer), starts: [], indexes: [] };
      groups.set(a.bytes.buffer, g);
    }
    g.starts.push(a.bytes.byteOffset);
    g.indexes.push(a.index);
    return g.base;
  });
  for (const g of groups.values()) registerRecordBase(g.base, { schema, source: path, starts: Int32Array.from(g.starts), indexes: Int32Array.from(g.indexes) });
  return out;
}

function emptyFile(path: string, errors: AlertDecodeError[]): LoadedAlertFile {
  return { path, base: [], offset: new Int32Array(0), length: new Int32Array(0), jd: new Float64Array(0), index: new Int32Array(0), errors };
}

/**
 * Loads `files` (see `loadAlertFile`) into one observation-order timeline; their bytes must
 * fit `limits.alertReplayBytesMax` (a SourceError names the total when they do not).
 */
export function loadAlertFiles(files: readonly string[]): { timeline: AlertTimeline; errors: AlertDecodeError[] } {
  let bytes = 0;
  for (const f of files) bytes += statSync(f, { throwIfNoEntry: false })?.size ?? 0;
  if (bytes > limits.alertReplayBytesMax) {
    throw new SourceError(`${files.length} alert files`, `${bytes} bytes exceed alertReplayBytesMax ${limits.alertReplayBytesMax}: replay fewer files at a time, or watch the folder (alerts-watch)`);
  }
  const loaded = files.map(loadAlertFile);
  return { timeline: buildTimeline(loaded), errors: loaded.flatMap((l) => l.errors) };
}
