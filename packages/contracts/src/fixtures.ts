/**
 * One valid, realistic example of every boundary message, all telling the same story: the
 * BTC/USDT 1h bar that opened 2024-03-01T12:00Z closes, the agents propose a long, the risk gate
 * approves it, the executor fills it, and the trace ties it all together. Ids and times agree
 * across messages (the decision's decisionId is the verdict's, the order's, the trace's…), so
 * tests in other packages can combine them. Each function returns a fresh object; pass overrides
 * to change top-level fields. Import from `@meridian/contracts/fixtures` (tests only).
 */
import type { z } from 'zod';
import type { MarketInfo, Candle, MarketSnapshot } from './market.ts';
import type { AnalysisReport, MemoryRecall, MemoryStats, RecalledMemory, SignalProposal, TradeDecision } from './agents.ts';
import type { Approval, OrderRequest, RiskCheck, RiskLimits, RiskVerdict, TradingState } from './risk.ts';
import type { ExecutionReport, Fill, Order, PortfolioSnapshot, Position } from './execution.ts';
import type { DecisionTrace } from './trace.ts';
import { decisionLineOf, type DecisionLine } from './decision-line.ts';
import type { MESSAGE_SCHEMAS, MessageName } from './json-schema.ts';

/** A UUIDv7-shaped id whose time prefix is `ms`, made deterministic by `n` (real ones are random). */
function exampleId(ms: number, n: number): string {
  const t = ms.toString(16).padStart(12, '0');
  const s = n.toString(16).padStart(3, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${s}-8000-${n.toString(16).padStart(12, '0')}`;
}

const HOUR = 3_600_000;
const BAR_OPEN = Date.UTC(2024, 2, 1, 12); // 2024-03-01T12:00:00Z

/** The moments of the example story, in UTC epoch ms. */
export const EXAMPLE_TIMES = {
  /** open time of the decided bar (Candle.ts) */
  barOpen: BAR_OPEN,
  /** its close: the asOf of every agent message */
  asOf: BAR_OPEN + HOUR,
  /** the risk gate's evaluation */
  evaluatedAt: BAR_OPEN + HOUR + 140,
  /** the order request is created and signed */
  orderCreatedAt: BAR_OPEN + HOUR + 150,
  /** the approval's expiry */
  approvalExpiresAt: BAR_OPEN + HOUR + 150 + 60_000,
  /** the exchange fills the order */
  filledAt: BAR_OPEN + HOUR + 930,
  /** trading was last resumed by a risk officer */
  tradingSince: Date.UTC(2024, 1, 28, 9, 30),
} as const;

/** The ids of the example story. */
export const EXAMPLE_IDS = {
  decisionId: exampleId(EXAMPLE_TIMES.asOf + 120, 1),
  traceId: exampleId(EXAMPLE_TIMES.asOf + 121, 2),
  orderId: exampleId(EXAMPLE_TIMES.orderCreatedAt, 3),
  /** the recalled memories, nearest first */
  memoryIds: [exampleId(Date.UTC(2024, 1, 12, 8), 4), exampleId(Date.UTC(2024, 0, 23, 16), 5), exampleId(Date.UTC(2023, 11, 4, 2), 6)],
} as const;

const venue = { exchange: 'binance', symbol: 'BTC/USDT' } as const;
const subject = { ...venue, timeframe: '1h', asOf: EXAMPLE_TIMES.asOf } as const;
const price = { open: 61_950, high: 62_480, low: 61_820, close: 62_310 } as const;
const plan = { entry: 62_310, stop: 61_500, target: 63_900, quantity: 0.04 } as const;
const fill = { price: 62_318.4, fee: 2.492736, notional: 2_492.736 } as const;
const LIMITS_VERSION = 3;

export function exampleCandle(overrides: Partial<Candle> = {}): Candle {
  return { schemaVersion: 1, ...venue, timeframe: '1h', ts: EXAMPLE_TIMES.barOpen, ...price, volume: 812.4137, ...overrides };
}

export function exampleMarketInfo(overrides: Partial<MarketInfo> = {}): MarketInfo {
  return { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', minQty: 0.00001, qtyStep: 0.00001, priceStep: 0.01, minNotional: 5, ...overrides };
}

export function exampleMarketSnapshot(overrides: Partial<MarketSnapshot> = {}): MarketSnapshot {
  return {
    schemaVersion: 1,
    ...subject,
    lastPrice: price.close,
    lastCandleTs: EXAMPLE_TIMES.barOpen,
    dataTs: EXAMPLE_TIMES.asOf,
    bid: 62_309.9,
    ask: 62_310.1,
    market: exampleMarketInfo(),
    ...overrides,
  };
}

export function exampleAnalysisReport(overrides: Partial<AnalysisReport> = {}): AnalysisReport {
  return {
    schemaVersion: 1,
    ...subject,
    agentVersion: 'analysis@1.0.0',
    policy: 'deterministic',
    fallbackReason: null,
    close: price.close,
    trend: 'up',
    regime: 'trending',
    volatilityState: 'normal',
    momentum: 0.42,
    indicators: { rsi14: 61.3, atr14: 540.2, adx14: 27.8, ema20: 61_640.5, ema50: 60_980.2 },
    keyLevels: { support: [61_500, 60_800], resistance: [62_800, 63_500] },
    featureVersion: 1,
    features: [0.42, 0.613, 0.278, 0.0087, 0.0109, -0.35, 1.12, 0.5],
    summary: 'Uptrend above EMA20/EMA50 with ADX 27.8; RSI 61 leaves room before overbought; next resistance 62,800.',
    ...overrides,
  };
}

function exampleNeighbours(): RecalledMemory[] {
  const [a, b, c] = EXAMPLE_IDS.memoryIds;
  // horizon 12 bars of 1h: each outcome became known 12 h after its bar, long before asOf
  const at = (ts: number, memoryId: string, distance: number, forwardReturn: number, mfe: number, mae: number): RecalledMemory => ({
    memoryId,
    ...venue,
    timeframe: '1h',
    ts,
    distance,
    horizonBars: 12,
    forwardReturn,
    mfe,
    mae,
    resolvedAt: ts + 13 * HOUR,
  });
  return [
    at(Date.UTC(2024, 1, 12, 8), a, 0.081, 0.021, 0.029, -0.004),
    at(Date.UTC(2024, 0, 23, 16), b, 0.097, 0.013, 0.018, -0.007),
    at(Date.UTC(2023, 11, 4, 2), c, 0.124, -0.006, 0.008, -0.015),
  ];
}

function exampleMemoryStats(): MemoryStats {
  return { n: 3, meanReturn: 0.009333, medianReturn: 0.013, hitRate: 0.666667, dispersion: 0.011324 };
}

export function exampleMemoryRecall(overrides: Partial<MemoryRecall> = {}): MemoryRecall {
  return {
    schemaVersion: 1,
    ...subject,
    featureVersion: 1,
    scope: 'same-symbol',
    k: 5,
    neighbours: exampleNeighbours(),
    stats: exampleMemoryStats(),
    ...overrides,
  };
}

export function exampleSignalProposal(overrides: Partial<SignalProposal> = {}): SignalProposal {
  return {
    schemaVersion: 1,
    ...subject,
    agentVersion: 'signal@1.0.0',
    policy: 'deterministic',
    fallbackReason: null,
    direction: 'long',
    strength: 0.62,
    confidence: 0.58,
    entry: plan.entry,
    stop: plan.stop,
    target: plan.target,
    horizonBars: 12,
    evidence: {
      indicators: [
        { name: 'adx14', value: 27.8, reading: 'trend strong enough to follow' },
        { name: 'rsi14', value: 61.3, reading: 'bullish, not overbought' },
      ],
      memoryIds: [...EXAMPLE_IDS.memoryIds],
      memoryStats: exampleMemoryStats(),
    },
    rationale: 'Trend and momentum agree; 2 of 3 similar past situations rose over 12 bars. Stop 1.5×ATR below entry, target at 2:1.',
    ...overrides,
  };
}

export function exampleTradeDecision(overrides: Partial<TradeDecision> = {}): TradeDecision {
  return {
    schemaVersion: 1,
    decisionId: EXAMPLE_IDS.decisionId,
    ...subject,
    agentVersion: 'decision@1.0.0',
    policy: 'deterministic',
    fallbackReason: null,
    action: 'open',
    side: 'buy',
    quantity: plan.quantity,
    orderType: 'market',
    limitPrice: null,
    stopPrice: plan.stop,
    targetPrice: plan.target,
    referencePrice: price.close,
    confidence: 0.58,
    rationale: 'Open long 0.04 BTC: risks 32.40 USDT (0.32% of equity) to the stop.',
    ...overrides,
  };
}

export function exampleRiskLimits(overrides: Partial<RiskLimits> = {}): RiskLimits {
  return {
    schemaVersion: 1,
    allowedSymbols: ['BTC/USDT', 'ETH/USDT'],
    maxOrderNotional: 5_000,
    maxPositionNotional: 10_000,
    maxGrossExposure: 20_000,
    maxNetExposure: 15_000,
    maxLeverage: 2,
    maxOpenPositions: 4,
    riskPerTradePct: 1,
    requireStopLoss: true,
    minConfidence: 0.55,
    maxOrdersPerMinute: 6,
    priceCollarPct: 2,
    maxDataAgeMs: 120_000,
    maxDailyLossPct: 3,
    maxDrawdownPct: 10,
    requireApprovalAboveNotional: 4_000,
    ...overrides,
  };
}

function exampleRiskChecks(): RiskCheck[] {
  return [
    { check: 'tradingState', passed: true, limit: 'ACTIVE', actual: 'ACTIVE', message: 'trading is ACTIVE' },
    { check: 'allowedSymbols', passed: true, limit: 'BTC/USDT,ETH/USDT', actual: 'BTC/USDT', message: 'BTC/USDT is allowed' },
    { check: 'stopLoss', passed: true, limit: null, actual: plan.stop, message: 'stop 61500 set' },
    { check: 'minConfidence', passed: true, limit: 0.55, actual: 0.58, message: 'confidence 0.58 ≥ 0.55' },
    { check: 'dataAge', passed: true, limit: 120_000, actual: 140, message: 'data is 140 ms old' },
    { check: 'maxOrderNotional', passed: true, limit: 5_000, actual: 2_492.4, message: 'order notional 2492.40 ≤ 5000' },
    { check: 'riskPerTrade', passed: true, limit: 1, actual: 0.324, message: 'risk at stop 0.32% of equity ≤ 1%' },
    { check: 'approvalThreshold', passed: true, limit: 4_000, actual: 2_492.4, message: 'no human approval needed below 4000' },
  ];
}

export function exampleRiskVerdict(overrides: Partial<RiskVerdict> = {}): RiskVerdict {
  return {
    schemaVersion: 1,
    decisionId: EXAMPLE_IDS.decisionId,
    status: 'approved',
    checks: exampleRiskChecks(),
    requestedQuantity: plan.quantity,
    approvedQuantity: plan.quantity,
    reducesExposure: false,
    limitsVersion: LIMITS_VERSION,
    tradingState: 'ACTIVE',
    evaluatedAt: EXAMPLE_TIMES.evaluatedAt,
    reasons: [],
    ...overrides,
  };
}

export function exampleTradingState(overrides: Partial<TradingState> = {}): TradingState {
  return {
    schemaVersion: 1,
    state: 'ACTIVE',
    reason: 'resumed after the daily-loss review',
    actor: 'risk-officer:alice',
    since: EXAMPLE_TIMES.tradingSince,
    until: null,
    ...overrides,
  };
}

export function exampleApproval(overrides: Partial<Approval> = {}): Approval {
  return {
    keyId: 'risk-2024-02',
    limitsVersion: LIMITS_VERSION,
    expiresAt: EXAMPLE_TIMES.approvalExpiresAt,
    // shape only: a real signature is an HMAC computed by packages/risk
    signature: '9f2c4e7a1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8',
    ...overrides,
  };
}

export function exampleOrderRequest(overrides: Partial<OrderRequest> = {}): OrderRequest {
  return {
    schemaVersion: 1,
    orderId: EXAMPLE_IDS.orderId,
    decisionId: EXAMPLE_IDS.decisionId,
    ...venue,
    side: 'buy',
    type: 'market',
    quantity: plan.quantity,
    limitPrice: null,
    stopPrice: plan.stop,
    reduceOnly: false,
    createdAt: EXAMPLE_TIMES.orderCreatedAt,
    approval: exampleApproval(),
    ...overrides,
  };
}

export function exampleFill(overrides: Partial<Fill> = {}): Fill {
  return {
    schemaVersion: 1,
    fillId: '3012845577',
    orderId: EXAMPLE_IDS.orderId,
    ...venue,
    side: 'buy',
    quantity: plan.quantity,
    price: fill.price,
    fee: fill.fee,
    feeCurrency: 'USDT',
    liquidity: 'taker',
    ts: EXAMPLE_TIMES.filledAt,
    ...overrides,
  };
}

export function exampleOrder(overrides: Partial<Order> = {}): Order {
  return {
    schemaVersion: 1,
    orderId: EXAMPLE_IDS.orderId,
    decisionId: EXAMPLE_IDS.decisionId,
    ...venue,
    side: 'buy',
    type: 'market',
    quantity: plan.quantity,
    limitPrice: null,
    status: 'FILLED',
    statusReason: null,
    exchangeOrderId: '28457193021',
    filledQuantity: plan.quantity,
    avgFillPrice: fill.price,
    fees: fill.fee,
    createdAt: EXAMPLE_TIMES.orderCreatedAt,
    updatedAt: EXAMPLE_TIMES.filledAt,
    ...overrides,
  };
}

export function exampleExecutionReport(overrides: Partial<ExecutionReport> = {}): ExecutionReport {
  return {
    schemaVersion: 1,
    orderId: EXAMPLE_IDS.orderId,
    ...venue,
    status: 'FILLED',
    previousStatus: 'OPEN',
    exchangeOrderId: '28457193021',
    filledQuantity: plan.quantity,
    avgFillPrice: fill.price,
    fills: [exampleFill()],
    reason: null,
    ts: EXAMPLE_TIMES.filledAt,
    ...overrides,
  };
}

export function examplePosition(overrides: Partial<Position> = {}): Position {
  return {
    schemaVersion: 1,
    ...venue,
    quantity: plan.quantity,
    avgEntryPrice: fill.price,
    markPrice: price.close,
    notional: 2_492.4,
    realizedPnl: 0,
    unrealizedPnl: -0.336,
    openedAt: EXAMPLE_TIMES.filledAt,
    updatedAt: EXAMPLE_TIMES.filledAt,
    ...overrides,
  };
}

export function examplePortfolioSnapshot(overrides: Partial<PortfolioSnapshot> = {}): PortfolioSnapshot {
  // started the day with 10,000 USDT cash; bought 0.04 BTC at 62,318.40 paying a 0.1% fee
  return {
    schemaVersion: 1,
    asOf: EXAMPLE_TIMES.filledAt,
    quoteCurrency: 'USDT',
    cash: 10_000 - fill.notional - fill.fee,
    equity: 9_997.171264,
    grossExposure: 2_492.4,
    netExposure: 2_492.4,
    positions: [examplePosition()],
    realizedPnl: 0,
    unrealizedPnl: -0.336,
    feesPaid: fill.fee,
    dayStartEquity: 10_000,
    dailyPnl: -2.828736,
    peakEquity: 10_000,
    drawdownPct: 0.0282874,
    ordersLastMinute: 1,
    ...overrides,
  };
}

/** The example trace as a backtest's decisions.jsonl line. */
export function exampleDecisionLine(): DecisionLine {
  return decisionLineOf(exampleDecisionTrace());
}

export function exampleDecisionTrace(overrides: Partial<DecisionTrace> = {}): DecisionTrace {
  const analysis = exampleAnalysisReport();
  const recall = exampleMemoryRecall();
  const signal = exampleSignalProposal();
  const decision = exampleTradeDecision();
  const verdict = exampleRiskVerdict();
  return {
    schemaVersion: 1,
    asOf: EXAMPLE_TIMES.asOf,
    traceId: EXAMPLE_IDS.traceId,
    decisionId: EXAMPLE_IDS.decisionId,
    runner: 'graph',
    runScope: 'live',
    ...venue,
    timeframe: '1h',
    nodes: [
      { node: 'analysis', version: analysis.agentVersion, durationMs: 3.1, input: { candles: 200, lastTs: EXAMPLE_TIMES.barOpen }, output: analysis },
      { node: 'recall', version: 'recall@1.0.0', durationMs: 6.4, input: { featureVersion: 1, k: 5, scope: 'same-symbol' }, output: recall },
      { node: 'signal', version: signal.agentVersion, durationMs: 0.8, input: { analysis: 'AnalysisReport', recall: 'MemoryRecall' }, output: signal },
      { node: 'decision', version: decision.agentVersion, durationMs: 0.5, input: { signal: 'SignalProposal', position: null }, output: decision },
      { node: 'risk', version: 'risk@1.0.0', durationMs: 0.3, input: { limitsVersion: LIMITS_VERSION, tradingState: 'ACTIVE' }, output: verdict },
    ],
    recalledMemoryIds: [...EXAMPLE_IDS.memoryIds],
    verdict,
    orderRequest: exampleOrderRequest(),
    outcome: 'order',
    resolution: null,
    ...overrides,
  };
}

/** The example of each message, by name; typed so a message without an example fails to compile. */
export const MESSAGE_EXAMPLES: { readonly [N in MessageName]: () => z.infer<(typeof MESSAGE_SCHEMAS)[N]> } = {
  Candle: exampleCandle,
  MarketInfo: exampleMarketInfo,
  MarketSnapshot: exampleMarketSnapshot,
  AnalysisReport: exampleAnalysisReport,
  MemoryRecall: exampleMemoryRecall,
  SignalProposal: exampleSignalProposal,
  TradeDecision: exampleTradeDecision,
  RiskLimits: exampleRiskLimits,
  RiskVerdict: exampleRiskVerdict,
  TradingState: exampleTradingState,
  Approval: exampleApproval,
  OrderRequest: exampleOrderRequest,
  ExecutionReport: exampleExecutionReport,
  Order: exampleOrder,
  Fill: exampleFill,
  Position: examplePosition,
  PortfolioSnapshot: examplePortfolioSnapshot,
  DecisionTrace: exampleDecisionTrace,
  DecisionLine: exampleDecisionLine,
};
