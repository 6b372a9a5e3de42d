import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { checkPipelineSet } from './pipeline-set.js';
import { validateConfig } from './schema.js';

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
