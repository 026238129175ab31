import { describe, expect, it } from 'vitest';
import { MS_PER_YEAR, performanceMetrics, tradeMetrics } from './metrics.ts';
import type { Trade } from './trade-book.ts';

const close = (a: number | null, b: number) => {
  expect(a).not.toBeNull();
  expect(a as number).toBeCloseTo(b, 10);
};

describe('performanceMetrics (hand-computed)', () => {
  // quarterly bars: 4 bars per year; E0 = 100, E = 110, 99, 121
  const m = performanceMetrics(100, [110, 99, 121], MS_PER_YEAR / 4);
  // r = 0.1, −0.1, 0.2222…
  const r = [0.1, -0.1, 121 / 99 - 1];
  const mean = (r[0]! + r[1]! + r[2]!) / 3;
  const sd = Math.sqrt(((r[0]! - mean) ** 2 + (r[1]! - mean) ** 2 + (r[2]! - mean) ** 2) / 2);

  it('total return and CAGR over 3 quarters', () => {
    close(m.totalReturnPct, 21);
    close(m.cagrPct, (Math.pow(1.21, 4 / 3) - 1) * 100); // 28.94…%
  });
  it('Sharpe, Sortino and volatility annualised with √4', () => {
    close(m.sharpe, (mean / sd) * 2);
    close(m.sortino, (mean / Math.sqrt(0.01 / 3)) * 2); // downside: only −0.1, over all 3 bars
    close(m.volatilityPct, sd * 2 * 100);
  });
  it('drawdown 10 % lasting 1 bar; Calmar = CAGR / max drawdown', () => {
    close(m.maxDrawdownPct, 10);
    expect(m.maxDrawdownDurationBars).toBe(1);
    close(m.calmar, ((Math.pow(1.21, 4 / 3) - 1) * 100) / 10);
  });
  it('a drawdown that never recovers counts to the end', () => {
    const d = performanceMetrics(100, [120, 90, 100, 110, 119], MS_PER_YEAR / 4);
    close(d.maxDrawdownPct, 25);
    expect(d.maxDrawdownDurationBars).toBe(4);
  });
  it('the starting capital is the first peak', () => {
    const d = performanceMetrics(100, [80, 100], MS_PER_YEAR);
    close(d.maxDrawdownPct, 20);
    expect(d.maxDrawdownDurationBars).toBe(1);
  });
  it('flat equity: zero returns, undefined ratios are null', () => {
    const f = performanceMetrics(100, [100, 100, 100], 60_000);
    expect(f).toEqual({ totalReturnPct: 0, cagrPct: 0, sharpe: null, sortino: null, calmar: null, maxDrawdownPct: 0, maxDrawdownDurationBars: 0, volatilityPct: 0 });
  });
  it('no bars: nothing happened', () => {
    const f = performanceMetrics(100, [], 60_000);
    expect(f.totalReturnPct).toBe(0);
    expect(f.cagrPct).toBe(0);
    expect(f.sharpe).toBeNull();
  });
  it('a wiped-out account has CAGR −100 %', () => {
    expect(performanceMetrics(100, [50, 0], MS_PER_YEAR).cagrPct).toBe(-100);
  });
  it('only rising bars: Sortino undefined (no downside), Sharpe finite', () => {
    const u = performanceMetrics(100, [101, 103, 104], 86_400_000);
    expect(u.sortino).toBeNull();
    expect(Number.isFinite(u.sharpe)).toBe(true);
    expect(u.maxDrawdownPct).toBe(0);
  });
  it('rejects a non-positive capital or bar length', () => {
    expect(() => performanceMetrics(0, [1], 60_000)).toThrow(/capital/);
    expect(() => performanceMetrics(100, [1], 0)).toThrow(/bar length/);
    expect(() => performanceMetrics(Number.NaN, [1], 60_000)).toThrow(/capital/);
  });
  it('huge equity values keep their precision', () => {
    const h = performanceMetrics(1e12, [1.1e12], MS_PER_YEAR);
    close(h.totalReturnPct, 10);
    close(h.cagrPct, 10);
  });
});

const trade = (pnl: number, returnPct: number, holdingBars: number): Trade => ({
  symbol: 'BTC/USDT',
  side: 'long',
  entryTime: 0,
  entryPrice: 100,
  exitTime: 1,
  exitPrice: 100,
  quantity: 1,
  notional: 100,
  pnl,
  returnPct,
  fees: 0,
  exitReason: 'signal',
  holdingBars,
});

describe('tradeMetrics (hand-computed)', () => {
  it('two wins, two losses', () => {
    const t = tradeMetrics([trade(10, 10, 1), trade(-5, -5, 2), trade(20, 20, 3), trade(-5, -5, 4)]);
    expect(t).toEqual({ trades: 4, winRatePct: 50, profitFactor: 3, expectancy: 5, avgTradeReturnPct: 5, bestTradePct: 20, worstTradePct: -5, avgHoldingBars: 2.5 });
  });
  it('a break-even trade is not a win', () => {
    const t = tradeMetrics([trade(0, 0, 1), trade(4, 4, 1)]);
    expect(t.winRatePct).toBe(50);
    expect(t.profitFactor).toBeNull(); // no losses: the ratio has no finite value
  });
  it('no trades: counts 0, statistics null', () => {
    expect(tradeMetrics([])).toEqual({
      trades: 0,
      winRatePct: null,
      profitFactor: null,
      expectancy: null,
      avgTradeReturnPct: null,
      bestTradePct: null,
      worstTradePct: null,
      avgHoldingBars: null,
    });
  });
  it('only losses: profit factor 0', () => {
    expect(tradeMetrics([trade(-1, -1, 1)]).profitFactor).toBe(0);
  });
});
