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
