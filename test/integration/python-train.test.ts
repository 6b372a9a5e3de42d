import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { PYTHON, TRAIN } from '../support/python.js';

/**
 * The Python suite of models/train (training recipe, fixed point, ONNX check, dataset
 * loading, the preprocessing reference) runs inside `make test`: each Python test is one test
 * here, so CI's "N passed, N failed" counts it. `make test` installs python3-torch,
 * python3-numpy and python3-pil when missing; without them every module reports an import
 * error and fails here, it is never skipped.
 */
const RUNNER = join(TRAIN, 'run_tests.py');

interface PyTest {
  id: string;
  outcome: 'ok' | 'failed' | 'error' | 'skipped';
  detail: string;
}

/** Runs the Python suite once, while this file is collected, so each result becomes a test. */
function runPythonSuite(): { tests: PyTest[]; log: string } {
  const out = join(tempDir('pytrain'), 'results.json');
  // Not runPython: the runner exits 1 when a test fails, and its results are still wanted.
  const r = spawnSync(PYTHON, [RUNNER, '--json', out], { encoding: 'utf8', timeout: 300_000 });
  const log = `${PYTHON} ${RUNNER} exited ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (!existsSync(out)) return { tests: [], log };
  return { tests: (JSON.parse(readFileSync(out, 'utf8')) as { tests: PyTest[] }).tests, log };
}

const suite = runPythonSuite();

describe('models/train Python unittest suite', () => {
  it('ran and found the Python tests', () => {
    expect(suite.tests.length, suite.log).toBeGreaterThan(0);
  });
  for (const t of suite.tests) {
    it(t.id, () => {
      // A skipped Python test would pass silently here: treat it as a failure.
      if (t.outcome !== 'ok') throw new Error(`${t.id}: ${t.outcome}\n${t.detail}`);
    });
  }
});
