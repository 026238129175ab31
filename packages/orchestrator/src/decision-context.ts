import type { AccountCapabilities, AnalysisIndicators, AnalysisSubject, WindowBar } from '@meridian/agents';
import { SCHEMA_VERSION, type MarketInfo, type MarketSnapshot, type PortfolioSnapshot, type TradingState } from '@meridian/contracts';
import type { VersionedLimits } from '@meridian/risk';

/**
 * Everything one decision is made from, built by the caller (worker or backtest) for one closed
 * bar. The analysis part comes straight from @meridian/market's FeatureEngine
 * (`indicators: engine.indicators`, `features: engine.values`); the rest is what the account,
 * the market and the risk officer say at that moment. Nothing in it may be from after
 * `subject.asOf`. Ids are made by the caller: uuidv7 live, deterministicId in backtests.
 */
export interface DecisionContext {
  readonly decisionId: string;
  /** 'live' or the backtest run id: one decision per bar per scope */
  readonly runScope: string;
  readonly subject: AnalysisSubject;
  /** recent closed bars, oldest first; the last closed at subject.asOf */
  readonly window: readonly WindowBar[];
  readonly indicators: AnalysisIndicators;
  readonly featureVersion: number;
  readonly features: ArrayLike<number>;
  readonly portfolio: PortfolioSnapshot;
  readonly market: MarketSnapshot;
  readonly limits: VersionedLimits;
  readonly tradingState: TradingState;
  readonly account: AccountCapabilities;
}

/**
 * The market as a decision sees it at the close of a bar: the bar's close is the last price and the data is as
 * old as the bar (no quotes). The worker and the backtest both build it here, so a replay decides on exactly
 * what the live system would have seen.
 */
export function closedBarMarket(subject: AnalysisSubject, bar: { readonly ts: number; readonly close: number }, market: MarketInfo): MarketSnapshot {
  return {
    schemaVersion: SCHEMA_VERSION,
    exchange: subject.exchange,
    symbol: subject.symbol,
    timeframe: subject.timeframe,
    asOf: subject.asOf,
    lastPrice: bar.close,
    lastCandleTs: bar.ts,
    dataTs: subject.asOf,
    bid: null,
    ask: null,
    market,
  };
}

/**
 * A copy that survives being checkpointed and outlives the next bar: the FeatureEngine
 * overwrites its indicator object and feature array in place on every update, and LangGraph's
 * serializer does not round-trip a Float64Array. The fast runner does not need it (it finishes a
 * bar before the engine moves on).
 */
export function detachContext(ctx: DecisionContext): DecisionContext {
  return {
    ...ctx,
    window: ctx.window.map((b) => ({ ts: b.ts, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume })),
    indicators: pickIndicators(ctx.indicators),
    features: Array.from(ctx.features),
  };
}

function pickIndicators(i: AnalysisIndicators): AnalysisIndicators {
  return {
    ema20: i.ema20,
    ema50: i.ema50,
    rsi14: i.rsi14,
    macd: i.macd,
    macdSignal: i.macdSignal,
    macdHist: i.macdHist,
    atr14: i.atr14,
    adx14: i.adx14,
    pdi14: i.pdi14,
    mdi14: i.mdi14,
    bbUpper: i.bbUpper,
    bbMiddle: i.bbMiddle,
    bbLower: i.bbLower,
    bbPercentB: i.bbPercentB,
    rv14: i.rv14,
    rv100: i.rv100,
    high20: i.high20,
    low20: i.low20,
  };
}
