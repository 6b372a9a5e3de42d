import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/schema.js';
import { ConfigError, SinkError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { runFiles } from './log-files.js';
import { createSinks, sinkBasePaths } from './registry.js';

const BASE = { model: 'm', trigger: { targets: ['WBC'] } };

describe('sinks config', () => {
  it('takes a base path alone (the old form) or the options object, with the named limits as defaults', () => {
    const cfg = validateConfig({ ...BASE, sinks: { jsonl: 'logs/t.jsonl', arrow: { path: 'logs/t.arrows', fileBytesMax: 1024 } } });
    expect(cfg.sinks.jsonl).toEqual({ path: 'logs/t.jsonl', fileBytesMax: limits.triggerLogFileBytesMax, bufferedBytesMax: limits.sinkBufferedBytesMax });
    expect(cfg.sinks.arrow).toEqual({ path: 'logs/t.arrows', fileBytesMax: 1024, bufferedBytesMax: limits.sinkBufferedBytesMax });
    expect(sinkBasePaths(cfg.sinks, (p) => `/r/${p}`)).toEqual(['/r/logs/t.jsonl', '/r/logs/t.arrows']);
    expect(validateConfig(BASE).sinks).toEqual({});
  });

  it('refuses an unknown sink kind, naming the known ones, and a bound above its limit', () => {
    expect(() => validateConfig({ ...BASE, sinks: { csv: 'x.csv' } })).toThrow(ConfigError);
    expect(() => validateConfig({ ...BASE, sinks: { csv: 'x.csv' } })).toThrow(/sinks.*"csv".*allowed keys: jsonl, arrow/);
    expect(() => validateConfig({ ...BASE, sinks: { jsonl: { path: 'x', fileBytesMax: limits.triggerLogFileBytesMax + 1 } } })).toThrow(/sinks\.jsonl/);
  });

  it('a sink that cannot open closes the ones already open and fails with E_SINK', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-reg-'));
    writeFileSync(join(dir, 'file'), 'not a folder');
    const cfg = validateConfig({ ...BASE, sinks: { jsonl: join(dir, 't.jsonl'), arrow: join(dir, 'file', 't.arrows') } });
    const errors: Error[] = [];
    const ctx = { runId: 'r1', labels: ['a', 'b'], resolvePath: (p: string) => p, onError: (e: SinkError) => errors.push(e) };
    await expect(createSinks(cfg.sinks, ctx)).rejects.toThrow(SinkError);
    const [opened] = runFiles(join(dir, 't.jsonl'));
    expect(statSync(opened).size).toBe(0);
    expect(errors).toEqual([]);
  });
});
