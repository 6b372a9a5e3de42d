/** Per-item mean time (us) of a timed run: the median and the minimum over rounds. */
export interface Timing {
  median: number;
  min: number;
}

/** Times `rounds` rounds of `run` (which handles `items` items). On a shared VM the minimum is
 * the better estimate of the unloaded cost, the median of what a loaded machine gives. */
export function timed(rounds: number, items: number, run: () => void): Timing {
  const means: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    run();
    means.push(Number(process.hrtime.bigint() - t0) / 1000 / items);
  }
  means.sort((a, b) => a - b);
  return { median: means[means.length >> 1]!, min: means[0]! };
}
