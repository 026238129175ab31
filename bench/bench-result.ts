/** One measured figure. Benchmarks measure; tests never time anything. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** the target from the issue, e.g. "≥ 1,000,000" */
  target?: string;
  notes?: string;
}

/** Peak resident set size of this process so far, in MiB (Linux: VmHWM). */
export async function peakRssMiB(): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  try {
    const status = await readFile('/proc/self/status', 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    if (m?.[1]) return Number(m[1]) / 1024;
  } catch {
    // not Linux: fall back to the current RSS
  }
  return process.memoryUsage().rss / 1024 / 1024;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/**
 * A reference of this host's speed at the moment, to read a figure against: the time `JSON.stringify` takes
 * per number over arrays of 60 seeded pseudo-random doubles (best of 3 rounds of 20,000 arrays). On the shared
 * machines these benches run on, the same code's throughput has moved by 30% within an hour, and this probe
 * moved with it (session 8: 102–108 ns per number when the backtest's memory variant did 10,300–12,100 bars/s,
 * 136 ns when it did 8,500–9,100). The number formatting is also what bounds the backtest's decisions.jsonl.
 */
export function hostProbeNsPerNumber(): number {
  const N = 60;
  const L = 20_000;
  let seed = 0x2545f491;
  const next = (): number => {
    // xorshift32: the same doubles on every run
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const data: number[][] = [];
  for (let i = 0; i < L; i++) {
    const a: number[] = [];
    for (let j = 0; j < N; j++) a.push((next() - 0.5) * 10 ** (j % 5));
    data.push(a);
  }
  let best = Infinity;
  let bytes = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < L; i++) bytes += JSON.stringify(data[i]).length;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / (L * N));
  }
  if (bytes === 0) throw new Error('host probe: nothing was formatted');
  return best;
}
