import { describe, expect, it } from 'vitest';
import type { DecisionTrace } from '@meridian/contracts';
import type { Bar } from '@meridian/market';
import { runBacktest } from './backtest-engine.ts';
import type { BacktestConfig } from './backtest-config.ts';
import type { DecisionRunner } from './decision-runner.ts';

/**
 * The replay rules with a scripted decision runner (the orchestrator is covered by the CLI e2e tests):
 * an order decided at bar t's close fills at bar t+1's open with slippage and fees; a bar touching both stop and
 * target exits at the stop; the files' numbers agree.
 */
const TF = 300_000;
const T0 = Date.UTC(2024, 0, 1);

function flatBars(n: number): Bar[] {
  return Array.from({ length: n }, (_, i) => ({ ts: T0 + i * TF, open: 100, high: 101, low: 99, close: 100, volume: 1 }));
}

/** a runner that buys `qty` at the close of bar `at` (by open time) with the given stop and target, else holds */
function scripted(orders: Map<number, { qty: number; stop: number; target: number }>, seen: number[]): DecisionRunner {
  return {
    kind: 'fast',
    run(ctx) {
      seen.push(ctx.subject.asOf);
      const o = orders.get(ctx.subject.asOf - TF);
      const decision = { action: o ? 'open' : 'hold', stopPrice: o?.stop ?? null, targetPrice: o?.target ?? null };
      return {
        asOf: ctx.subject.asOf,
        decisionId: ctx.decisionId,
        nodes: [{ node: 'decision', version: 'x', durationMs: 0, input: null, output: decision }],
        verdict: o ? { status: 'approved', checks: [] } : null,
        orderRequest: o
          ? { orderId: `00000000-0000-8000-8000-${String(ctx.subject.asOf).padStart(12, '0').slice(-12)}`, symbol: 'BTC/USDT', side: 'buy', type: 'market', quantity: o.qty, limitPrice: null, stopPrice: o.stop }
          : null,
      } as unknown as DecisionTrace;
    },
  };
}

function config(bars: Bar[]): BacktestConfig {
  return {
    series: [{ exchange: 'binance', symbol: 'BTC/USDT', timeframe: '5m', bars, market: { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', minQty: 0, qtyStep: 0.001, priceStep: 0.01, minNotional: 0 }, source: { kind: 'test' } }],
    timeframe: '5m',
    from: null,
    to: null,
    capital: 1000,
    feeBps: 10,
    slippageBps: 5,
    limits: { version: 0, limits: { schemaVersion: 1, allowedSymbols: [], requireStopLoss: false } },
    seed: 1,
    memory: { enabled: false, k: 20, scope: 'same-symbol', horizonBars: 12 },
  };
}

describe('runBacktest replay rules', () => {
  it('decides only on warm, closed bars; fills at the next open; the stop wins when a bar touches both', async () => {
    const bars = flatBars(260);
    bars[211] = { ...bars[211]!, open: 102, high: 103, low: 101, close: 102 };
    bars[215] = { ...bars[215]!, open: 100, high: 111, low: 94, close: 100 }; // touches stop 95 and target 110
    const seen: number[] = [];
    const r = await runBacktest(config(bars), { runner: scripted(new Map([[bars[210]!.ts, { qty: 2, stop: 95, target: 110 }]]), seen), memory: null, outDir: null });
    // 200 warm-up bars: the first decision is on bar 199's close
    expect(seen[0]).toBe(bars[199]!.ts + TF);
    expect(seen).toHaveLength(260 - 199);
    expect(r.trades).toHaveLength(1);
    const t = r.trades[0]!;
    expect(t.entryTime).toBe(bars[211]!.ts);
    expect(t.entryPrice).toBeCloseTo(102 * 1.0005, 10);
    expect(t.exitTime).toBe(bars[215]!.ts);
    expect(t.exitReason).toBe('stop');
    expect(t.exitPrice).toBeCloseTo(95 * 0.9995, 10);
    const fees = 2 * 102 * 1.0005 * 0.001 + 2 * 95 * 0.9995 * 0.001;
    expect(t.fees).toBeCloseTo(fees, 10);
    expect(t.pnl).toBeCloseTo(2 * (95 * 0.9995 - 102 * 1.0005) - fees, 10);
    expect(r.summary.finalEquity).toBeCloseTo(1000 + t.pnl, 9);
    expect(r.summary.feesPaid).toBeCloseTo(fees, 10);
    expect(r.summary).toMatchObject({ trades: 1, decisions: 61, riskApproved: 1, bars: 260 });
    expect(t.holdingBars).toBe(4);
    // the equity row of bar 211 (its close) holds the position marked at 102
    expect(r.curve.exposure[211]).toBeCloseTo(2 * 102, 10);
    expect(r.curve.exposure[215]).toBe(0);
  });

  it('a gap through the stop exits at the open; an order decided on the last bar never fills', async () => {
    const bars = flatBars(230);
    bars[205] = { ...bars[205]!, open: 90, high: 91, low: 89, close: 90 };
    const orders = new Map([
      [bars[201]!.ts, { qty: 1, stop: 95, target: 120 }],
      [bars[229]!.ts, { qty: 1, stop: 95, target: 120 }],
    ]);
    const r = await runBacktest(config(bars), { runner: scripted(orders, []), memory: null, outDir: null });
    expect(r.trades).toHaveLength(1);
    expect(r.trades[0]).toMatchObject({ exitReason: 'stop', exitTime: bars[205]!.ts });
    expect(r.trades[0]!.exitPrice).toBeCloseTo(90 * 0.9995, 10);
    expect(r.summary.riskApproved).toBe(2);
  });

  it('a position still open at the end is marked to the last close with exitReason end', async () => {
    const bars = flatBars(220);
    bars[219] = { ...bars[219]!, close: 100.5, high: 101 };
    const r = await runBacktest(config(bars), { runner: scripted(new Map([[bars[210]!.ts, { qty: 1, stop: 50, target: 200 }]]), []), memory: null, outDir: null });
    expect(r.trades).toHaveLength(1);
    expect(r.trades[0]).toMatchObject({ exitReason: 'end', exitPrice: 100.5, exitTime: bars[219]!.ts + TF });
    expect(r.summary.finalEquity).toBeCloseTo(1000 + r.trades[0]!.pnl, 9);
  });

  it('refuses inputs it cannot replay honestly', async () => {
    const c = config(flatBars(10));
    await expect(runBacktest({ ...c, capital: 0 }, { runner: scripted(new Map(), []), memory: null, outDir: null })).rejects.toThrow(/capital/);
    await expect(runBacktest({ ...c, series: [] }, { runner: scripted(new Map(), []), memory: null, outDir: null })).rejects.toThrow(/at least one/);
    await expect(runBacktest({ ...c, series: [c.series[0]!, c.series[0]!] }, { runner: scripted(new Map(), []), memory: null, outDir: null })).rejects.toThrow(/given twice/);
  });
});
