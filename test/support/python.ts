import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './fixtures.js';

/** Debian's Python, with python3-torch, python3-numpy and python3-pil (`make test` installs them). */
export const PYTHON = '/usr/bin/python3';
/** models/train, where the training code and the Python references live. */
export const TRAIN = join(REPO, 'models', 'train');

/**
 * Runs `python3 ...args` to its end and returns its stdout; throws with the exit status and
 * stderr when it fails, so a test shows Python's traceback. `timeoutMs` is generous: starting
 * torch takes seconds on a loaded box.
 */
export function runPython(args: string[], timeoutMs = 150_000): string {
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(`${PYTHON} ${args[0] === '-c' ? '-c <script>' : args[0]} exited ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  }
  return r.stdout;
}
