/**
 * Programmer errors: a broken invariant stops the process loudly. Never use for bad input;
 * bad input is an operating error (see errors.ts).
 */
export class AssertionFailure extends Error {
  constructor(message: string) {
    super(`assertion failed: ${message}`);
    this.name = 'AssertionFailure';
  }
}

/** Throws `AssertionFailure` when `cond` is false. The message is a constant string so the
 * hot path does not build one per call. */
export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionFailure(message);
}
