import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { SinkError } from '../core/errors.js';

/** A held output lock; `release` removes the lock file if it is still ours. Idempotent. */
export interface OutputLock {
  readonly path: string;
  release(): void;
}

/** How the lock learns about processes: the composition root passes the real ones. */
export interface LockProcess {
  pid: number;
  /** Whether a process with this id exists (signal 0). */
  alive(pid: number): boolean;
}

/**
 * Locks the output location `base` (a trigger log's base path) for this process: creates
 * `<base>.lock` exclusively and writes the pid into it. A lock whose pid is dead is stale
 * and taken over; a live one is a `SinkError` naming the holder. Two daemons on the same
 * config thus never write beside each other.
 *
 * Known limit: two processes that find the same stale lock at the same instant can both
 * remove it and one may remove the other's fresh lock; both then run. Starting two daemons
 * within microseconds of each other on a config whose last holder died is the only way there.
 */
export function lockOutput(base: string, proc: LockProcess): OutputLock {
  const path = `${base}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new SinkError(path, `cannot create the output lock: ${(err as Error).message}`, { cause: err });
      const holder = readHolder(path);
      if (holder !== null && holder !== proc.pid && proc.alive(holder)) {
        throw new SinkError(path, `the trigger log ${base} is in use by process ${holder} (another daemon on this config?); stop it or point sinks at another path`);
      }
      removeStale(path);
      continue;
    }
    writeSync(fd, `${proc.pid}\n`);
    closeSync(fd);
    return ownLock(path, proc.pid);
  }
  throw new SinkError(path, 'the output lock was taken by another process while a stale one was being removed; try again');
}

/** Locks every base in `bases`; on failure releases the ones taken and rethrows. */
export function lockOutputs(bases: readonly string[], proc: LockProcess): OutputLock[] {
  const held: OutputLock[] = [];
  try {
    for (const b of bases) held.push(lockOutput(b, proc));
  } catch (err) {
    for (const l of held) l.release();
    throw err;
  }
  return held;
}

function readHolder(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function removeStale(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SinkError(path, `cannot remove a stale output lock: ${(err as Error).message}`, { cause: err });
  }
}

function ownLock(path: string, pid: number): OutputLock {
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      if (readHolder(path) === pid) removeStale(path);
    },
  };
}
