import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchResult } from './bench-result.ts';

/**
 * Market benchmarks (docs/benchmarks.md, section "market"):
 *  - indicators + feature vector per bar, one core, 1,000,000 synthetic 1m bars in memory;
 *  - `importCandles` of a 1,000,000-row synthetic 1m CSV into server Postgres and into PGlite,
 *    each in a fresh child process so its peak RSS (getrusage maxrss) is the import's own.
 * Run alone: node --conditions=@meridian/source --import tsx -e "import('./bench/market.bench.ts').then(async m=>console.table(await m.run()))"
 */

const SELF = fileURLToPath(import.meta.url);
const BARS = Number(process.env['MERIDIAN_BENCH_MARKET_BARS'] ?? 1_000_000);

async function featureThroughput(): Promise<BenchResult[]> {
  const { generateBars, FeatureEngine, IndicatorSet } = await import('@meridian/market');
  const bars = [...generateBars({ bars: BARS, seed: 7, timeframeMs: 60_000 })];
  const best = (f: () => void): number => {
    let b = Infinity;
    for (let rep = 0; rep < 5; rep++) {
      const t = performance.now();
      f();
      b = Math.min(b, performance.now() - t);
    }
    return b;
  };
  let sink = 0;
  const tInd = best(() => {
    const s = new IndicatorSet();
    for (let i = 0; i < bars.length; i++) sink += s.update(bars[i]!).rsi14 || 0;
  });
  const tFeat = best(() => {
    const e = new FeatureEngine();
    for (let i = 0; i < bars.length; i++) sink += e.update(bars[i]!)[8]!;
  });
  if (sink === 42) console.log(sink);
  return [
    { name: 'market: indicator set per bar', value: Math.round(BARS / (tInd / 1000)), unit: 'bars/s', notes: `${BARS} bars, best of 5` },
    { name: 'market: indicators + 32-dim feature vector per bar', value: Math.round(BARS / (tFeat / 1000)), unit: 'bars/s', target: '≥ 1,000,000', notes: `${BARS} bars, best of 5, one core` },
  ];
}

interface ChildResult {
  seconds: number;
  maxRssMb: number;
  inserted: number;
}

/** In the child: import the file into the given database and print timings as JSON. */
async function childImport(kind: 'postgres' | 'pglite', file: string, target: string): Promise<void> {
  const { openDb, migrate } = await import('@meridian/db');
  const { DbCandleStore, importCandles } = await import('@meridian/market');
  const db = await openDb(kind === 'postgres' ? { kind, url: target } : { kind, dataDir: target });
  await migrate(db);
  const t = performance.now();
  const r = await importCandles({ file, key: { exchange: 'bench', symbol: 'SYN/USD', timeframe: '1m' }, store: new DbCandleStore(db) });
  const seconds = (performance.now() - t) / 1000;
  await db.close();
  const out: ChildResult = { seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, inserted: r.inserted };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function runChild(kind: 'postgres' | 'pglite', file: string, target: string): Promise<ChildResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=@meridian/source', '--import', 'tsx', SELF, '--child', kind, file, target], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult;
}

async function importThroughput(): Promise<BenchResult[]> {
  const { writeSyntheticCsv } = await import('@meridian/market');
  const dir = mkdtempSync(path.join(tmpdir(), 'meridian-bench-market-'));
  const file = path.join(dir, 'syn-1m.csv');
  const out: BenchResult[] = [];
  try {
    await writeSyntheticCsv(file, { bars: BARS, seed: 7, timeframeMs: 60_000 });
    const mb = (statSync(file).size / 1e6).toFixed(0);
    const { probePostgres, freshPgDatabase } = await import('../test/support/index.ts');
    const probe = await probePostgres();
    if (probe.ok) {
      await using fresh = await freshPgDatabase('bench-market');
      const r = await runChild('postgres', file, fresh.url);
      if (r.inserted !== BARS) throw new Error(`postgres import stored ${r.inserted} of ${BARS}`);
      out.push(
        { name: 'market: import 1M 1m candles → server Postgres', value: +r.seconds.toFixed(2), unit: 's', target: '≤ 10', notes: `${mb} MB CSV, batches of 5,000, one transaction` },
        { name: 'market: import → server Postgres, peak RSS', value: Math.round(r.maxRssMb), unit: 'MB', notes: 'whole child process (node + tsx + pg)' },
      );
    } else out.push({ name: 'market: import 1M 1m candles → server Postgres', value: NaN, unit: 's', target: '≤ 10', notes: `skipped: ${probe.skipNote}` });
    const pgliteDir = path.join(dir, 'pglite');
    const r = await runChild('pglite', file, pgliteDir);
    if (r.inserted !== BARS) throw new Error(`pglite import stored ${r.inserted} of ${BARS}`);
    out.push(
      { name: 'market: import 1M 1m candles → PGlite (on disk)', value: +r.seconds.toFixed(2), unit: 's', notes: `${mb} MB CSV, batches of 5,000, one transaction` },
      { name: 'market: import → PGlite, peak RSS', value: Math.round(r.maxRssMb), unit: 'MB', notes: 'whole child process, includes the PGlite WASM heap' },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export async function run(): Promise<BenchResult[]> {
  return [...(await featureThroughput()), ...(await importThroughput())];
}

const argv = process.argv;
const childAt = argv.indexOf('--child');
if (childAt > 0 && path.resolve(argv[1] ?? '') === SELF) {
  await childImport(argv[childAt + 1] as 'postgres' | 'pglite', argv[childAt + 2]!, argv[childAt + 3]!);
}
