import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAppError } from '@meridian/core';
import { FEATURE_VERSION, type Bar } from '@meridian/market';
import { InProcessMemoryStore } from '@meridian/memory';
import { BackgroundMemory } from './background-memory.ts';
import type { BacktestConfig } from './backtest-config.ts';
import { runBacktest } from './backtest-engine.ts';
import { createDecisionRunner } from './orchestrator-runner.ts';
import { defaultMarketInfo, minLow } from './series-loader.ts';

/** real Binance candles (test/fixtures/candles, copied from ../shared/data) */
function fixture(file: string): Bar[] {
  const text = readFileSync(new URL(`../../../test/fixtures/candles/${file}`, import.meta.url), 'utf8');
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => {
      const [t, o, h, lo, c, v] = l.split(',');
      return { ts: Date.parse(t!), open: Number(o), high: Number(h), low: Number(lo), close: Number(c), volume: Number(v) };
    });
}

const ETH = fixture('binance_ETH_BTC-5m.csv');
// ADA/BTC has 5 gaps: the two series' bars interleave unevenly, which the memory thread must follow exactly
const ADA = fixture('binance_ADA_BTC-5m.csv');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function config(series: { symbol: string; bars: Bar[] }[]): BacktestConfig {
  return {
    series: series.map((s) => ({
      exchange: 'binance',
      symbol: s.symbol,
      timeframe: '5m',
      bars: s.bars,
      market: defaultMarketInfo(s.symbol, { capital: 10_000, minPrice: minLow(s.bars) }),
      source: { kind: 'test' },
    })),
    timeframe: '5m',
    from: null,
    to: null,
    capital: 10_000,
    feeBps: 10,
    slippageBps: 5,
    limits: { version: 0, limits: { schemaVersion: 1, allowedSymbols: [], requireStopLoss: false } },
    seed: 1,
    memory: { enabled: true, k: 20, scope: 'same-symbol', horizonBars: 12 },
  };
}

/** runs a backtest with the given memory and runner; returns its output files' bytes */
async function run(cfg: BacktestConfig, kind: 'fast' | 'graph', memory: InProcessMemoryStore | BackgroundMemory) {
  const dir = mkdtempSync(path.join(tmpdir(), 'meridian-bg-memory-'));
  dirs.push(dir);
  const runner = createDecisionRunner({ kind, memory: { recaller: memory, k: 20, scope: 'same-symbol', horizonBars: 12 } });
  const r = await runBacktest(cfg, { runner, memory, outDir: dir });
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  return { r, decisions: read('decisions.jsonl'), trades: read('trades.csv'), equity: read('equity.csv'), summary: read('summary.json') };
}

describe('BackgroundMemory (the memory side of a backtest on a second thread)', () => {
  it('gives byte-identical outputs to an in-process store on the replay thread: two real series with gaps, fast runner', async () => {
    const cfg = config([
      { symbol: 'ETH/BTC', bars: ETH },
      { symbol: 'ADA/BTC', bars: ADA },
    ]);
    const here = await run(cfg, 'fast', new InProcessMemoryStore());
    const bg = new BackgroundMemory({ batchRecalls: 97, maxAhead: 2 }); // small batches: many hand-overs and back-pressure waits
    const there = await run(cfg, 'fast', bg);
    expect(there.decisions).toBe(here.decisions);
    expect(there.trades).toBe(here.trades);
    expect(there.equity).toBe(here.equity);
    expect(there.summary).toBe(here.summary);
    // the runs recalled (non-empty recalls after the memories resolved), every decision got its recall
    const lines = there.decisions.trimEnd().split('\n');
    expect(lines.length).toBe(there.r.summary.decisions);
    expect(bg.recalls).toBe(lines.length);
    expect(lines.filter((l) => (JSON.parse(l) as { recall: { memoryIds: string[] } | null }).recall?.memoryIds.length === 20).length).toBeGreaterThan(lines.length * 0.9);
    expect(there.r.timing.memoryWriteMs).toBe(0);
  }, 120_000);

  it('with one ring slot (maxAhead 1) the memory thread writes a batch only after the replay has read the last: same outputs', async () => {
    // a slot overwritten while being read would hand the replay another bar's recall: out of step, or other bytes
    const cfg = config([{ symbol: 'ETH/BTC', bars: ETH.slice(0, 2_500) }]);
    const here = await run(cfg, 'fast', new InProcessMemoryStore());
    const bg = new BackgroundMemory({ batchRecalls: 7, maxAhead: 1 });
    const there = await run(cfg, 'fast', bg);
    expect(there.decisions).toBe(here.decisions);
    expect(bg.recalls).toBe(there.r.summary.decisions);
    expect(bg.recalls).toBeGreaterThan(2_000);
  }, 120_000);

  it('serves the graph runner (async recall) the same memory: graph + background = fast + in-process on 1,500 bars', async () => {
    const cfg = config([{ symbol: 'ETH/BTC', bars: ETH.slice(0, 1_500) }]);
    const here = await run(cfg, 'fast', new InProcessMemoryStore());
    const there = await run(cfg, 'graph', new BackgroundMemory());
    expect(there.decisions).toBe(here.decisions);
  }, 120_000);

  it('refuses a recall that is not the one it prepared (another vector or bar) instead of handing over a wrong memory', async () => {
    const bg = new BackgroundMemory();
    try {
      bg.start([{ exchange: 'binance', symbol: 'ETH/BTC', timeframe: '5m', bars: ETH.slice(0, 400) }], { timeframeMs: 300_000, k: 5, scope: 'same-symbol', horizonBars: 12 });
      await bg.whenAvailable();
      const o = { k: 5, scope: 'same-symbol' as const, exchange: 'binance', symbol: 'ETH/BTC', timeframe: '5m' as const, featureVersion: FEATURE_VERSION, horizonBars: 12 };
      // the first recall is for the first warm bar; asking for any other bar is out of step
      const err = (() => {
        try {
          bg.recallSync(new Array(32).fill(0), { ...o, asOf: 0 });
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(isAppError(err) && err.code === 'INTERNAL').toBe(true);
      expect(String((err as Error).message)).toMatch(/out of step.*at 0, the memory thread's next recall is for binance ETH\/BTC 5m at \d+/);
    } finally {
      await bg.close();
    }
  });

  it('reports a failure of the memory thread as an error of the run, not a hang', async () => {
    const bg = new BackgroundMemory();
    try {
      const bars = ETH.slice(0, 300).map((b) => ({ ...b }));
      bars[10] = { ...bars[10]!, close: -1 }; // the memory builder refuses a non-positive close
      bg.start([{ exchange: 'binance', symbol: 'ETH/BTC', timeframe: '5m', bars }], { timeframeMs: 300_000, k: 5, scope: 'same-symbol', horizonBars: 12 });
      await expect(bg.whenAvailable()).rejects.toThrow(/background memory failed: bar at \d+ has a non-positive close/);
    } finally {
      await bg.close();
    }
  });

  it('fails the run, at its end, when the runner took its recalls elsewhere (a mis-wired memory never passes silently)', async () => {
    const cfg = config([{ symbol: 'ETH/BTC', bars: ETH.slice(0, 400) }]);
    const bg = new BackgroundMemory();
    // the run's memory is the background one, but the runner recalls from another store
    const runner = createDecisionRunner({ kind: 'fast', memory: { recaller: new InProcessMemoryStore(), k: 20, scope: 'same-symbol', horizonBars: 12 } });
    await expect(runBacktest(cfg, { runner, memory: bg, outDir: null })).rejects.toThrow(/handed out 0 recalls for 201 decisions/);
  });

  it('does not start its thread when the run fails before replaying (an output path that cannot be a directory)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'meridian-bg-memory-'));
    dirs.push(dir);
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    const cfg = config([{ symbol: 'ETH/BTC', bars: ETH.slice(0, 400) }]);
    const bg = new BackgroundMemory();
    const runner = createDecisionRunner({ kind: 'fast', memory: { recaller: bg, k: 20, scope: 'same-symbol', horizonBars: 12 } });
    await expect(runBacktest(cfg, { runner, memory: bg, outDir: path.join(file, 'out') })).rejects.toThrow();
    // never started: it can still be started (once) and closed
    bg.start([], { timeframeMs: 300_000, k: 20, scope: 'same-symbol', horizonBars: 12 });
    await bg.close();
  });

  it('is one per run', () => {
    const bg = new BackgroundMemory();
    bg.start([], { timeframeMs: 300_000, k: 5, scope: 'same-symbol', horizonBars: 12 });
    expect(() => bg.start([], { timeframeMs: 300_000, k: 5, scope: 'same-symbol', horizonBars: 12 })).toThrow(/started twice/);
    return bg.close();
  });
});
