import jsep from 'jsep';
import { ConfigError, FilterError } from '../../../core/errors.js';
import type { AlertView } from '../types.js';
import { editDistance, type FieldCatalogue } from './catalogue.js';
import { SCORE_NAMES, type Scores } from './scores.js';

/**
 * The filter expression language: jsep parses, a checker walks the tree once at start-up
 * (every name resolved, every operator given operands of the right kind) and turns it into a
 * tree of closures; evaluating a filter calls them and parses nothing.
 *
 * Null semantics are SQL's three-valued logic: a comparison or arithmetic with a null operand
 * is *unknown* (null); `!unknown` is unknown; `false && unknown` is false and
 * `true || unknown` is true, else `&&`/`||` with an unknown operand are unknown; a filter
 * matches only when its value is true. `x == null` / `x != null` (the literal `null`) test for
 * null, as SQL's IS NULL does, and are never unknown. NaN (Rubin writes it for unmeasured
 * floats) counts as null, and so does arithmetic that gives no finite number (x/0, as SQL's
 * division by zero). A field the alert's packet lacks (undefined, not null) is a
 * FilterError for that alert.
 *
 * Longs arrive as bigint: comparisons with them are exact (an integer literal past 2^53 is
 * read as a bigint too); arithmetic converts them to doubles.
 */

// `in` is not a jsep operator by default; it binds like the other relational operators.
jsep.addBinaryOp('in', 7);

/** A value during evaluation. */
export type Value = number | bigint | string | boolean | null;
type Eval = (a: AlertView, s: Scores) => Value;
type Kind = 'number' | 'string' | 'boolean' | 'null';

interface Node {
  kind: Kind;
  ev: Eval;
  /** Set for a literal (and a negated numeric literal): its value. */
  constant?: { value: Value };
  /** Set when the node is the `class` score (for checking the class names compared with it). */
  isClass?: boolean;
}

/** What a filter is checked against. */
export interface CheckContext {
  /** The filter's name, for messages. */
  filter: string;
  /** The writer schemas the stream may carry: a field must be in at least one, with one kind. */
  catalogues: readonly FieldCatalogue[];
  /** The transient classifier's class names, in probability order. */
  classes: readonly string[];
  /** Packet paths the expression reads (filled by the checker). */
  fields: Set<string>;
}

/** A checked, compiled expression: `ev` returns true, false or null (unknown). */
export interface CompiledExpression {
  ev: (a: AlertView, s: Scores) => Value;
  /** The packet paths it reads, as written (resolved by `AlertView.field`'s rule). */
  fields: readonly string[];
}

/**
 * Parses and checks `source`; a syntax error, an unknown name, an unsupported construct or a
 * kind mismatch is a ConfigError naming the filter (and the field, with close matches).
 */
export function compileExpression(source: string, ctx: Omit<CheckContext, 'fields'>): CompiledExpression {
  let tree: jsep.Expression;
  try {
    tree = jsep(source);
  } catch (err) {
    throw new ConfigError(`filter "${ctx.filter}"`, `cannot parse ${JSON.stringify(source)}: ${(err as Error).message}`, { cause: err });
  }
  const full: CheckContext = { ...ctx, fields: new Set() };
  const node = check(tree, full);
  if (node.kind !== 'boolean') fail(full, `the expression is a ${node.kind}, not a condition (compare it with something)`);
  return { ev: node.ev, fields: [...full.fields] };
}

function fail(ctx: CheckContext, message: string): never {
  throw new ConfigError(`filter "${ctx.filter}"`, message);
}

function check(n: jsep.Expression, ctx: CheckContext): Node {
  switch (n.type) {
    case 'Literal':
      return literal(n as jsep.Literal, ctx);
    case 'Identifier':
    case 'MemberExpression':
      return name(n, ctx);
    case 'UnaryExpression':
      return unary(n as jsep.UnaryExpression, ctx);
    case 'BinaryExpression':
      return binary(n as jsep.BinaryExpression, ctx);
    default:
      return fail(ctx, `${n.type} is not part of the filter language (literals, fields, scores, ! && || comparisons + - * / in [...])`);
  }
}

function literal(n: jsep.Literal, ctx: CheckContext): Node {
  let v: unknown = n.value;
  if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v) && /^\d+$/.test(n.raw)) v = BigInt(n.raw);
  const kind: Kind | undefined = v === null ? 'null' : typeof v === 'bigint' ? 'number' : (({ number: 'number', string: 'string', boolean: 'boolean' }) as Record<string, Kind>)[typeof v];
  if (kind === undefined) fail(ctx, `the literal ${n.raw} is not a number, string, true, false or null`);
  const value = v as Value;
  return { kind, ev: () => value, constant: { value } };
}

/** `a.b[3].c` as the path `a.b.3.c`, or undefined when the chain has another kind of part. */
function dotted(n: jsep.Expression): string | undefined {
  if (n.type === 'Identifier') return (n as jsep.Identifier).name;
  if (n.type !== 'MemberExpression') return undefined;
  const m = n as jsep.MemberExpression;
  const head = dotted(m.object);
  if (head === undefined) return undefined;
  if (!m.computed && m.property.type === 'Identifier') return `${head}.${(m.property as jsep.Identifier).name}`;
  const index = m.property.type === 'Literal' ? (m.property as jsep.Literal).value : undefined;
  return m.computed && Number.isSafeInteger(index) && (index as number) >= 0 ? `${head}.${index as number}` : undefined;
}

function name(n: jsep.Expression, ctx: CheckContext): Node {
  const probability = classProbability(n, ctx);
  if (probability !== undefined) return probability;
  const path = dotted(n);
  if (path === undefined) fail(ctx, 'only field names (a.b), array items (a[0]) and p["class"] may be used');
  if ((SCORE_NAMES as readonly string[]).includes(path)) return score(path as (typeof SCORE_NAMES)[number]);
  if (path === 'p') fail(ctx, 'p is the class probabilities: name one class, p["SN Ia"]');
  return field(path, ctx);
}

function score(which: (typeof SCORE_NAMES)[number]): Node {
  if (which === 'class') return { kind: 'string', ev: (_a, s) => s.class, isClass: true };
  if (which === 'score') return { kind: 'number', ev: (_a, s) => nanToNull(s.score) };
  return { kind: 'number', ev: (_a, s) => nanToNull(s.realbogus) };
}

function nanToNull(v: number | null): number | null {
  return v === null || Number.isNaN(v) ? null : v;
}

/** `p["SN Ia"]` or `p.AGN`: the probability of one class, by its index (fixed at start-up). */
function classProbability(n: jsep.Expression, ctx: CheckContext): Node | undefined {
  if (n.type !== 'MemberExpression') return undefined;
  const m = n as jsep.MemberExpression;
  if (m.object.type !== 'Identifier' || (m.object as jsep.Identifier).name !== 'p') return undefined;
  const cls = m.computed ? (m.property.type === 'Literal' ? (m.property as jsep.Literal).value : undefined) : (m.property as jsep.Identifier).name;
  if (typeof cls !== 'string') return fail(ctx, 'p[...] takes a class name in quotes: p["SN Ia"]');
  const i = knownClass(cls, ctx);
  return { kind: 'number', ev: (_a, s) => (s.probabilities === null ? null : nanToNull(s.probabilities[i])) };
}

function knownClass(cls: string, ctx: CheckContext): number {
  const i = ctx.classes.indexOf(cls);
  if (i < 0) {
    const close = ctx.classes.filter((c) => editDistance(c.toLowerCase(), cls.toLowerCase()) <= 2);
    fail(ctx, `"${cls}" is not a class of the transient classifier (${close.length > 0 ? `did you mean ${close.map((c) => `"${c}"`).join(', ')}? ` : ''}classes: ${ctx.classes.join(', ') || 'none'})`);
  }
  return i;
}

function field(path: string, ctx: CheckContext): Node {
  const hits = ctx.catalogues.map((c) => c.resolve(path)).filter((f) => f !== undefined);
  if (hits.length === 0) {
    const close = [...new Set(ctx.catalogues.flatMap((c) => c.closeMatches(path)))].slice(0, 5);
    fail(ctx, `field "${path}" is in none of the schemas (${ctx.catalogues.map((c) => c.name).join(', ')})${close.length > 0 ? `; did you mean ${close.join(', ')}?` : ''}`);
  }
  const kinds = new Set(hits.map((h) => h.kind));
  const kind = hits[0].kind;
  if (kinds.size > 1) fail(ctx, `field "${path}" holds a ${[...kinds].join(' in one schema and a ')} in another`);
  if (kind !== 'number' && kind !== 'string' && kind !== 'boolean') fail(ctx, `field "${path}" (${hits[0].path}) holds a ${kind}, which a filter cannot compare`);
  ctx.fields.add(path);
  return { kind, ev: fieldReader(path, kind, ctx.filter) };
}

/** Reads `path` and checks the value is of `kind` (or null): another schema could disagree. */
function fieldReader(path: string, kind: Kind, filter: string): Eval {
  return (a) => {
    const v = a.field(path);
    if (v === null) return null;
    if (typeof v === 'number') {
      if (kind === 'number') return Number.isNaN(v) ? null : v;
    } else if (typeof v === 'bigint') {
      if (kind === 'number') return v;
    } else if (typeof v === kind) return v as Value;
    throw new FilterError(`filter "${filter}" on ${a.source} record ${a.index}`, v === undefined ? `the packet has no field ${path}` : `field ${path} holds ${typeof v}, expected ${kind}`);
  };
}

function unary(n: jsep.UnaryExpression, ctx: CheckContext): Node {
  const arg = check(n.argument, ctx);
  const a = arg.ev;
  if (n.operator === '!') {
    expectKind(arg, 'boolean', '!', ctx);
    return { kind: 'boolean', ev: (x, s) => { const v = a(x, s); return v === null ? null : !v; } };
  }
  if (n.operator === '-' || n.operator === '+') {
    expectKind(arg, 'number', n.operator, ctx);
    const neg = n.operator === '-';
    const node: Node = { kind: 'number', ev: (x, s) => { const v = a(x, s); return v === null ? null : neg ? -(v as number) : v; } };
    if (arg.constant !== undefined) node.constant = { value: neg ? -(arg.constant.value as number) : arg.constant.value };
    return node;
  }
  return fail(ctx, `the operator ${n.operator} is not part of the filter language`);
}

function expectKind(node: Node, kind: Kind, op: string, ctx: CheckContext): void {
  if (node.kind !== kind) fail(ctx, `${op} needs a ${kind} operand, not a ${node.kind}`);
}

function binary(n: jsep.BinaryExpression, ctx: CheckContext): Node {
  const op = n.operator;
  if (op === 'in') return membership(check(n.left, ctx), n.right, ctx);
  const l = check(n.left, ctx);
  const r = check(n.right, ctx);
  if (op === '&&' || op === '||') return logical(op, l, r, ctx);
  if (op === '==' || op === '!=' || op === '===' || op === '!==') return equality(op.startsWith('!'), l, r, ctx);
  if (op === '<' || op === '<=' || op === '>' || op === '>=') return relational(op, l, r, ctx);
  if (op === '+' || op === '-' || op === '*' || op === '/') return arithmetic(op, l, r, ctx);
  return fail(ctx, `the operator ${op} is not part of the filter language`);
}

function logical(op: '&&' | '||', l: Node, r: Node, ctx: CheckContext): Node {
  expectKind(l, 'boolean', op, ctx);
  expectKind(r, 'boolean', op, ctx);
  const a = l.ev;
  const b = r.ev;
  // Kleene logic: the deciding value wins over unknown; the right side is skipped once decided.
  const decisive = op === '||';
  return {
    kind: 'boolean',
    ev: (x, s) => {
      const u = a(x, s);
      if (u === decisive) return decisive;
      const v = b(x, s);
      if (v === decisive) return decisive;
      return u === null || v === null ? null : !decisive;
    },
  };
}

/** Equal values of one kind; a bigint and a double compare exactly with loose equality. */
function same(u: Value, v: Value): boolean {
  // Loose equality on purpose: bigint == number is the exact numeric comparison.
  return typeof u === typeof v ? u === v : u == v;
}

function equality(negate: boolean, l: Node, r: Node, ctx: CheckContext): Node {
  const lNull = l.kind === 'null';
  if (lNull || r.kind === 'null') {
    // IS NULL / IS NOT NULL: never unknown.
    const other = (lNull ? r : l).ev;
    return { kind: 'boolean', ev: (x, s) => (other(x, s) === null) !== negate };
  }
  if (l.kind !== r.kind) fail(ctx, `== compares a ${l.kind} with a ${r.kind}`);
  checkClassLiterals(l, [r], ctx);
  checkClassLiterals(r, [l], ctx);
  const a = l.ev;
  const b = r.ev;
  return { kind: 'boolean', ev: (x, s) => { const u = a(x, s); const v = b(x, s); return u === null || v === null ? null : same(u, v) !== negate; } };
}

/** A class name compared with `class` must be one of the classifier's (a typo would never match). */
function checkClassLiterals(subject: Node, others: Node[], ctx: CheckContext): void {
  if (subject.isClass !== true || ctx.classes.length === 0) return;
  for (const o of others) if (o.constant !== undefined && typeof o.constant.value === 'string') knownClass(o.constant.value, ctx);
}

function relational(op: '<' | '<=' | '>' | '>=', l: Node, r: Node, ctx: CheckContext): Node {
  if (l.kind !== r.kind || (l.kind !== 'number' && l.kind !== 'string')) fail(ctx, `${op} compares two numbers or two strings, not a ${l.kind} and a ${r.kind}`);
  const a = l.ev;
  const b = r.ev;
  // Relational operators on a bigint and a double are exact in JavaScript.
  const cmp: Record<typeof op, (u: Value, v: Value) => boolean> = {
    '<': (u, v) => (u as number) < (v as number),
    '<=': (u, v) => (u as number) <= (v as number),
    '>': (u, v) => (u as number) > (v as number),
    '>=': (u, v) => (u as number) >= (v as number),
  };
  const c = cmp[op];
  return { kind: 'boolean', ev: (x, s) => { const u = a(x, s); const v = b(x, s); return u === null || v === null ? null : c(u, v); } };
}

function arithmetic(op: '+' | '-' | '*' | '/', l: Node, r: Node, ctx: CheckContext): Node {
  expectKind(l, 'number', op, ctx);
  expectKind(r, 'number', op, ctx);
  const a = l.ev;
  const b = r.ev;
  const f: Record<typeof op, (u: number, v: number) => number> = { '+': (u, v) => u + v, '-': (u, v) => u - v, '*': (u, v) => u * v, '/': (u, v) => u / v };
  const g = f[op];
  return {
    kind: 'number',
    ev: (x, s) => {
      const u = a(x, s);
      const v = b(x, s);
      if (u === null || v === null) return null;
      const w = g(Number(u), Number(v));
      return Number.isFinite(w) ? w : null;
    },
  };
}

/** `x in [lit, ...]`: the list is literals of x's kind, fixed at start-up. */
function membership(l: Node, list: jsep.Expression, ctx: CheckContext): Node {
  if (list.type !== 'ArrayExpression') fail(ctx, 'in takes a list of literals: x in ["a", "b"]');
  const items = (list as jsep.ArrayExpression).elements.map((e) => (e === null ? fail(ctx, 'an empty slot in an in-list') : check(e, ctx)));
  const values: Value[] = [];
  for (const it of items) {
    if (it.constant === undefined || it.kind !== l.kind) fail(ctx, `in needs a list of ${l.kind} literals`);
    values.push(it.constant.value);
  }
  if (l.kind !== 'number' && l.kind !== 'string') fail(ctx, `in tests a number or a string, not a ${l.kind}`);
  checkClassLiterals(l, items, ctx);
  const a = l.ev;
  return {
    kind: 'boolean',
    ev: (x, s) => {
      const u = a(x, s);
      if (u === null) return null;
      for (let i = 0; i < values.length; i++) if (same(u, values[i])) return true;
      return false;
    },
  };
}
