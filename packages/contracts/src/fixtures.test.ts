/**
 * The examples other packages' tests build on: they are typed with the inferred types, tell one
 * consistent story across messages, and are fresh on every call.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Candle, MarketSnapshot } from './market.ts';
import type { AnalysisReport, MemoryRecall, SignalProposal, TradeDecision } from './agents.ts';
import type { OrderRequest, RiskLimits, RiskVerdict } from './risk.ts';
import type { ExecutionReport, Fill, Order, PortfolioSnapshot, Position } from './execution.ts';
import type { DecisionTrace } from './trace.ts';
import { TIMEFRAME_MS } from './common.ts';
import {
  EXAMPLE_IDS,
  EXAMPLE_TIMES,
  MESSAGE_EXAMPLES,
  exampleAnalysisReport,
  exampleCandle,
  exampleDecisionTrace,
  exampleExecutionReport,
  exampleFill,
  exampleMarketSnapshot,
  exampleMemoryRecall,
  exampleOrder,
  exampleOrderRequest,
  examplePortfolioSnapshot,
  examplePosition,
  exampleRiskLimits,
  exampleRiskVerdict,
  exampleSignalProposal,
  exampleTradeDecision,
} from './fixtures.ts';
import { MESSAGE_SCHEMAS, type MessageName } from './json-schema.ts';

describe('types', () => {
  it('are the inferred types of the schemas', () => {
    expectTypeOf(exampleCandle()).toEqualTypeOf<Candle>();
    expectTypeOf(exampleMarketSnapshot()).toEqualTypeOf<MarketSnapshot>();
    expectTypeOf(exampleAnalysisReport()).toEqualTypeOf<AnalysisReport>();
    expectTypeOf(exampleMemoryRecall()).toEqualTypeOf<MemoryRecall>();
    expectTypeOf(exampleSignalProposal()).toEqualTypeOf<SignalProposal>();
    expectTypeOf(exampleTradeDecision()).toEqualTypeOf<TradeDecision>();
    expectTypeOf(exampleRiskLimits()).toEqualTypeOf<RiskLimits>();
    expectTypeOf(exampleRiskVerdict()).toEqualTypeOf<RiskVerdict>();
    expectTypeOf(exampleOrderRequest()).toEqualTypeOf<OrderRequest>();
    expectTypeOf(exampleOrder()).toEqualTypeOf<Order>();
    expectTypeOf(exampleFill()).toEqualTypeOf<Fill>();
    expectTypeOf(exampleExecutionReport()).toEqualTypeOf<ExecutionReport>();
    expectTypeOf(examplePosition()).toEqualTypeOf<Position>();
    expectTypeOf(examplePortfolioSnapshot()).toEqualTypeOf<PortfolioSnapshot>();
    expectTypeOf(exampleDecisionTrace()).toEqualTypeOf<DecisionTrace>();
    // overrides are checked against the inferred type too
    // @ts-expect-error open is a number
    exampleCandle({ open: '61950' });
    // @ts-expect-error the enum is closed
    exampleTradeDecision({ action: 'buy' });
    // @ts-expect-error schemaVersion is the literal 1
    exampleFill({ schemaVersion: 2 });
    // parsing gives back the same type the fixtures are written in
    expectTypeOf(MESSAGE_SCHEMAS.DecisionTrace.parse(exampleDecisionTrace())).toEqualTypeOf<DecisionTrace>();
  });
});

describe('the example story is consistent', () => {
  it('every message is about the same decision, order, market and bar', () => {
    const candle = exampleCandle();
    const decision = exampleTradeDecision();
    const verdict = exampleRiskVerdict();
    const request = exampleOrderRequest();
    const order = exampleOrder();
    const report = exampleExecutionReport();
    const fill = exampleFill();
    const asOf = candle.ts + TIMEFRAME_MS[candle.timeframe];

    for (const m of [exampleMarketSnapshot(), exampleAnalysisReport(), exampleMemoryRecall(), exampleSignalProposal(), decision]) {
      expect(m).toMatchObject({ exchange: candle.exchange, symbol: candle.symbol, timeframe: candle.timeframe, asOf });
    }
    expect(exampleMarketSnapshot().lastPrice).toBe(candle.close);
    expect(exampleAnalysisReport().close).toBe(candle.close);
    expect(decision.referencePrice).toBe(candle.close);

    expect(new Set([decision.decisionId, verdict.decisionId, request.decisionId, order.decisionId])).toEqual(new Set([EXAMPLE_IDS.decisionId]));
    expect(new Set([request.orderId, order.orderId, report.orderId, fill.orderId, report.fills[0]?.orderId])).toEqual(new Set([EXAMPLE_IDS.orderId]));
    expect(verdict.approvedQuantity).toBe(decision.quantity);
    expect(request).toMatchObject({ side: decision.side, type: decision.orderType, quantity: verdict.approvedQuantity, stopPrice: decision.stopPrice });
    expect(request.approval.limitsVersion).toBe(verdict.limitsVersion);
    expect(request.approval.expiresAt).toBeGreaterThan(request.createdAt);
    expect(order).toMatchObject({ quantity: request.quantity, filledQuantity: fill.quantity, avgFillPrice: fill.price, fees: fill.fee });
    expect(report).toMatchObject({ status: order.status, filledQuantity: order.filledQuantity, exchangeOrderId: order.exchangeOrderId });
  });

  it('the signal cites the recalled memories and the portfolio holds the filled position', () => {
    const recall = exampleMemoryRecall();
    const signal = exampleSignalProposal();
    expect(signal.evidence.memoryIds).toEqual(recall.neighbours.map((n) => n.memoryId));
    expect(signal.evidence.memoryStats).toEqual(recall.stats);
    expect(recall.stats.n).toBe(recall.neighbours.length);

    const portfolio = examplePortfolioSnapshot();
    const position = examplePosition();
    expect(portfolio.positions).toEqual([position]);
    expect(position.quantity).toBe(exampleFill().quantity);
    expect(position.notional).toBeCloseTo(Math.abs(position.quantity) * position.markPrice, 9);
    expect(position.unrealizedPnl).toBeCloseTo((position.markPrice - position.avgEntryPrice) * position.quantity, 9);
    expect(portfolio.equity).toBeCloseTo(portfolio.cash + position.quantity * position.markPrice, 6);
    expect(portfolio.equity).toBeCloseTo(portfolio.dayStartEquity + portfolio.dailyPnl, 6);
    expect(portfolio.drawdownPct).toBeCloseTo(((portfolio.peakEquity - portfolio.equity) / portfolio.peakEquity) * 100, 6);
  });

  it('the trace contains the very messages the fixtures give, in graph order', () => {
    const trace = exampleDecisionTrace();
    expect(trace.nodes.map((n) => n.node)).toEqual(['analysis', 'recall', 'signal', 'decision', 'risk']);
    expect(trace.nodes.map((n) => n.output)).toEqual([
      exampleAnalysisReport(),
      exampleMemoryRecall(),
      exampleSignalProposal(),
      exampleTradeDecision(),
      exampleRiskVerdict(),
    ]);
    expect(trace).toMatchObject({ decisionId: EXAMPLE_IDS.decisionId, traceId: EXAMPLE_IDS.traceId, asOf: EXAMPLE_TIMES.asOf, outcome: 'order' });
    expect(trace.verdict).toEqual(exampleRiskVerdict());
    expect(trace.orderRequest).toEqual(exampleOrderRequest());
    expect(trace.recalledMemoryIds).toEqual(EXAMPLE_IDS.memoryIds);
  });

  it('the times run forward: bar open < close (asOf) < verdict < order < fill, and memories resolved before asOf', () => {
    const t = EXAMPLE_TIMES;
    expect(t.barOpen).toBeLessThan(t.asOf);
    expect(t.asOf).toBeLessThan(t.evaluatedAt);
    expect(t.evaluatedAt).toBeLessThan(t.orderCreatedAt);
    expect(t.orderCreatedAt).toBeLessThan(t.filledAt);
    expect(t.filledAt).toBeLessThan(t.approvalExpiresAt);
    for (const n of exampleMemoryRecall().neighbours) expect(n.resolvedAt).toBeLessThanOrEqual(t.asOf);
  });
});

describe('example functions', () => {
  it.each(Object.keys(MESSAGE_EXAMPLES) as MessageName[])('%s returns a fresh deep copy each call', (name) => {
    const a = MESSAGE_EXAMPLES[name]() as Record<string, unknown>;
    const b = MESSAGE_EXAMPLES[name]() as Record<string, unknown>;
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
    // mutate every nested object/array of the first; the second must not change
    const snapshot = JSON.stringify(b);
    const scramble = (v: unknown): void => {
      if (Array.isArray(v)) {
        v.forEach(scramble);
        v.push('mutated');
      } else if (v !== null && typeof v === 'object') {
        for (const x of Object.values(v)) scramble(x);
        (v as Record<string, unknown>).mutated = true;
      }
    };
    scramble(a);
    expect(JSON.stringify(b)).toBe(snapshot);
    expect(JSON.stringify(MESSAGE_EXAMPLES[name]())).toBe(snapshot);
  });

  it('apply overrides on top of the example', () => {
    const hold = exampleTradeDecision({ action: 'hold', side: null, quantity: 0 });
    expect(hold).toMatchObject({ action: 'hold', side: null, quantity: 0, decisionId: EXAMPLE_IDS.decisionId });
    expect(MESSAGE_SCHEMAS.TradeDecision.safeParse(hold).success).toBe(true);
    expect(exampleCandle({ close: 62_400, high: 62_500 })).toMatchObject({ close: 62_400, high: 62_500, open: 61_950 });
  });
});
