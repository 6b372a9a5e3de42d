/**
 * The two-sample Kolmogorov-Smirnov test: the largest distance between two empirical
 * distribution functions, and its asymptotic p-value. Allocation-free over sorted inputs, so
 * the drift watch runs it on preallocated arrays.
 */

/**
 * D = sup_x |F_a(x) - F_b(x)| of `a[0..na)` and `b[0..nb)`, both sorted ascending. Ties are
 * handled exactly: the distance is taken only after every copy of a value has been counted on
 * both sides. Returns 0 when either sample is empty.
 */
export function ksStatistic(a: ArrayLike<number>, na: number, b: ArrayLike<number>, nb: number): number {
  if (na === 0 || nb === 0) return 0;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < na && j < nb) {
    const x = a[i] <= b[j] ? a[i] : b[j];
    while (i < na && a[i] === x) i++;
    while (j < nb && b[j] === x) j++;
    const gap = Math.abs(i / na - j / nb);
    if (gap > d) d = gap;
  }
  return d;
}

/**
 * The Kolmogorov distribution's upper tail Q(lambda) = 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lambda^2)
 * (Kolmogorov 1933; Smirnov 1948's table: Q(1.224) = 0.10, Q(1.358) = 0.05, Q(1.628) = 0.01).
 * Below lambda = 0.3, where Q > 0.99999, it returns 1 (the series converges slowly there).
 */
export function kolmogorovQ(lambda: number): number {
  if (lambda < 0.3) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += k % 2 === 1 ? term : -term;
    if (term < 1e-17) break;
  }
  const q = 2 * sum;
  return q < 0 ? 0 : q > 1 ? 1 : q;
}

/**
 * The asymptotic p-value of a two-sample statistic `d` of samples of sizes n and m: Q of
 * (sqrt(ne) + 0.12 + 0.11/sqrt(ne)) d with ne = n m/(n + m) (Stephens 1970's small-sample
 * correction, as Numerical Recipes' `kstwo`). Accurate to a few percent from ne of about 4;
 * with ties (discrete scores) it is conservative: the true p-value is smaller.
 */
export function ksPValue(d: number, n: number, m: number): number {
  if (n === 0 || m === 0) return 1;
  const ne = (n * m) / (n + m);
  const s = Math.sqrt(ne);
  return kolmogorovQ((s + 0.12 + 0.11 / s) * d);
}
