import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { AssertionFailure } from './assert.js';
import { ConfigError } from './errors.js';
import { Registry } from './registry.js';

function registry(): Registry<{ base: number }, number> {
  const r = new Registry<{ base: number }, number>('widget');
  r.register({ kind: 'add', summary: 'adds', schema: z.object({ kind: z.literal('add'), n: z.number().int().default(1) }).strict(), create: (c, ctx) => ctx.base + (c as { n: number }).n });
  r.register({ kind: 'neg', summary: 'negates', schema: z.object({ kind: z.literal('neg') }).strict(), create: (_c, ctx) => -ctx.base });
  return r;
}

describe('registry', () => {
  it('builds the entry the config names, defaults filled in', () => {
    const r = registry();
    expect(r.create({ kind: 'add' }, { base: 10 }, 'config: widget')).toBe(11);
    expect(r.create({ kind: 'add', n: 5 }, { base: 10 }, 'config: widget')).toBe(15);
    expect(r.create({ kind: 'neg' }, { base: 10 }, 'config: widget')).toBe(-10);
    expect(r.kinds()).toEqual(['add', 'neg']);
  });

  it('refuses an unknown kind with the known ones listed, and a bad field by its path and value', () => {
    const r = registry();
    expect(() => r.create({ kind: 'mul' }, { base: 1 }, 'config: widget')).toThrow(ConfigError);
    expect(() => r.create({ kind: 'mul' }, { base: 1 }, 'config: widget')).toThrow(/config: widget\.kind: value "mul": not a known widget; known kinds: add, neg/);
    expect(() => r.create({}, { base: 1 }, 'config: widget')).toThrow(/value missing: not a known widget/);
    expect(() => r.create({ kind: 'add', n: 1.5 }, { base: 1 }, 'config: widget')).toThrow(/config: widget\.n: value 1\.5: .*\(widget kind "add"\)/);
    expect(() => r.create({ kind: 'neg', extra: 1 }, { base: 1 }, 'config: widget')).toThrow(/config: widget: value .*extra/);
  });

  it('registers a kind once', () => {
    const r = registry();
    expect(() => r.register({ kind: 'add', summary: '', schema: z.object({}), create: () => 0 })).toThrow(AssertionFailure);
  });
});
