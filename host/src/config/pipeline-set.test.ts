import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../../../test/support/fixtures.js';
import { ConfigError } from '../core/errors.js';
import { checkPipelineSet, expandPipelineList } from './pipeline-set.js';
import { loadConfigFile, validateConfig } from './schema.js';

/** A minimal valid config named `pipeline`, with `server` as given (absent: the default). */
function config(pipeline: string, server?: Record<string, unknown>) {
  return validateConfig({ pipeline, model: 'models/zoo/cells-bccd', trigger: { targets: ['WBC'], threshold: 0.5 }, ...(server === undefined ? {} : { server }) });
}

describe('checkPipelineSet', () => {
  it('accepts distinct names with the server block left out, repeated, or written as its defaults', () => {
    const first = config('cells', { port: 9000, host: '127.0.0.1' });
    expect(() => checkPipelineSet([{ file: 'a.yaml', cfg: first }, { file: 'b.yaml', cfg: config('words') }, { file: 'c.yaml', cfg: config('alerts', { port: 9000 }) }, { file: 'd.yaml', cfg: config('jets', { port: 8080 }) }])).not.toThrow();
  });

  it('refuses two configs with one pipeline name, naming both files', () => {
    const run = () => checkPipelineSet([{ file: 'a.yaml', cfg: config('cells') }, { file: 'b.yaml', cfg: config('cells') }]);
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/b\.yaml: pipeline: "cells" is also the pipeline of a\.yaml/);
  });

  it('refuses a later server block that is neither the default nor the first one, naming file and field', () => {
    const run = () => checkPipelineSet([{ file: 'a.yaml', cfg: config('cells', { port: 9000 }) }, { file: 'b.yaml', cfg: config('words', { port: 9001 }) }]);
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/b\.yaml: server\.port: 9001 differs from a\.yaml's 9000/);
    const health = () => checkPipelineSet([{ file: 'a.yaml', cfg: config('cells') }, { file: 'b.yaml', cfg: config('words', { health: { errorRatioMax: 0.1 } }) }]);
    expect(health).toThrow(/b\.yaml: server\.health\.errorRatioMax: 0\.1 differs from a\.yaml's 0\.5/);
  });
});

describe('expandPipelineList', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ht-pipeline-list-'));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("make run's list names the three modalities' configs, in order, and they run together", () => {
    const configs = join(REPO, 'host', 'configs');
    const files = expandPipelineList(join(configs, 'run-all.yaml'));
    expect(files).toEqual(['default.yaml', 'run-alerts.yaml', 'run-keywords.yaml'].map((f) => join(configs, f)));
    const set = files.map((file) => ({ file, cfg: loadConfigFile(file) }));
    expect(() => checkPipelineSet(set)).not.toThrow();
    expect(set.map((c) => c.cfg.pipeline)).toEqual(['cells-bccd', 'alerts', 'keywords']);
  });

  it('leaves a pipeline config, and a file it cannot read or parse (loadConfigFile names those), as one file', () => {
    const cfg = write('cells.yaml', 'pipeline: cells\nmodel: ../zoo/cells-bccd\n');
    expect(expandPipelineList(cfg)).toEqual([cfg]);
    expect(expandPipelineList(join(dir, 'absent.yaml'))).toEqual([join(dir, 'absent.yaml')]);
    const bad = write('bad.yaml', 'pipelines: [a.yaml\n');
    expect(expandPipelineList(bad)).toEqual([bad]);
  });

  it('resolves the entries from the list\'s folder, in order', () => {
    const list = write('list.yaml', 'pipelines:\n  - cells.yaml\n  - sub/words.yaml\n');
    expect(expandPipelineList(list)).toEqual([join(dir, 'cells.yaml'), join(dir, 'sub', 'words.yaml')]);
  });

  it('refuses a list that is empty, holds a non-path, nests a list, or carries settings, naming the list and entry', () => {
    const cases: Array<[string, RegExp]> = [
      ['pipelines: []\n', /empty\.yaml: pipelines: want a non-empty list/],
      ['pipelines: [cells.yaml, 3]\n', /number\.yaml: pipelines\.1: value 3: want the path/],
      ['pipelines: [list.yaml]\n', /nested\.yaml: pipelines\.0: list\.yaml is itself a list of pipelines/],
      ['pipelines: [cells.yaml]\nserver: {port: 9000}\n', /settings\.yaml: a list of pipelines holds only "pipelines"; found also "server"/],
      [`pipelines: [${Array.from({ length: 17 }, (_, i) => `p${i}.yaml`).join(', ')}]\n`, /many\.yaml: pipelines: 17 pipelines; at most 16/],
    ];
    const names = ['empty', 'number', 'nested', 'settings', 'many'];
    cases.forEach(([text, message], i) => {
      const path = write(`${names[i]}.yaml`, text);
      expect(() => expandPipelineList(path)).toThrow(ConfigError);
      expect(() => expandPipelineList(path)).toThrow(message);
    });
  });
});
