/**
 * Reading a cascade run's files in the tests (cascade.test.ts, keywords-cascade.test.ts): the
 * decisions file and the answers file, line by line, and the margin computed independently of
 * host/src/cascade/uncertainty.ts.
 */
import { readFileSync } from 'node:fs';

/** A decisions-file line. */
export interface Decision { seq: number; probs: number[]; class: string; trigger: boolean }
/** An answers-file line (host/src/cascade/answers-log.ts). */
export interface Answer { seq: number; margin?: number; student: string; studentProbs: number[]; teacher: string | null; teacherProbs: number[] | null; agree: boolean | null; latencyUs: number; decidedBy?: 'teacher' | 'student' }

/** The JSON lines of one file. */
export function lines<T>(path: string): T[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
}

/** Top-1 minus top-2, from a sorted copy (not the code under test). */
export function marginOf(p: readonly number[]): number {
  const s = [...p].sort((a, b) => b - a);
  return s[0]! - s[1]!;
}
