/**
 * Builders of agent inputs for tests (not exported from the package): neutral, warmed-up values
 * that each test overrides where it looks.
 */
import type { AnalysisReport, MemoryRecall, RecalledMemory, SignalProposal } from '@meridian/contracts';
import { exampleAnalysisReport, exampleMarketInfo, exampleMemoryRecall, examplePortfolioSnapshot, exampleRiskLimits, exampleSignalProposal } from '@meridian/contracts/fixtures';
import type { AnalysisIndicators, AnalysisInput, WindowBar } from './analysis-input.ts';
import { SPOT_LONG_ONLY, type DecisionInput } from './decision-agent.ts';

const HOUR = 3_600_000;

/** A neutral, warmed-up indicator snapshot; tests override what they examine. */
export function indicators(over: Partial<AnalysisIndicators> = {}): AnalysisIndicators {
  return {
    ema20: 100,
    ema50: 100,
    rsi14: 50,
    macd: 0,
    macdSignal: 0,
    macdHist: 0,
    atr14: 1,
    adx14: 15,
    pdi14: 20,
    mdi14: 20,
    bbUpper: 102,
    bbMiddle: 100,
    bbLower: 98,
    bbPercentB: 0.5,
    rv14: 0.01,
    rv100: 0.01,
    high20: 103,
    low20: 97,
    ...over,
  };
}

export function bars(closes: readonly number[], t0 = Date.UTC(2024, 0, 1)): WindowBar[] {
  return closes.map((c, i) => ({ ts: t0 + i * HOUR, open: c, high: c + 0.5, low: c - 0.5, close: c, volume: 10 }));
}

export function analysisInput(over: Partial<AnalysisIndicators> = {}, closes: readonly number[] = [99, 100, 101, 100, 99, 100, 101, 100]): AnalysisInput {
  const window = bars(closes);
  return {
    subject: { exchange: 'binance', symbol: 'BTC/USDT', timeframe: '1h', asOf: (window.at(-1) as WindowBar).ts + HOUR },
    window,
    indicators: indicators(over),
    featureVersion: 1,
    features: [0.1, -0.2, Number.NaN],
  };
}


/** An analysis report (BTC/USDT 1h at 62,310) with the given regime fields and indicators. */
export function report(over: Partial<AnalysisReport> = {}, ind: Record<string, number> = {}): AnalysisReport {
  const base = exampleAnalysisReport();
  return exampleAnalysisReport({
    indicators: { ...base.indicators, atr14: 540, adx14: 32, pdi14: 30, mdi14: 12, bbPercentB: 0.5, rsi14: 60, ...ind },
    ...over,
  });
}

/** A recall of `n` neighbours whose up/down excursions are given as fractions of their entry. */
export function recall(excursions: readonly { mfe: number; mae: number }[]): MemoryRecall {
  const base = exampleMemoryRecall();
  const proto = base.neighbours[0] as RecalledMemory;
  const neighbours = excursions.map((e, i) => ({
    ...proto,
    memoryId: `00000000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
    forwardReturn: e.mfe + e.mae,
    mfe: e.mfe,
    mae: e.mae,
  }));
  const n = neighbours.length;
  const rets = neighbours.map((m) => m.forwardReturn);
  const mean = n ? rets.reduce((s, r) => s + r, 0) / n : 0;
  return exampleMemoryRecall({
    k: Math.max(1, n),
    neighbours,
    stats: { n, meanReturn: mean, medianReturn: mean, hitRate: n ? rets.filter((r) => r > 0).length / n : 0, dispersion: 0 },
  });
}

export function longSignal(over: Partial<SignalProposal> = {}): SignalProposal {
  return exampleSignalProposal({ entry: 100, stop: 95, target: 110, confidence: 0.6, ...over });
}

/** Decision input: 10,000 USDT equity, all cash, flat, generous limits, 1% risk per trade. */
export function decisionInput(over: Partial<DecisionInput> = {}): DecisionInput {
  return {
    signal: longSignal(),
    position: null,
    portfolio: examplePortfolioSnapshot({ cash: 10_000, equity: 10_000, grossExposure: 0, netExposure: 0, positions: [] }),
    limits: exampleRiskLimits({ minConfidence: undefined, riskPerTradePct: 1, maxOrderNotional: 100_000, maxPositionNotional: 100_000, maxGrossExposure: 1_000_000 }),
    market: exampleMarketInfo({ minQty: 0.001, qtyStep: 0.001, priceStep: 0.01, minNotional: 5 }),
    lastPrice: 100,
    account: SPOT_LONG_ONLY,
    ...over,
  };
}
