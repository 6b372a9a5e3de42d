/**
 * Number formatting for the dashboard. One fixed locale, so the page reads the same on every
 * machine and tests can parse it (commas group thousands, a dot marks decimals).
 */

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** Shown where there is no value yet (no snapshot, or an empty histogram). */
export const NO_VALUE = '–';

/** A count: 1234567 -> "1,234,567". Non-finite -> NO_VALUE. */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? grouped.format(n) : NO_VALUE;
}

/** A rate per second: one decimal below 100/s, whole numbers above. */
export function formatRate(perS: number): string {
  if (!Number.isFinite(perS)) return NO_VALUE;
  return perS < 100 ? oneDecimal.format(perS) : grouped.format(perS);
}

/** Microseconds: one decimal below 1000 us (the budgets live there), whole numbers above.
 * `count` 0 means the histogram is empty and its zeros mean nothing: NO_VALUE. */
export function formatUs(us: number, count = 1): string {
  if (count === 0 || !Number.isFinite(us)) return NO_VALUE;
  return us < 1000 ? oneDecimal.format(us) : grouped.format(us);
}

/** A classifier score in [0, 1]: three decimals. */
export function formatScore(score: number): string {
  return Number.isFinite(score) ? score.toFixed(3) : NO_VALUE;
}
