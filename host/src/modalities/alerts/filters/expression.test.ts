import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, FilterError } from '../../../core/errors.js';
import { FieldCatalogue } from './catalogue.js';
import { compileFilters, type FilterSpec } from './filters.js';
import { emptyScores, fillScores } from './scores.js';
import { rubinSchemaJson, testAlert, ztfSchemaJson } from './testing.js';

const CLASSES = ['SN Ia', 'SN II', 'AGN', 'TDE'];

// A small schema with nullable fields of each kind the language compares.
const SMALL = {
  type: 'record',
  name: 'small',
  fields: [
    { name: 'a', type: ['null', 'double'] },
    { name: 'b', type: ['null', 'double'] },
    { name: 's', type: ['null', 'string'] },
    { name: 'candid', type: 'long' },
    { name: 'objectId', type: 'string' },
    { name: 'candidate', type: { type: 'record', name: 'cand', fields: [{ name: 'drb', type: ['null', 'float'] }, { name: 'flag', type: 'boolean' }] } },
  ],
};
const smallCat = FieldCatalogue.fromSchema(SMALL, 'small');

function one(expr: string, classes: readonly string[] = CLASSES) {
  return compileFilters([{ name: 'f', expr, topic: 't' }], { catalogues: [smallCat], classes })[0];
}

function row(a: number | null, b: number | null, s: string | null, extra: Record<string, unknown> = {}) {
  return testAlert(SMALL, { a, b, s, candid: 7n, objectId: 'ZTF0', candidate: { drb: 0.9, flag: true }, ...extra });
}

describe('filter expressions: checked at start-up', () => {
  const ztf = FieldCatalogue.fromSchema(ztfSchemaJson(), 'ztf 4.02');
  const rubin = FieldCatalogue.fromSchema(rubinSchemaJson(9), 'rubin 9.0');
  const mixed = FieldCatalogue.fromSchema({ type: 'record', name: 'mixed', fields: [{ name: 'u', type: ['null', 'int', 'string'] }] }, 'mixed');
  const compile = (expr: string) => compileFilters([{ name: 'snia', expr, topic: 'sn' }], { catalogues: [ztf, rubin, mixed], classes: CLASSES })[0];

  it('resolves bare names inside candidate (ZTF) and diaSource (Rubin), dotted paths from the top, and scores', () => {
    const f = compile('drb > 0.8 && ndethist >= 2 && class == "SN Ia" && score >= 0.6 && candidate.magpsf < 19 && snr > 5 && objectId != null && p["AGN"] < 0.1 && realbogus > 0.5');
    expect([...f.fields].sort()).toEqual(['candidate.magpsf', 'drb', 'ndethist', 'objectId', 'snr'].sort());
    expect(ztf.resolve('drb')?.path).toBe('candidate.drb');
    expect(rubin.resolve('snr')?.path).toBe('diaSource.snr');
    expect(ztf.resolve('snr')).toBeUndefined();
  });

  it('compiles the examples of the folder README', () => {
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    const examples = /## The language\n\n```\n([\s\S]*?)```/.exec(readme)![1].trim().split('\n');
    expect(examples.length).toBe(4);
    for (const e of examples) expect(() => compile(e), e).not.toThrow();
  });

  it('names the filter, the field and close matches for a field no schema has', () => {
    expect(() => compile('candidate.magpfs < 19')).toThrow(ConfigError);
    expect(() => compile('candidate.magpfs < 19')).toThrow(/filter "snia".*field "candidate\.magpfs".*did you mean.*candidate\.magpsf/);
    expect(() => compile('ndethst >= 2')).toThrow(/did you mean.*candidate\.ndethist/);
  });

  it('refuses operands of the wrong kind, fields that hold no comparable value, and constructs outside the language', () => {
    const bad: Array<[string, RegExp]> = [
      ['objectId > 3', /compares two numbers or two strings/],
      ['drb == "x"', /== compares a number with a string/],
      ['cutoutScience.stampData == null', /holds a bytes/],
      ['prv_candidates == null', /holds a array/],
      ['candidate == null', /holds a record/],
      ['u == 1', /holds a union/],
      ['drb + 1', /not a condition/],
      ['!drb', /! needs a boolean/],
      ['drb > 0.8 ? 1 : 0', /ConditionalExpression/],
      ['abs(drb) > 1', /CallExpression/],
      ['drb > 0.8 &&', /cannot parse/],
      ['drb in 3', /list of literals/],
      ['drb in [1, "a"]', /list of number literals/],
      ['drb & 1', /operator &/],
      ['p["SN 1a"] > 0.5', /"SN 1a" is not a class.*did you mean "SN Ia"/],
      ['class == "AGM"', /"AGM" is not a class.*"AGN"/],
      ['class in ["SN Ia", "TDF"]', /"TDF" is not a class/],
      ['p > 1', /name one class/],
    ];
    for (const [expr, why] of bad) expect(() => compile(expr), expr).toThrow(why);
  });

  it('refuses duplicate filter names and names that cannot be file names', () => {
    const specs: FilterSpec[] = [
      { name: 'a', expr: 'drb > 0', topic: 't' },
      { name: 'a', expr: 'drb > 1', topic: 't' },
    ];
    expect(() => compileFilters(specs, { catalogues: [ztf], classes: [] })).toThrow(/used twice/);
    expect(() => compileFilters([{ name: 'a/b', expr: 'drb > 0', topic: 't' }], { catalogues: [ztf], classes: [] })).toThrow(ConfigError);
  });
});

describe('filter expressions: malformed input', () => {
  // Token soup from the language's own pieces (and some that are not), so that many inputs
  // parse and reach the checker rather than stopping at the parser.
  const piece = fc.constantFrom('a', 'b', 's', 'drb', 'candidate', '.', 'flag', 'p', '["SN Ia"]', '[', ']', '(', ')', ',', '1', '-2.5', '"x"', 'null', 'true', '!', '-', '+', '*', '/', '%', '&&', '||', '==', '!=', '<', '>=', 'in', '?', ':', 'f(', 'class', 'score', 'this', '~', '&', ' ');
  it('compiles or throws a ConfigError naming the filter, nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(piece, { maxLength: 12 }).map((p) => p.join(' ')), fc.string({ maxLength: 40 })), (src) => {
        try {
          one(src);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          expect((err as ConfigError).message).toContain('filter "f"');
        }
      }),
      { numRuns: 3000, seed: 20261206 },
    );
  });
});

describe('filter expressions: evaluation', () => {
  const scores = fillScores(emptyScores(), CLASSES, Float32Array.of(0.1, 0.7, 0.15, 0.05), 0.93);

  it('reads scores: the top class, its probability, P(real) and one class probability by name', () => {
    const alert = row(1, 2, 'x');
    expect(one('class == "SN II" && score > 0.69 && score < 0.71 && realbogus > 0.9 && p["AGN"] > 0.14 && p.TDE < 0.06').evaluate(alert, scores)).toBe(true);
    expect(one('class == "SN Ia"').evaluate(alert, scores)).toBe(false);
    // A model that did not run leaves its scores null: unknown, not a match.
    expect(one('realbogus > 0.5').evaluate(alert, emptyScores())).toBeNull();
    expect(one('class == null').evaluate(alert, emptyScores())).toBe(true);
  });

  it('compares longs exactly: an integer literal past 2^53 is not rounded to a double', () => {
    const big = 2485226160015015012n;
    const alert = row(1, 2, 'x', { candid: big });
    expect(one('candid == 2485226160015015012').evaluate(alert, scores)).toBe(true);
    expect(one('candid == 2485226160015015013').evaluate(alert, scores)).toBe(false);
    expect(one('candid > 2485226160015015011 && candid < 2485226160015015013').evaluate(alert, scores)).toBe(true);
    expect(one('candid in [1, 2485226160015015012]').evaluate(alert, scores)).toBe(true);
  });

  it('reads bare names inside candidate and boolean fields', () => {
    expect(one('drb > 0.89 && flag == true && candidate.flag').evaluate(row(1, 2, 'x'), scores)).toBe(true);
  });

  it('treats NaN as null and a field the packet lacks as a FilterError naming the filter and the field', () => {
    expect(one('a > 0 || a <= 0').evaluate(row(Number.NaN, 1, 'x'), scores)).toBeNull();
    expect(one('a == null').evaluate(row(Number.NaN, 1, 'x'), scores)).toBe(true);
    const other = testAlert({ type: 'record', name: 'other', fields: [{ name: 'b', type: 'double' }] }, { b: 1 });
    const f = one('a > 0');
    expect(() => f.evaluate(other, scores)).toThrow(FilterError);
    expect(() => f.evaluate(other, scores)).toThrow(/filter "f".*no field a/);
    const wrongKind = testAlert({ type: 'record', name: 'other', fields: [{ name: 'a', type: 'string' }] }, { a: 'z' });
    expect(() => f.evaluate(wrongKind, scores)).toThrow(/holds string, expected number/);
  });
});

// ---- Three-valued logic against SQLite (Python's sqlite3): an independent implementation of SQL's NULL semantics.

type Num = { t: 'field'; f: 'a' | 'b' } | { t: 'lit'; v: number } | { t: 'op'; op: '+' | '-' | '*' | '/'; l: Num; r: Num };
type Str = { t: 'field' } | { t: 'lit'; v: string };
type Bool =
  | { t: 'cmpN'; op: string; l: Num; r: Num }
  | { t: 'cmpS'; op: string; l: Str; r: Str }
  | { t: 'inN'; l: Num; items: number[] }
  | { t: 'inS'; items: string[] }
  | { t: 'isNull'; f: 'a' | 'b' | 's'; not: boolean }
  | { t: 'not'; e: Bool }
  | { t: 'and' | 'or'; l: Bool; r: Bool };

const lit = fc.integer({ min: -20, max: 20 }).map((i) => i / 4);
const word = fc.constantFrom('', 'a', 'ab', 'b', 'SN', 'zz');
const cmpOp = fc.constantFrom('<', '<=', '>', '>=', '==', '!=');
const { bool } = fc.letrec<{ num: Num; str: Str; bool: Bool }>((tie) => ({
  num: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ t: fc.constant('field' as const), f: fc.constantFrom('a' as const, 'b' as const) }),
    fc.record({ t: fc.constant('lit' as const), v: lit }),
    fc.record({ t: fc.constant('op' as const), op: fc.constantFrom('+' as const, '-' as const, '*' as const, '/' as const), l: tie('num'), r: tie('num') }),
  ),
  str: fc.oneof(fc.record({ t: fc.constant('field' as const) }), fc.record({ t: fc.constant('lit' as const), v: word })),
  bool: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ t: fc.constant('cmpN' as const), op: cmpOp, l: tie('num'), r: tie('num') }),
    fc.record({ t: fc.constant('cmpS' as const), op: cmpOp, l: tie('str'), r: tie('str') }),
    fc.record({ t: fc.constant('inN' as const), l: tie('num'), items: fc.array(lit, { minLength: 1, maxLength: 3 }) }),
    fc.record({ t: fc.constant('inS' as const), items: fc.array(word, { minLength: 1, maxLength: 3 }) }),
    fc.record({ t: fc.constant('isNull' as const), f: fc.constantFrom('a' as const, 'b' as const, 's' as const), not: fc.boolean() }),
    fc.record({ t: fc.constant('not' as const), e: tie('bool') }),
    fc.record({ t: fc.constantFrom('and' as const, 'or' as const), l: tie('bool'), r: tie('bool') }),
  ),
})) as unknown as { bool: fc.Arbitrary<Bool> };

const sqlNum = (v: number) => (Number.isInteger(v) ? `${v}.0` : String(v));
function toSql(e: Num | Str | Bool): string {
  switch (e.t) {
    case 'field':
      return 'f' in e ? e.f : 's';
    case 'lit':
      return typeof e.v === 'number' ? `(${sqlNum(e.v)})` : `'${e.v}'`;
    case 'op':
      return `(${toSql(e.l)} ${e.op} ${toSql(e.r)})`;
    case 'cmpN':
    case 'cmpS':
      return `(${toSql(e.l)} ${e.op === '==' ? '=' : e.op === '!=' ? '<>' : e.op} ${toSql(e.r)})`;
    case 'inN':
      return `(${toSql(e.l)} IN (${e.items.map(sqlNum).join(', ')}))`;
    case 'inS':
      return `(s IN (${e.items.map((w) => `'${w}'`).join(', ')}))`;
    case 'isNull':
      return `(${e.f} IS ${e.not ? 'NOT ' : ''}NULL)`;
    case 'not':
      return `(NOT ${toSql(e.e)})`;
    default:
      return `(${toSql(e.l)} ${e.t.toUpperCase()} ${toSql(e.r)})`;
  }
}
function toExpr(e: Num | Str | Bool): string {
  switch (e.t) {
    case 'field':
      return 'f' in e ? e.f : 's';
    case 'lit':
      return typeof e.v === 'number' ? `(${e.v})` : JSON.stringify(e.v);
    case 'op':
      return `(${toExpr(e.l)} ${e.op} ${toExpr(e.r)})`;
    case 'cmpN':
    case 'cmpS':
      return `(${toExpr(e.l)} ${e.op} ${toExpr(e.r)})`;
    case 'inN':
      return `(${toExpr(e.l)} in [${e.items.join(', ')}])`;
    case 'inS':
      return `(s in [${e.items.map((w) => JSON.stringify(w)).join(', ')}])`;
    case 'isNull':
      return `(${e.f} ${e.not ? '!=' : '=='} null)`;
    case 'not':
      return `!${toExpr(e.e)}`;
    default:
      return `(${toExpr(e.l)} ${e.t === 'and' ? '&&' : '||'} ${toExpr(e.r)})`;
  }
}

const SQLITE = `
import json, sqlite3, sys
db = sqlite3.connect(':memory:')
db.execute('CREATE TABLE t (a REAL, b REAL, s TEXT)')
out = []
for line in sys.stdin:
    case = json.loads(line)
    db.execute('DELETE FROM t')
    db.execute('INSERT INTO t VALUES (?, ?, ?)', (case['a'], case['b'], case['s']))
    e = case['sql']
    out.append(db.execute(f'SELECT CASE WHEN {e} THEN 1 WHEN NOT {e} THEN 0 ELSE NULL END FROM t').fetchone()[0])
print(json.dumps(out))
`;

describe('filter expressions: SQL null semantics', () => {
  it('agrees with SQLite on random expressions over nullable fields (three-valued logic, IS NULL, IN, x/0)', () => {
    const value = fc.option(lit, { nil: null, freq: 3 });
    const cases = fc.sample(fc.record({ e: bool, a: value, b: value, s: fc.option(word, { nil: null, freq: 3 }) }), { numRuns: 600, seed: 20261206 });
    const input = cases.map((c) => JSON.stringify({ sql: toSql(c.e), a: c.a, b: c.b, s: c.s })).join('\n');
    const expected = JSON.parse(execFileSync('/usr/bin/python3', ['-c', SQLITE], { input, encoding: 'utf8' })) as Array<0 | 1 | null>;
    const scores = emptyScores();
    let unknown = 0;
    cases.forEach((c, i) => {
      const got = one(toExpr(c.e)).evaluate(row(c.a, c.b, c.s), scores);
      const want = expected[i] === null ? null : expected[i] === 1;
      if (want === null) unknown++;
      expect(got, `${toExpr(c.e)} with a=${c.a} b=${c.b} s=${c.s} (seed 20261206, case ${i})`).toBe(want);
    });
    // The sample exercises unknown results, not just true and false.
    expect(unknown).toBeGreaterThan(30);
  });
});
