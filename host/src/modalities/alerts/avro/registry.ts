import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AlertDecodeError, ConfigError } from '../../../core/errors.js';
import { limits } from '../../../core/limits.js';
import type { AlertSchemaInfo } from '../types.js';
import { compileWriterSchema, type WriterSchema } from './schema.js';

/**
 * Alert schemas by id, as a Kafka schema registry serves them to Confluent-framed messages:
 * Rubin's id is major*100 + minor (9.0 = 900, 11.0 = 1100), ZTF 4.02 is 402. Schemas are
 * loaded at run time from the folders their projects publish (Rubin's alert_packet schemas
 * are GPL-3.0: they are never copied into this repository).
 */

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The named types (record, enum, fixed) of a folder's `.avsc` files, by full name. */
function namedTypes(files: string[]): Map<string, { [key: string]: Json }> {
  const out = new Map<string, { [key: string]: Json }>();
  for (const file of files) {
    const json = JSON.parse(readFileSync(file, 'utf8')) as { [key: string]: Json };
    const name = String(json.name);
    out.set(name.includes('.') || typeof json.namespace !== 'string' ? name : `${json.namespace}.${name}`, json);
  }
  return out;
}

/**
 * `schema` with every reference to a type of `named` replaced by its definition where it is
 * first used (later uses stay references, as Avro requires): one self-contained schema, what a
 * container file's header and a topic writer need.
 */
function inline(schema: Json, named: Map<string, { [key: string]: Json }>, namespace: string, done: Set<string>): Json {
  if (typeof schema === 'string') {
    if (PRIMITIVES.has(schema)) return schema;
    const full = schema.includes('.') ? schema : `${namespace}.${schema}`;
    const def = named.get(full) ?? named.get(schema);
    if (def === undefined || done.has(full)) return schema;
    return inline(def, named, namespace, done);
  }
  if (Array.isArray(schema)) return schema.map((s) => inline(s, named, namespace, done));
  if (schema === null || typeof schema !== 'object') return schema;
  const ns = typeof schema.namespace === 'string' ? schema.namespace : namespace;
  if (typeof schema.name === 'string' && (schema.type === 'record' || schema.type === 'enum' || schema.type === 'fixed')) {
    done.add(schema.name.includes('.') ? schema.name : `${ns}.${schema.name}`);
  }
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'type' || key === 'items' || key === 'values') out[key] = inline(value, named, ns, done);
    else if (key === 'fields' && Array.isArray(value)) out[key] = value.map((f) => ({ ...(f as object), type: inline((f as { type: Json }).type, named, ns, done) }));
    else out[key] = value;
  }
  return out;
}

/** The `.avsc` files directly in `dir`, sorted. */
function avscFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.avsc'))
    .sort()
    .map((f) => join(dir, f));
}

/** Schemas by id, and ids by fingerprint (Parsing Canonical Form): what frames and container files are matched against. */
export class SchemaRegistry {
  private readonly byId = new Map<number, WriterSchema>();
  private readonly idByFingerprint = new Map<string, number>();

  /** Registers `schema` (a self-contained schema as JSON) under `id`; replaces an earlier one of that id. */
  register(id: number, schema: unknown): WriterSchema {
    if (!this.byId.has(id) && this.byId.size >= limits.alertSchemasMax) {
      throw new ConfigError(`schema registry id ${id}`, `the registry already holds ${this.byId.size} schemas (limits.alertSchemasMax)`);
    }
    const compiled = compileWriterSchema(schema, id);
    this.byId.set(id, compiled);
    this.idByFingerprint.set(compiled.fingerprint, id);
    return compiled;
  }

  /** The schema registered as `id`, or undefined. */
  get(id: number): WriterSchema | undefined {
    return this.byId.get(id);
  }

  /** Every registered id, ascending. */
  ids(): number[] {
    return [...this.byId.keys()].sort((a, b) => a - b);
  }

  /** `schema`'s info with the id of the registered schema that encodes alike (same canonical form), id null when none does. */
  identify(schema: WriterSchema): AlertSchemaInfo {
    const id = this.idByFingerprint.get(schema.fingerprint) ?? null;
    return id === schema.info.id ? schema.info : { ...schema.info, id };
  }

  /**
   * Registers one folder's schemas: the `.avsc` files in `dir`, each named type inlined where
   * the top-level one (`top`, a full name) first uses it. Throws the fs or JSON error of a file
   * that cannot be read, avsc's of a schema that does not compile.
   */
  loadFolder(dir: string, top: string, id: number): WriterSchema {
    const named = namedTypes(avscFiles(dir));
    const root = named.get(top);
    if (root === undefined) throw new AlertDecodeError({ file: dir, index: 0, schema: top }, 'unknown-schema', `no .avsc file there defines ${top} (found ${[...named.keys()].join(', ')})`);
    return this.register(id, inline(root, named, '', new Set()));
  }

  /**
   * Registers Rubin's schemas from lsst/alert_packet's layout, `<dir>/<major>/<minor>/lsst.v<major>_<minor>.*.avsc`,
   * each as id major*100 + minor. Returns the ids registered.
   */
  loadRubin(dir: string): number[] {
    const ids: number[] = [];
    for (const major of readdirSync(dir).filter((d) => /^\d+$/.test(d))) {
      for (const minor of readdirSync(join(dir, major)).filter((d) => /^\d+$/.test(d))) {
        const id = Number(major) * 100 + Number(minor);
        this.loadFolder(join(dir, major, minor), `lsst.v${major}_${minor}.alert`, id);
        ids.push(id);
      }
    }
    return ids.sort((a, b) => a - b);
  }

  /** Registers ZTF's schema from ztf-avro-alert's `schema/` folder (`ztf.alert`, 4.02: id 402 unless given). */
  loadZtf(dir: string, id = 402): WriterSchema {
    return this.loadFolder(dir, 'ztf.alert', id);
  }
}
