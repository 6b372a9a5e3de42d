/**
 * Units chosen by magnitude: one unit per axis or table column, picked from the largest value
 * it shows, so a column never mixes µs and ms and an axis reads 1.5 ms rather than 1,500 µs.
 * No DOM here: the node tests import it.
 */

export interface TimeUnit {
  /** 'ns' | 'µs' | 'ms' | 's' */
  name: string;
  /** Microseconds in one of this unit (ns: 0.001, s: 1e6). */
  us: number;
}

const TIME_UNITS: readonly TimeUnit[] = [
  { name: 'ns', us: 1e-3 },
  { name: 'µs', us: 1 },
  { name: 'ms', us: 1e3 },
  { name: 's', us: 1e6 },
];

/**
 * The unit for a set of microsecond values: the largest unit in which the largest finite
 * value is at least 1 (so below 1 µs it is ns; from 1,000 µs ms; from 1,000,000 µs s).
 * No finite positive value: µs.
 */
export function timeUnitFor(valuesUs: Iterable<number | null | undefined>): TimeUnit {
  let maxUs = 0;
  for (const v of valuesUs) if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) > maxUs) maxUs = Math.abs(v);
  if (maxUs === 0) return TIME_UNITS[1];
  let chosen = TIME_UNITS[0];
  for (const unit of TIME_UNITS) if (maxUs >= unit.us) chosen = unit;
  return chosen;
}

const decimals = [0, 1, 2, 3, 4, 5, 6].map((d) => new Intl.NumberFormat('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));

/** A value in `unit` to three significant digits (at most six decimals), with thousands
 * separators from 100 up: 0.00432, 0.123, 1.23, 12.3, 123, 1,234. A column in ms thus still
 * tells 23 µs (0.0230) from nothing. Non-finite: '–'. */
export function formatIn(us: number, unit: TimeUnit): string {
  if (!Number.isFinite(us)) return '–';
  const v = us / unit.us;
  const a = Math.abs(v);
  const d = a === 0 || a >= 100 ? 0 : Math.min(6, 2 - Math.floor(Math.log10(a)));
  return decimals[d].format(v);
}

/** A probability in [0, 1] as a percentage with one decimal ("87.5%"). */
export function formatPercent(p: number): string {
  return Number.isFinite(p) ? `${decimals[1].format(p * 100)}%` : '–';
}

/** A duration in seconds as "2 h 03 min", "4 min 05 s" or "12 s". */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '–';
  const whole = Math.floor(s);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const sec = whole % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h} h ${two(m)} min`;
  if (m > 0) return `${m} min ${two(sec)} s`;
  return `${sec} s`;
}

/**
 * The label of a point on the "nines" axis, where x = 1 / (1 - p): 2 -> "50%", 10 -> "90%",
 * 1000 -> "99.9%", 1e6 -> "99.9999%".
 */
export function ninesLabel(inverted: number): string {
  if (!(inverted >= 1)) return '';
  const percent = 100 * (1 - 1 / inverted);
  // Enough decimals to show every nine: log10(inverted) - 2 of them past the point.
  const digits = Math.max(0, Math.min(8, Math.round(Math.log10(inverted)) - 2));
  return `${percent.toFixed(digits)}%`;
}
