import { ConfigError } from '../../../core/errors.js';
import type { SchemaRegistry } from '../avro/registry.js';

/**
 * The field catalogue of a writer schema: every dotted path a filter may name, with the kind
 * of value `AlertView.field` returns for it. Built from the schema JSON by a walk of our own
 * rather than by avsc's parser, because avsc rejects real packets' schemas over things a
 * catalogue does not need (Fink's Spark-written schemas give unions `null` defaults that do
 * not match their first branch), and only names and types matter here.
 */

/** What a path holds, as the expression language sees it (int/long/float/double are `number`; enums are `string`). */
export type FieldKind = 'number' | 'string' | 'boolean' | 'bytes' | 'array' | 'map' | 'record' | 'union' | 'null';

/** One path of the catalogue. */
export interface FieldInfo {
  /** Full dotted path from the top-level record (`candidate.magpsf`). */
  readonly path: string;
  readonly kind: FieldKind;
  /** A union with null: the packet may hold null here. */
  readonly nullable: boolean;
}

const PRIMITIVE: Record<string, FieldKind> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'bytes',
  string: 'string',
};

/**
 * The record a bare name is looked up in when it is not a top-level field: `candidate` for a
 * ZTF layout (top level has `candidate` and `objectId`), `diaSource` for Rubin; none else.
 * The same rule as alert-view.ts's survey detection and `field`.
 */
export function innerRecord(topLevel: ReadonlySet<string>): 'candidate' | 'diaSource' | null {
  if (topLevel.has('candidate') && topLevel.has('objectId')) return 'candidate';
  return topLevel.has('diaSource') ? 'diaSource' : null;
}

type Json = Record<string, unknown>;

/** Named types of a schema by full name (Avro naming rules: a dotted name is full, else the namespace is inherited). */
class NamedTypes {
  readonly byName = new Map<string, Json>();

  fullName(def: Json, ns: string): string {
    const name = String(def.name);
    if (name.includes('.')) return name;
    const space = typeof def.namespace === 'string' ? def.namespace : ns;
    return space === '' ? name : `${space}.${name}`;
  }

  /** The namespace a named type's own fields inherit. */
  innerNamespace(full: string): string {
    const dot = full.lastIndexOf('.');
    return dot < 0 ? '' : full.slice(0, dot);
  }

  /** Records every named type inside `schema` (so references to it resolve anywhere). */
  collect(schema: unknown, ns: string): void {
    if (Array.isArray(schema)) for (const s of schema) this.collect(s, ns);
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return;
    const s = schema as Json;
    if (s.type === 'record' || s.type === 'error' || s.type === 'enum' || s.type === 'fixed') {
      const full = this.fullName(s, ns);
      this.byName.set(full, s);
      for (const f of (s.fields as Json[] | undefined) ?? []) this.collect(f.type, this.innerNamespace(full));
    } else if (s.type === 'array') this.collect(s.items, ns);
    else if (s.type === 'map') this.collect(s.values, ns);
    else if (typeof s.type === 'object') this.collect(s.type, ns);
  }

  /** The definition a string reference names, or undefined. */
  lookup(ref: string, ns: string): { def: Json; full: string } | undefined {
    const candidates = ref.includes('.') || ns === '' ? [ref] : [`${ns}.${ref}`, ref];
    for (const full of candidates) {
      const def = this.byName.get(full);
      if (def !== undefined) return { def, full };
    }
    return undefined;
  }
}

/** The catalogue of one writer schema. */
export class FieldCatalogue {
  /** Full name of the top-level record (`ztf.alert`, `lsst.v9_0.alert`, `topLevelRecord`). */
  readonly name: string;
  /** Every path, records included; an array's items are under `<array>.#` (maps are not entered). */
  readonly fields: ReadonlyMap<string, FieldInfo>;
  private readonly topLevel: ReadonlySet<string>;
  private readonly inner: string | null;

  private constructor(name: string, fields: Map<string, FieldInfo>) {
    this.name = name;
    this.fields = fields;
    this.topLevel = new Set([...fields.keys()].filter((p) => !p.includes('.')));
    this.inner = innerRecord(this.topLevel);
  }

  /**
   * Builds the catalogue of a self-contained writer schema (what a container header or a
   * registry holds: every named type defined once, referenced by name after). A schema that
   * is not a record, or names a type it does not define, is a ConfigError naming `where`.
   */
  static fromSchema(json: unknown, where: string): FieldCatalogue {
    const names = new NamedTypes();
    names.collect(json, '');
    if (json === null || typeof json !== 'object' || (json as Json).type !== 'record') {
      throw new ConfigError(where, 'the writer schema is not an Avro record');
    }
    const top = json as Json;
    const full = names.fullName(top, '');
    const fields = new Map<string, FieldInfo>();
    walkRecord(top, '', names.innerNamespace(full), names, fields, new Set([full]), where);
    return new FieldCatalogue(full, fields);
  }

  /**
   * Resolves `path` with the rule `AlertView.field` follows: a path whose first name is a
   * top-level field is taken from the top; otherwise it is looked up inside `candidate` (ZTF,
   * Fink's `topLevelRecord` too) or `diaSource` (Rubin) (`innerRecord`). A numeric segment
   * indexes an array (`prv_candidates.0.magpsf`); the item may be absent in a given packet.
   */
  resolve(path: string): FieldInfo | undefined {
    const key = path.replace(/(^|\.)\d+(?=\.|$)/g, '$1#');
    const first = key.split('.', 1)[0];
    if (this.topLevel.has(first) || this.inner === null) return this.fields.get(key);
    return this.fields.get(`${this.inner}.${key}`);
  }

  /** Up to `max` paths spelled close to `path` (by edit distance, on the full path and its last name). */
  closeMatches(path: string, max = 3): string[] {
    const scored: Array<{ p: string; d: number }> = [];
    const last = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
    for (const p of this.fields.keys()) {
      const d = Math.min(editDistance(path.toLowerCase(), p.toLowerCase()), editDistance(last, p.slice(p.lastIndexOf('.') + 1).toLowerCase()));
      if (d <= Math.max(2, Math.floor(last.length / 3))) scored.push({ p, d });
    }
    scored.sort((a, b) => a.d - b.d || a.p.length - b.p.length);
    return scored.slice(0, max).map((s) => s.p);
  }
}

function walkRecord(rec: Json, prefix: string, ns: string, names: NamedTypes, out: Map<string, FieldInfo>, open: Set<string>, where: string): void {
  for (const f of rec.fields as Json[]) {
    const path = prefix === '' ? String(f.name) : `${prefix}.${String(f.name)}`;
    walkType(f.type, path, ns, names, out, open, where, false);
  }
}

/** Adds `path` with the kind of `type`, and the paths inside it when it is a record. */
function walkType(type: unknown, path: string, ns: string, names: NamedTypes, out: Map<string, FieldInfo>, open: Set<string>, where: string, nullable: boolean): void {
  if (Array.isArray(type)) {
    const branches = type.filter((t) => t !== 'null' && !(typeof t === 'object' && t !== null && (t as Json).type === 'null'));
    const isNullable = branches.length < type.length;
    // A union of several non-null branches has no single kind: listed as `union`, which an
    // expression cannot use (the checker says so).
    if (branches.length === 1) walkType(branches[0], path, ns, names, out, open, where, isNullable);
    else out.set(path, { path, kind: branches.length === 0 ? 'null' : 'union', nullable: true });
    return;
  }
  if (typeof type === 'string') {
    if (PRIMITIVE[type] !== undefined) {
      out.set(path, { path, kind: PRIMITIVE[type], nullable });
      return;
    }
    const named = names.lookup(type, ns);
    if (named === undefined) throw new ConfigError(where, `field ${path} names the type ${type}, which the schema does not define`);
    return walkNamed(named.def, named.full, path, names, out, open, where, nullable);
  }
  const t = type as Json;
  if (typeof t.type === 'string' && PRIMITIVE[t.type] !== undefined) return walkType(t.type, path, ns, names, out, open, where, nullable);
  if (t.type === 'array' || t.type === 'map') {
    out.set(path, { path, kind: t.type, nullable });
    // An index past the end reads as absent, so items count as nullable.
    if (t.type === 'array') walkType(t.items, `${path}.#`, ns, names, out, open, where, true);
    return;
  }
  walkNamed(t, names.fullName(t, ns), path, names, out, open, where, nullable);
}

function walkNamed(def: Json, full: string, path: string, names: NamedTypes, out: Map<string, FieldInfo>, open: Set<string>, where: string, nullable: boolean): void {
  if (def.type === 'enum') return void out.set(path, { path, kind: 'string', nullable });
  if (def.type === 'fixed') return void out.set(path, { path, kind: 'bytes', nullable });
  out.set(path, { path, kind: 'record', nullable });
  // A record that contains itself (a linked list) is listed once: its inner paths are infinite.
  if (open.has(full)) return;
  open.add(full);
  walkRecord(def, path, names.innerNamespace(full), names, out, open, where);
  open.delete(full);
}

/**
 * The catalogues of every schema a registry holds (the writer schemas the stream may carry:
 * `SchemaRegistry.loadZtf` / `loadRubin` read them from their folders at start-up).
 */
export function registryCatalogues(registry: SchemaRegistry): FieldCatalogue[] {
  return registry.ids().map((id) => FieldCatalogue.fromSchema(registry.get(id)!.info.json, `schema ${id}`));
}

/**
 * Levenshtein distance, for "did you mean" suggestions at start-up only. Written here: it is
 * ten lines, and no dependency of the project offers it.
 */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
