import { performance } from 'node:perf_hooks';
import { SPOT_LONG_ONLY } from '@meridian/agents';
import { examplePortfolioSnapshot } from '@meridian/contracts/fixtures';
import type { RiskLimits } from '@meridian/contracts';
import { SimulatedClock, deterministicId } from '@meridian/core';
import { FEATURE_VERSION, FeatureEngine, generateBars, type Bar } from '@meridian/market';
import { FastRunner, GraphRunner, backtestDeps, memoryCheckpointer, type DecisionContext } from '@meridian/orchestrator';
import type { BenchResult } from './bench-result.ts';

/**
 * Decisions per second through the fast runner and through LangGraph, no memory, on synthetic
 * 1h bars. Contexts are built up front (indicators and features copied per bar) so only the
 * runners are timed; the portfolio is flat and the limits permissive, so non-hold decisions go
 * through the risk gate and sign orders.
 */
const N = 20_000;
const GRAPH_N = 1_000;
const WINDOW = 50;
const TF = 3_600_000;

const LIMITS: RiskLimits = {
  schemaVersion: 1,
  allowedSymbols: [],
  requireStopLoss: false,
  maxOrderNotional: 5_000,
  maxPositionNotional: 10_000,
  maxGrossExposure: 20_000,
  riskPerTradePct: 1,
  requireApprovalAboveNotional: 4_000,
};

function contexts(n: number): DecisionContext[] {
  const bars: Bar[] = [...generateBars({ bars: n + 200, seed: 11, timeframeMs: TF, startPrice: 30_000 })];
  const eng = new FeatureEngine();
  const out: DecisionContext[] = [];
  for (let i = 0; i < bars.length; i++) {
    const b = bars[i]!;
    const f = eng.update(b);
    if (i < 200) continue;
    const asOf = b.ts + TF;
    out.push({
      decisionId: deterministicId(`bench:${asOf}`),
      runScope: 'bench',
      subject: { exchange: 'binance', symbol: 'BTC/USDT', timeframe: '1h', asOf },
      window: bars.slice(i + 1 - WINDOW, i + 1),
      indicators: { ...eng.indicators },
      featureVersion: FEATURE_VERSION,
      features: f.slice(),
      portfolio: examplePortfolioSnapshot({ asOf, cash: 10_000, equity: 10_000, grossExposure: 0, netExposure: 0, positions: [], dayStartEquity: 10_000, peakEquity: 10_000, drawdownPct: 0, dailyPnl: 0, ordersLastMinute: 0 }),
      market: {
        schemaVersion: 1,
        exchange: 'binance',
        symbol: 'BTC/USDT',
        timeframe: '1h',
        asOf,
        lastPrice: b.close,
        lastCandleTs: b.ts,
        dataTs: asOf,
        bid: null,
        ask: null,
        market: { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', minQty: 0.00001, qtyStep: 0.00001, priceStep: 0.01, minNotional: 5 },
      },
      limits: { version: 1, limits: LIMITS },
      tradingState: { schemaVersion: 1, state: 'ACTIVE', reason: 'bench', actor: 'bench', since: 0, until: null },
      account: SPOT_LONG_ONLY,
    });
  }
  return out;
}

/** This process's CPU time in ms: on the shared 2-core machine wall time includes waiting for a core. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1_000;
};

interface Timing {
  ms: number;
  cpu: number;
}

function fastPass(xs: readonly DecisionContext[], validate: boolean): Timing & { nonHold: number } {
  const clock = new SimulatedClock(0);
  const runner = new FastRunner(backtestDeps(clock), { validate });
  const c0 = cpuMs();
  const t = performance.now();
  for (const c of xs) {
    clock.set(c.subject.asOf);
    runner.decideSync(c);
  }
  return { ms: performance.now() - t, cpu: cpuMs() - c0, nonHold: runner.stats.decisions - runner.stats.holds };
}

async function graphPass(xs: readonly DecisionContext[], checkpointed: boolean): Promise<Timing> {
  const clock = new SimulatedClock(0);
  const saver = checkpointed ? memoryCheckpointer() : undefined;
  // live configuration: every run checkpointed at its resume point, settled (deleted) after it, as the embedded worker does
  const runner = new GraphRunner(backtestDeps(clock), saver ? { checkpointer: saver, checkpointRuns: true } : {});
  const c0 = cpuMs();
  const t = performance.now();
  for (const c of xs) {
    clock.set(c.subject.asOf);
    const r = await runner.decide(c);
    if (saver) await runner.settle([r.trace]);
  }
  return { ms: performance.now() - t, cpu: cpuMs() - c0 };
}

export async function run(): Promise<BenchResult[]> {
  const xs = contexts(N);
  const best = (f: () => Timing): Timing => {
    f(); // JIT warm-up
    let b: Timing = { ms: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY };
    for (let r = 0; r < 3; r++) {
      const t = f();
      if (t.ms < b.ms) b = t;
    }
    return b;
  };
  let nonHold = 0;
  const fast = best(() => {
    const r = fastPass(xs, false);
    nonHold = r.nonHold;
    return r;
  });
  const fastValidated = best(() => fastPass(xs, true));
  const gx = xs.slice(0, GRAPH_N);
  await graphPass(gx.slice(0, 100), false); // warm-up
  const graph = await graphPass(gx, false);
  const graphCp = await graphPass(gx, true);
  const perSec = (n: number, ms: number) => Math.round(n / (ms / 1_000));
  const cpuNote = (n: number, t: Timing) => `${perSec(n, t.cpu).toLocaleString('en-US')} per CPU-second`;
  return [
    {
      name: 'orchestrator: fast runner (decideSync, no validation)',
      value: perSec(xs.length, fast.ms),
      unit: 'decisions/s',
      target: '≥ 100,000 bars/s (backtest hot path)',
      notes: `${((fast.ms * 1_000) / xs.length).toFixed(2)} µs/decision, ${cpuNote(xs.length, fast)}; ${xs.length} synthetic 1h bars, ${nonHold} non-hold; no memory, no recorder; best of 3`,
    },
    {
      name: 'orchestrator: fast runner (decideSync, every output + trace validated)',
      value: perSec(xs.length, fastValidated.ms),
      unit: 'decisions/s',
      notes: `${((fastValidated.ms * 1_000) / xs.length).toFixed(2)} µs/decision, ${cpuNote(xs.length, fastValidated)}; zod parse of each node output and the trace`,
    },
    {
      name: 'orchestrator: LangGraph runner, no checkpointer (backtest config)',
      value: perSec(gx.length, graph.ms),
      unit: 'decisions/s',
      notes: `${(graph.ms / gx.length).toFixed(2)} ms/decision, ${cpuNote(gx.length, graph)}; ${gx.length} bars, validated`,
    },
    {
      name: 'orchestrator: LangGraph runner, every run checkpointed in a MemorySaver (live configuration)',
      value: perSec(gx.length, graphCp.ms),
      unit: 'decisions/s',
      notes: `${(graphCp.ms / gx.length).toFixed(2)} ms/decision, ${cpuNote(gx.length, graphCp)}; ${gx.length} bars; checkpointRuns: each run's resume point stored, deleted after it (settle); the Postgres writes are in the worker bench`,
    },
  ];
}
