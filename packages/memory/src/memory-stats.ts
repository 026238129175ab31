import type { MemoryStats, RecalledMemory } from '@meridian/contracts';

/** the returns to sort, reused (k is 20 in the backtest) */
const scratch = new Float64Array(64);

/**
 * Statistics of the recalled neighbours' forward returns: n, mean, median, hit rate (share
 * > 0) and dispersion (population standard deviation). Deterministic and finite; n = 0 gives
 * zeros. The mean uses a two-pass sum so the dispersion never goes negative through rounding.
 */
export function memoryStats(neighbours: readonly Pick<RecalledMemory, 'forwardReturn'>[]): MemoryStats {
  const n = neighbours.length;
  if (n === 0) return { n: 0, meanReturn: 0, medianReturn: 0, hitRate: 0, dispersion: 0 };
  // a typed array sorts numerically without a comparator call per comparison (the returns are finite)
  const xs = n <= scratch.length ? scratch.subarray(0, n) : new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = neighbours[i]!.forwardReturn;
  xs.sort();
  let sum = 0;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    sum += x;
    if (x > 0) hits++;
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i]! - mean) * (xs[i]! - mean);
  const mid = n >> 1;
  const median = n % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
  return { n, meanReturn: mean, medianReturn: median, hitRate: hits / n, dispersion: Math.sqrt(ss / n) };
}
