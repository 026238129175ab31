import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RiskVerdictSchema, type MarketSnapshot, type PortfolioSnapshot, type RiskLimits, type TradeDecision, type TradingState } from '@meridian/contracts';
import { evaluate } from './risk-engine.ts';
import { T0, makeDecision, makeMarket, makePortfolio, makePosition } from './risk-fixtures.ts';

/**
 * Properties over random portfolios, decisions, limits and trading states. The oracle below
 * recomputes every limit from first principles (same pricing convention as docs/risk.md:
 * limit orders at the limit price, market orders at max(reference, last); the traded symbol's
 * position revalued at that price) and must find no breach in any approved or resized order.
 */

interface World {
  d: TradeDecision;
  pf: PortfolioSnapshot;
  m: MarketSnapshot;
  L: RiskLimits;
  st: TradingState;
  now: number;
}

/** uniform over [min, max] (fc.double spreads over exponents, so most draws would be tiny) */
const real = (min: number, max: number) => fc.integer({ min: 0, max: 1_000_000 }).map((i) => min + ((max - min) * i) / 1_000_000);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });
const pctArb = real(1, 100);
const money = (max: number) => fc.oneof({ weight: 9, arbitrary: real(0, max) }, { weight: 1, arbitrary: fc.constant(0) });

const limitsArb: fc.Arbitrary<RiskLimits> = fc
  .record({
    allowedSymbols: fc.constantFrom<string[]>([], [], ['BTC/USDT'], ['ETH/USDT'], ['BTC/USDT', 'ETH/USDT']),
    maxOrderNotional: opt(money(5_000)),
    maxPositionNotional: opt(money(8_000)),
    maxGrossExposure: opt(money(20_000)),
    maxNetExposure: opt(money(20_000)),
    maxLeverage: opt(real(0.1, 5)),
    maxOpenPositions: opt(fc.integer({ min: 0, max: 3 })),
    riskPerTradePct: opt(pctArb),
    requireStopLoss: fc.boolean(),
    minConfidence: opt(real(0, 0.7)),
    maxOrdersPerMinute: opt(fc.integer({ min: 0, max: 10 })),
    priceCollarPct: opt(pctArb),
    maxDataAgeMs: opt(fc.integer({ min: 1, max: 300_000 })),
    maxDailyLossPct: opt(pctArb),
    maxDrawdownPct: opt(pctArb),
    requireApprovalAboveNotional: opt(money(5_000)),
  })
  .map((r) => {
    const out: Record<string, unknown> = { schemaVersion: 1 };
    for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = v;
    return out as RiskLimits;
  });

const qtyArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 2_000 }).map((n) => n * 0.0001) },
  { weight: 4, arbitrary: real(0.000001, 0.3) },
  { weight: 1, arbitrary: fc.double({ min: 1e-9, max: 1e9, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0.01, 0.1, 1, 1e6) },
);

const worldArb: fc.Arbitrary<World> = fc
  .record({
    L: limitsArb,
    side: fc.constantFrom('buy' as const, 'sell' as const),
    qty: qtyArb,
    orderType: fc.constantFrom('market' as const, 'limit' as const),
    lastPrice: real(1_000, 100_000),
    refOffset: real(-0.02, 0.02),
    limitOffset: real(-0.05, 0.05),
    stopDist: fc.option(real(0.001, 0.2), { nil: null, freq: 8 }),
    /** one stop in ten on the wrong side of the entry */
    wrongSide: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    confidence: real(0.3, 1),
    btcQty: fc.oneof(fc.constant(0), real(-0.2, 0.2)),
    ethNotional: fc.oneof(fc.constant(0), real(-6_000, 6_000)),
    dayStart: real(1_000, 20_000),
    /** today's move; one portfolio in twenty is under water */
    dayMove: fc.oneof({ weight: 19, arbitrary: real(-0.08, 0.05) }, { weight: 1, arbitrary: fc.constant(-1.1) }),
    cash: fc.oneof({ weight: 9, arbitrary: real(0, 20_000) }, { weight: 1, arbitrary: real(-1_000, 0) }),
    peakExtra: real(0, 0.15),
    orders: fc.integer({ min: 0, max: 8 }),
    state: fc.constantFrom<TradingState['state']>('ACTIVE', 'ACTIVE', 'ACTIVE', 'REDUCING', 'HALTED'),
    age: fc.integer({ min: 0, max: 150_000 }),
    step: fc.constantFrom(0.0001, 0.001, 0.00001),
    minQty: fc.constantFrom(0, 0.0001, 0.001),
    minNotional: fc.constantFrom(0, 5, 10),
  })
  .map((r) => {
    const ref = r.lastPrice * (1 + r.refOffset);
    const entry = r.orderType === 'limit' ? r.lastPrice * (1 + r.limitOffset) : Math.max(ref, r.lastPrice);
    const positions = [];
    if (r.btcQty !== 0) positions.push(makePosition({ quantity: r.btcQty, markPrice: r.lastPrice, notional: Math.abs(r.btcQty) * r.lastPrice }));
    if (r.ethNotional !== 0)
      positions.push(makePosition({ symbol: 'ETH/USDT', quantity: r.ethNotional / 2_000, markPrice: 2_000, notional: Math.abs(r.ethNotional) }));
    const d = makeDecision({
      side: r.side,
      quantity: r.qty,
      orderType: r.orderType,
      limitPrice: r.orderType === 'limit' ? entry : null,
      referencePrice: ref,
      stopPrice: r.stopDist === null ? null : entry * (1 + (r.side === 'buy' ? -1 : 1) * (r.wrongSide ? -r.stopDist : r.stopDist)),
      confidence: r.confidence,
    });
    const equity = r.dayStart * (1 + r.dayMove);
    const pf = makePortfolio({
      positions,
      equity,
      cash: r.cash,
      dayStartEquity: r.dayStart,
      peakEquity: Math.max(r.dayStart, equity) * (1 + r.peakExtra),
      ordersLastMinute: r.orders,
    });
    const m = makeMarket({ lastPrice: r.lastPrice, dataTs: T0 }, { qtyStep: r.step, minQty: r.minQty, minNotional: r.minNotional });
    const st: TradingState = { schemaVersion: 1, state: r.state, reason: 'prop', actor: 'prop', since: T0 - 1, until: null };
    return { d, pf, m, L: r.L, st, now: T0 + r.age };
  });

const TOL = 1e-9;
const le = (v: number, lim: number) => v <= lim + TOL * Math.abs(lim) + 1e-12;

/** Every limit an executed order of `x` would breach (empty = none). */
function breaches(w: World, x: number): string[] {
  const { d, pf, m, L, st, now } = w;
  const out: string[] = [];
  const s = d.side === 'buy' ? 1 : -1;
  const p = d.orderType === 'limit' ? (d.limitPrice as number) : Math.max(d.referencePrice, m.lastPrice);
  const own = pf.positions.find((q) => q.symbol === d.symbol);
  const q0 = own?.quantity ?? 0;
  const q1 = q0 + s * x;
  const reduces = Math.abs(q1) <= Math.abs(q0) * (1 + 1e-12) && (q1 === 0 || Math.sign(q1) === Math.sign(q0) || Math.abs(q1) < 1e-12);
  const newQty = reduces ? 0 : Math.abs(q1) - (Math.sign(q1) === Math.sign(q0) ? Math.abs(q0) : 0);
  const others = pf.positions.filter((q) => q !== own);
  const grossOther = others.reduce((a, q) => a + q.notional, 0);
  const netOther = others.reduce((a, q) => a + Math.sign(q.quantity) * q.notional, 0);

  if (st.state === 'HALTED') out.push('HALTED');
  if (st.state === 'REDUCING' && !reduces) out.push('REDUCING but adds exposure');
  if (L.maxDailyLossPct !== undefined && (pf.dayStartEquity - pf.equity) / pf.dayStartEquity * 100 > L.maxDailyLossPct + 1e-9) out.push('dailyLoss');
  if (L.maxDrawdownPct !== undefined && (pf.peakEquity - pf.equity) / pf.peakEquity * 100 > L.maxDrawdownPct + 1e-9) out.push('drawdown');
  if (L.maxOrdersPerMinute !== undefined && pf.ordersLastMinute + 1 > L.maxOrdersPerMinute) out.push('orderRate');
  if (L.maxDataAgeMs !== undefined && now - m.dataTs > L.maxDataAgeMs) out.push('dataAge');
  if (L.priceCollarPct !== undefined && d.orderType === 'limit' && !le((Math.abs(p - m.lastPrice) / m.lastPrice) * 100, L.priceCollarPct)) out.push('priceCollar');
  if (x < m.market.minQty * (1 - TOL) || x * p < m.market.minNotional * (1 - TOL)) out.push('minOrderSize');
  const steps = x / m.market.qtyStep;
  // a whole number of steps up to the float granularity of the step count: 1e6 / 0.00001 is 99999999999.99998
  if (Math.abs(steps - Math.round(steps)) > Math.max(1e-6, 4 * Number.EPSILON * Math.abs(steps))) out.push('off-step quantity');
  if (!reduces) {
    if (L.allowedSymbols.length > 0 && !L.allowedSymbols.includes(d.symbol)) out.push('allowedSymbols');
    if (L.requireStopLoss && d.stopPrice === null) out.push('stopLoss missing');
    if (d.stopPrice !== null && (s === 1 ? d.stopPrice >= p : d.stopPrice <= p)) out.push('stop on the wrong side');
    if (L.minConfidence !== undefined && d.confidence < L.minConfidence) out.push('minConfidence');
    if (L.maxOrderNotional !== undefined && !le(newQty * p, L.maxOrderNotional)) out.push('maxOrderNotional');
    if (L.maxPositionNotional !== undefined && !le(Math.abs(q1) * p, L.maxPositionNotional)) out.push('maxPositionNotional');
    const grossAfter = grossOther + Math.abs(q1) * p;
    if (L.maxGrossExposure !== undefined && !le(grossAfter, L.maxGrossExposure)) out.push('maxGrossExposure');
    const netBefore = Math.abs(netOther + q0 * p);
    const netAfter = Math.abs(netOther + q1 * p);
    if (L.maxNetExposure !== undefined && !le(netAfter, Math.max(L.maxNetExposure, netBefore))) out.push('maxNetExposure');
    if (L.maxLeverage !== undefined && !(pf.equity > 0 && le(grossAfter, L.maxLeverage * pf.equity))) out.push('maxLeverage');
    if (L.riskPerTradePct !== undefined && !(d.stopPrice !== null && pf.equity > 0 && le((newQty * Math.abs(p - d.stopPrice)) / pf.equity * 100, L.riskPerTradePct)))
      out.push('riskPerTrade');
    if (s === 1 && !le(x * p, Math.max(0, pf.cash))) out.push('balance');
    const openAfter = others.filter((q) => q.quantity !== 0).length + (Math.abs(q1) > 0 ? 1 : 0);
    const openBefore = others.filter((q) => q.quantity !== 0).length + (q0 !== 0 ? 1 : 0);
    if (L.maxOpenPositions !== undefined && openAfter > L.maxOpenPositions && openAfter > openBefore) out.push('maxOpenPositions');
  }
  return out;
}

const RUNS = { numRuns: 3_000 };

/**
 * Found by this property (seed -1497078878): a sell of 1,000,000 on a 0.00001 step, approved by the engine and
 * flagged off-step by an oracle with an absolute tolerance (the step count's float granularity is 1.5e-5 there).
 * The oracle was wrong; the engine's onStep allows for that granularity. Kept as a fixed example.
 */
/**
 * Found by "resizing never increases quantity" (seed 136898041): 470251412.7345298 on a 0.001 step was resized
 * UP to 470251412.735 — floorToStep snapped within a relative 1e-12 of the step count, 0.47 of a step there.
 * floorToStep now snaps only within the count's float granularity. Kept as a fixed example.
 */
const HALF_STEP_BELOW_GRID_HUGE = JSON.parse(String.raw`{"d":{"schemaVersion":1,"decisionId":"0190a3b4-0000-7000-8000-000000000001","exchange":"paper","symbol":"BTC/USDT","timeframe":"1h","asOf":1705320000000,"agentVersion":"test","policy":"deterministic","fallbackReason":null,"action":"open","side":"sell","quantity":470251412.7345298,"orderType":"market","limitPrice":null,"stopPrice":null,"targetPrice":52000,"referencePrice":980,"confidence":0.3,"rationale":"test"},"pf":{"schemaVersion":1,"asOf":1705320000000,"quoteCurrency":"USDT","cash":0,"equity":920,"grossExposure":0,"netExposure":0,"positions":[],"realizedPnl":0,"unrealizedPnl":0,"feesPaid":0,"dayStartEquity":1000,"dailyPnl":0,"peakEquity":1000,"drawdownPct":0,"ordersLastMinute":0},"m":{"schemaVersion":1,"exchange":"paper","symbol":"BTC/USDT","timeframe":"1h","asOf":1705320000000,"lastPrice":1000,"lastCandleTs":1705316400000,"dataTs":1705320000000,"bid":null,"ask":null,"market":{"symbol":"BTC/USDT","base":"BTC","quote":"USDT","minQty":0,"qtyStep":0.001,"priceStep":0.01,"minNotional":0}},"L":{"schemaVersion":1,"allowedSymbols":[],"requireStopLoss":false},"st":{"schemaVersion":1,"state":"ACTIVE","reason":"prop","actor":"prop","since":1705319999999,"until":null},"now":1705320000000}`) as World;

const HUGE_ON_FINE_STEP = JSON.parse(String.raw`{"d":{"schemaVersion":1,"decisionId":"0190a3b4-0000-7000-8000-000000000001","exchange":"paper","symbol":"BTC/USDT","timeframe":"1h","asOf":1705320000000,"agentVersion":"test","policy":"deterministic","fallbackReason":null,"action":"open","side":"sell","quantity":1000000,"orderType":"market","limitPrice":null,"stopPrice":null,"targetPrice":52000,"referencePrice":980,"confidence":0.3,"rationale":"test"},"pf":{"schemaVersion":1,"asOf":1705320000000,"quoteCurrency":"USDT","cash":0,"equity":920,"grossExposure":6000,"netExposure":-6000,"positions":[{"schemaVersion":1,"exchange":"paper","symbol":"ETH/USDT","avgEntryPrice":2000,"markPrice":2000,"notional":6000,"realizedPnl":0,"unrealizedPnl":0,"openedAt":1705316400000,"updatedAt":1705320000000,"quantity":-3}],"realizedPnl":0,"unrealizedPnl":0,"feesPaid":0,"dayStartEquity":1000,"dailyPnl":0,"peakEquity":1000,"drawdownPct":0,"ordersLastMinute":0},"m":{"schemaVersion":1,"exchange":"paper","symbol":"BTC/USDT","timeframe":"1h","asOf":1705320000000,"lastPrice":1000,"lastCandleTs":1705316400000,"dataTs":1705320000000,"bid":null,"ask":null,"market":{"symbol":"BTC/USDT","base":"BTC","quote":"USDT","minQty":0,"qtyStep":0.00001,"priceStep":0.01,"minNotional":0}},"L":{"schemaVersion":1,"allowedSymbols":[],"requireStopLoss":false},"st":{"schemaVersion":1,"state":"ACTIVE","reason":"prop","actor":"prop","since":1705319999999,"until":null},"now":1705320000000}`) as World;

describe('evaluate: properties', () => {
  it('no approved or resized order breaches any limit; pending only above the approval threshold', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const v = evaluate(w.d, w.pf, w.m, { version: 1, limits: w.L }, w.st, w.now);
        expect(RiskVerdictSchema.safeParse(v).success).toBe(true);
        if (v.status === 'approved' || v.status === 'resized' || v.status === 'pending_approval') {
          expect(breaches(w, v.approvedQuantity), JSON.stringify({ v, w })).toEqual([]);
        }
        if (v.status === 'pending_approval') expect(w.L.requireApprovalAboveNotional).toBeDefined();
        if (v.status === 'approved') expect(v.approvedQuantity).toBe(w.d.quantity);
      }),
      { ...RUNS, examples: [[HUGE_ON_FINE_STEP]] },
    );
  });

  it('resizing never increases quantity, and a resize is always to a smaller order', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const v = evaluate(w.d, w.pf, w.m, { version: 1, limits: w.L }, w.st, w.now);
        expect(v.approvedQuantity).toBeLessThanOrEqual(v.requestedQuantity);
        if (v.status === 'resized') expect(v.approvedQuantity).toBeLessThan(v.requestedQuantity);
      }),
      { ...RUNS, examples: [[HALF_STEP_BELOW_GRID_HUGE]] },
    );
  });

  it('a resize is to the largest passing quantity: one step more would breach a limit', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const v = evaluate(w.d, w.pf, w.m, { version: 1, limits: w.L }, w.st, w.now);
        if (v.status !== 'resized') return;
        const next = v.approvedQuantity + w.m.market.qtyStep;
        if (next <= v.requestedQuantity) expect(breaches(w, next), JSON.stringify({ v, w })).not.toEqual([]);
      }),
      RUNS,
    );
  });

  it('the same inputs give the same verdict', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const a = evaluate(w.d, w.pf, w.m, { version: 1, limits: w.L }, w.st, w.now);
        const c = structuredClone(w);
        const b = evaluate(c.d, c.pf, c.m, { version: 1, limits: c.L }, c.st, c.now);
        expect(b).toEqual(a);
      }),
      { numRuns: 1_000 },
    );
  });

  it('HALTED approves nothing', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const v = evaluate(w.d, w.pf, w.m, { version: 1, limits: w.L }, { ...w.st, state: 'HALTED', until: null }, w.now);
        expect(v.status).toBe('rejected');
        expect(v.approvedQuantity).toBe(0);
      }),
      RUNS,
    );
  });

  it('REDUCING approves only reductions', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const v = evaluate(w.d, w.pf, w.m, { version: 1, limits: w.L }, { ...w.st, state: 'REDUCING' }, w.now);
        if (v.status !== 'rejected') {
          expect(v.reducesExposure).toBe(true);
          const q0 = w.pf.positions.find((q) => q.symbol === w.d.symbol)?.quantity ?? 0;
          const q1 = q0 + (w.d.side === 'buy' ? 1 : -1) * v.approvedQuantity;
          // never grows, never flips (beyond the 1e-9-of-a-step binary noise floorToStep forgives)
          expect(Math.abs(q1)).toBeLessThanOrEqual(Math.abs(q0) * (1 + 1e-12));
          expect(q1 * Math.sign(q0)).toBeGreaterThanOrEqual(-1e-9 * w.m.market.qtyStep);
        }
      }),
      RUNS,
    );
  });

  it('garbage numbers anywhere are rejected by validity, never approved', () => {
    const bad = fc.constantFrom(NaN, Infinity, -Infinity, -1);
    fc.assert(
      fc.property(worldArb, bad, fc.integer({ min: 0, max: 5 }), (w, x, where) => {
        const c = structuredClone(w);
        if (where === 0) c.d.quantity = x;
        if (where === 1) c.d.referencePrice = x;
        if (where === 2) c.m.lastPrice = x;
        if (where === 3) c.pf.grossExposure = x;
        if (where === 4) c.m.market.qtyStep = x;
        if (where === 5) (c.pf as { ordersLastMinute: number }).ordersLastMinute = x;
        const v = evaluate(c.d, c.pf, c.m, { version: 1, limits: c.L }, c.st, c.now);
        expect(v.status).toBe('rejected');
        expect(v.checks[0]).toMatchObject({ check: 'validity', passed: false });
      }),
      { numRuns: 1_000 },
    );
  });
});
