/**
 * Backtest throughput on 525,600 synthetic 1m bars of one symbol (a year of minutes), fast runner, with
 * decisions.jsonl written (to a temporary directory, removed after): --no-memory; memory recall on every bar;
 * and the LangGraph runner on the first 20,000 bars. Each variant runs in its own child process so its peak
 * memory is its own. MERIDIAN_BENCH_BACKTEST_MEMORY_BARS shortens the memory variant (default: all bars).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostProbeNsPerNumber, type BenchResult } from './bench-result.ts';

const YEAR_OF_MINUTES = 525_600;

interface VariantResult {
  bars: number;
  barsPerSecond: number;
  peakRssMiB: number;
  wallMs: number;
  nodeMs: Record<string, number>;
  memoryWriteMs: number;
  memoryWaitMs: number;
  traceWriteMs: number;
  decisionsBytes: number;
  /** CPU time of the run (user + system): the machine is shared, so wall-clock rates understate the code */
  cpuMs: number;
}

async function variant(kind: 'fast' | 'graph', memory: boolean, bars: number): Promise<VariantResult> {
  const { generateBars } = await import('@meridian/market');
  const bt = await import('@meridian/backtest');
  const all = [...generateBars({ bars, seed: 7, timeframeMs: 60_000 })];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-bench-backtest-'));
  try {
    // as the CLI runs it: the memory side on a second thread (BackgroundMemory)
    const store = memory ? new bt.BackgroundMemory() : null;
    const c0 = process.cpuUsage();
    const runner = bt.createDecisionRunner({ kind, memory: store ? { recaller: store, k: 20, scope: 'same-symbol', horizonBars: 12 } : null });
    const r = await bt.runBacktest(
      {
        series: [{ exchange: 'binance', symbol: 'SYN/USD', timeframe: '1m', bars: all, market: bt.defaultMarketInfo('SYN/USD', { capital: 10_000, minPrice: bt.minLow(all) }), source: { kind: 'synthetic', seed: 7 } }],
        timeframe: '1m',
        from: null,
        to: null,
        capital: 10_000,
        feeBps: 10,
        slippageBps: 5,
        limits: { version: 0, limits: { schemaVersion: 1, allowedSymbols: [], requireStopLoss: false } },
        seed: 1,
        memory: { enabled: memory, k: 20, scope: 'same-symbol', horizonBars: 12 },
      },
      { runner, memory: store, outDir: dir },
    );
    const cpu = process.cpuUsage(c0);
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      bars: r.timing.barEvents,
      barsPerSecond: r.timing.barsPerSecond,
      peakRssMiB: r.timing.peakRssMiB,
      wallMs: r.timing.wallMs,
      nodeMs: r.timing.nodeMs,
      memoryWriteMs: r.timing.memoryWriteMs,
      memoryWaitMs: r.timing.memoryWaitMs,
      traceWriteMs: r.timing.traceWriteMs,
      decisionsBytes: fs.statSync(path.join(dir, 'decisions.jsonl')).size,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function inChild(name: string, kind: 'fast' | 'graph', memory: boolean, bars: number): VariantResult {
  // the young generation the CLI runs with (package.json "meridian": a backtest allocates short-lived objects per bar)
  const r = spawnSync(process.execPath, ['--max-semi-space-size=64', '--conditions=@meridian/source', '--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, MERIDIAN_BENCH_BACKTEST_VARIANT: JSON.stringify({ kind, memory, bars }) },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const at = r.stdout.lastIndexOf('@@VARIANT@@');
  if (r.status !== 0 || at < 0) throw new Error(`backtest bench variant ${name} failed (exit ${r.status})`);
  return JSON.parse(r.stdout.slice(at + '@@VARIANT@@'.length)) as VariantResult;
}

const split = (v: VariantResult): string =>
  `${v.bars.toLocaleString('en-US')} bars in ${(v.wallMs / 1000).toFixed(1)} s wall, ${(v.cpuMs / 1000).toFixed(1)} s CPU (${Math.round(v.bars / (v.cpuMs / 1000)).toLocaleString('en-US')} bars per CPU-second); nodes ${Object.entries(v.nodeMs)
    .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`)
    .join(', ')}; memory writes ${(v.memoryWriteMs / 1000).toFixed(1)} s; waiting for the memory thread ${(v.memoryWaitMs / 1000).toFixed(1)} s; decisions.jsonl ${(v.traceWriteMs / 1000).toFixed(1)} s (${(v.decisionsBytes / 2 ** 20).toFixed(0)} MiB)`;

export async function run(): Promise<BenchResult[]> {
  const memBars = Number(process.env.MERIDIAN_BENCH_BACKTEST_MEMORY_BARS ?? YEAR_OF_MINUTES);
  // the host's speed just before each variant (bench-result.ts): figures from different hours are read against it
  const probe = (): string => `; host probe ${hostProbeNsPerNumber().toFixed(1)} ns per number`;
  const p1 = probe();
  const noMem = inChild('no-memory', 'fast', false, YEAR_OF_MINUTES);
  const p2 = probe();
  const mem = inChild('memory', 'fast', true, memBars);
  const p3 = probe();
  const graph = inChild('graph', 'graph', false, 20_000);
  return [
    { name: 'backtest --no-memory, fast runner, 525,600 1m bars', value: noMem.barsPerSecond, unit: 'bars/s', target: '≥ 100,000', notes: split(noMem) + p1 },
    { name: 'backtest --no-memory: peak memory', value: noMem.peakRssMiB, unit: 'MiB' },
    { name: `backtest with memory recall every bar, fast runner, ${memBars.toLocaleString('en-US')} 1m bars`, value: mem.barsPerSecond, unit: 'bars/s', target: '≥ 10,000', notes: split(mem) + p2 },
    { name: 'backtest with memory: peak memory', value: mem.peakRssMiB, unit: 'MiB' },
    { name: 'backtest --runner graph, first 20,000 bars, no memory', value: graph.barsPerSecond, unit: 'bars/s', notes: split(graph) + p3 },
    { name: 'backtest --runner graph: peak memory', value: graph.peakRssMiB, unit: 'MiB' },
  ];
}

if (process.env.MERIDIAN_BENCH_BACKTEST_VARIANT) {
  const v = JSON.parse(process.env.MERIDIAN_BENCH_BACKTEST_VARIANT) as { kind: 'fast' | 'graph'; memory: boolean; bars: number };
  const r = await variant(v.kind, v.memory, v.bars);
  process.stdout.write(`\n@@VARIANT@@${JSON.stringify(r)}\n`);
  process.exit(0);
}
