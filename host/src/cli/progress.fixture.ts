import type { ProgressStream } from './progress.js';

/** A stand-in for process.stderr in tests: a terminal or not, recording what is written. */
export function fakeStream(isTTY: boolean): ProgressStream & { out: string[] } {
  const out: string[] = [];
  return { isTTY, columns: 120, write: (s: string) => out.push(s), out };
}
