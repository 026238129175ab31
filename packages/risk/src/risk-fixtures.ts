import type { MarketSnapshot, PortfolioSnapshot, Position, RiskLimits, TradeDecision, TradingState } from '@meridian/contracts';

/**
 * Small, valid inputs for tests and the benchmark: a 10,000 USDT account deciding on BTC/USDT
 * at 50,000. Override any field per case.
 */
export const T0 = Date.UTC(2024, 0, 15, 12, 0, 0);

export function makeDecision(o: Partial<TradeDecision> = {}): TradeDecision {
  return {
    schemaVersion: 1,
    decisionId: '0190a3b4-0000-7000-8000-000000000001',
    exchange: 'paper',
    symbol: 'BTC/USDT',
    timeframe: '1h',
    asOf: T0,
    agentVersion: 'test',
    policy: 'deterministic',
    fallbackReason: null,
    action: 'open',
    side: 'buy',
    quantity: 0.01,
    orderType: 'market',
    limitPrice: null,
    stopPrice: 49_000,
    targetPrice: 52_000,
    referencePrice: 50_000,
    confidence: 0.7,
    rationale: 'test',
    ...o,
  };
}

export function makePosition(o: Partial<Position> & Pick<Position, 'quantity'>): Position {
  const mark = o.markPrice ?? 50_000;
  return {
    schemaVersion: 1,
    exchange: 'paper',
    symbol: 'BTC/USDT',
    avgEntryPrice: mark,
    markPrice: mark,
    notional: Math.abs(o.quantity) * mark,
    realizedPnl: 0,
    unrealizedPnl: 0,
    openedAt: T0 - 3_600_000,
    updatedAt: T0,
    ...o,
  };
}

/** A portfolio; exposures are derived from the positions unless overridden. */
export function makePortfolio(o: Partial<PortfolioSnapshot> = {}): PortfolioSnapshot {
  const positions = o.positions ?? [];
  let gross = 0;
  let net = 0;
  for (const p of positions) {
    gross += p.notional;
    net += Math.sign(p.quantity) * p.notional;
  }
  return {
    schemaVersion: 1,
    asOf: T0,
    quoteCurrency: 'USDT',
    cash: 10_000,
    equity: 10_000,
    grossExposure: gross,
    netExposure: net,
    positions,
    realizedPnl: 0,
    unrealizedPnl: 0,
    feesPaid: 0,
    dayStartEquity: 10_000,
    dailyPnl: 0,
    peakEquity: 10_000,
    drawdownPct: 0,
    ordersLastMinute: 0,
    ...o,
  };
}

export function makeMarket(o: Partial<MarketSnapshot> = {}, info: Partial<MarketSnapshot['market']> = {}): MarketSnapshot {
  return {
    schemaVersion: 1,
    exchange: 'paper',
    symbol: 'BTC/USDT',
    timeframe: '1h',
    asOf: T0,
    lastPrice: 50_000,
    lastCandleTs: T0 - 3_600_000,
    dataTs: T0,
    bid: null,
    ask: null,
    ...o,
    market: { symbol: o.symbol ?? 'BTC/USDT', base: 'BTC', quote: 'USDT', minQty: 0.0001, qtyStep: 0.0001, priceStep: 0.01, minNotional: 5, ...info },
  };
}

export function activeState(since = T0 - 86_400_000): TradingState {
  return { schemaVersion: 1, state: 'ACTIVE', reason: 'test', actor: 'test', since, until: null };
}

/** Every check switched on, with room for an ordinary order. */
export const ALL_CHECKS_LIMITS: RiskLimits = {
  schemaVersion: 1,
  allowedSymbols: ['BTC/USDT', 'ETH/USDT'],
  maxOrderNotional: 2_000,
  maxPositionNotional: 3_000,
  maxGrossExposure: 8_000,
  maxNetExposure: 6_000,
  maxLeverage: 1,
  maxOpenPositions: 5,
  riskPerTradePct: 1,
  requireStopLoss: true,
  minConfidence: 0.55,
  maxOrdersPerMinute: 10,
  priceCollarPct: 2,
  maxDataAgeMs: 120_000,
  maxDailyLossPct: 3,
  maxDrawdownPct: 10,
  requireApprovalAboveNotional: 1_500,
};
