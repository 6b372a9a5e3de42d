import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SinkError } from '../core/errors.js';
import { lockOutput, lockOutputs } from './lock.js';

const base = () => join(mkdtempSync(join(tmpdir(), 'ht-lock-')), 'logs', 't.jsonl');
const live = (pids: number[]) => (pid: number) => pids.includes(pid);

describe('output lock', () => {
  it('is taken once: a second holder gets an E_SINK naming the first, and the lock stays the first one\'s', () => {
    const b = base();
    const held = lockOutput(b, { pid: 100, alive: live([100, 200]) });
    expect(readFileSync(`${b}.lock`, 'utf8')).toBe('100\n');
    expect(() => lockOutput(b, { pid: 200, alive: live([100, 200]) })).toThrow(SinkError);
    expect(() => lockOutput(b, { pid: 200, alive: live([100, 200]) })).toThrow(/in use by process 100/);
    expect(readFileSync(`${b}.lock`, 'utf8')).toBe('100\n');
    held.release();
    expect(existsSync(`${b}.lock`)).toBe(false);
  });

  it('takes over a stale lock whose process is gone, or one that names no process', () => {
    const b = base();
    lockOutput(b, { pid: 100, alive: live([100]) });
    const next = lockOutput(b, { pid: 200, alive: live([200]) });
    expect(readFileSync(`${b}.lock`, 'utf8')).toBe('200\n');
    next.release();
    writeFileSync(`${b}.lock`, 'garbage');
    lockOutput(b, { pid: 300, alive: live([300]) });
    expect(readFileSync(`${b}.lock`, 'utf8')).toBe('300\n');
  });

  it('release leaves a lock another process has taken since', () => {
    const b = base();
    const mine = lockOutput(b, { pid: 100, alive: live([100]) });
    writeFileSync(`${b}.lock`, '200\n');
    mine.release();
    expect(readFileSync(`${b}.lock`, 'utf8')).toBe('200\n');
  });

  it('locking several bases gives back the ones taken when a later one is refused', () => {
    const [a, b] = [base(), base()];
    lockOutput(b, { pid: 200, alive: live([100, 200]) });
    expect(() => lockOutputs([a, b], { pid: 100, alive: live([100, 200]) })).toThrow(/in use by process 200/);
    expect(existsSync(`${a}.lock`)).toBe(false);
  });
});
