import type { MemoryStats, RecalledMemory } from '@meridian/contracts';

/**
 * Statistics of the recalled neighbours' forward returns: n, mean, median, hit rate (share
 * > 0) and dispersion (population standard deviation). Deterministic and finite; n = 0 gives
 * zeros. The mean uses a two-pass sum so the dispersion never goes negative through rounding.
 */
export function memoryStats(neighbours: readonly Pick<RecalledMemory, 'forwardReturn'>[]): MemoryStats {
  const n = neighbours.length;
  if (n === 0) return { n: 0, meanReturn: 0, medianReturn: 0, hitRate: 0, dispersion: 0 };
  const xs = neighbours.map((m) => m.forwardReturn).sort((a, b) => a - b);
  let sum = 0;
  let hits = 0;
  for (const x of xs) {
    sum += x;
    if (x > 0) hits++;
  }
  const mean = sum / n;
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  const mid = n >> 1;
  const median = n % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
  return { n, meanReturn: mean, medianReturn: median, hitRate: hits / n, dispersion: Math.sqrt(ss / n) };
}
