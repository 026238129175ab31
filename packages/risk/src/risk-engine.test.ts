import { describe, expect, it } from 'vitest';
import { RISK_CHECKS, RiskVerdictSchema, type RiskCheckName, type RiskLimits, type RiskVerdict, type TradingState } from '@meridian/contracts';
import { evaluate } from './risk-engine.ts';
import { ALL_CHECKS_LIMITS, T0, activeState, makeDecision, makeMarket, makePortfolio, makePosition } from './risk-fixtures.ts';

type Inputs = {
  limits?: Partial<RiskLimits>;
  decision?: Parameters<typeof makeDecision>[0];
  portfolio?: Parameters<typeof makePortfolio>[0];
  market?: Parameters<typeof makeMarket>[0];
  info?: Parameters<typeof makeMarket>[1];
  state?: TradingState;
  now?: number;
};

function run(i: Inputs): RiskVerdict {
  const limits: RiskLimits = { schemaVersion: 1, allowedSymbols: [], requireStopLoss: false, ...i.limits };
  const v = evaluate(makeDecision(i.decision), makePortfolio(i.portfolio), makeMarket(i.market, i.info), { version: 7, limits }, i.state ?? activeState(), i.now ?? T0);
  // every verdict, whatever its inputs, is a valid boundary message
  expect(RiskVerdictSchema.safeParse(v).success, JSON.stringify(v)).toBe(true);
  return v;
}

const check = (v: RiskVerdict, name: RiskCheckName) => v.checks.find((c) => c.check === name);

interface Case {
  name: string;
  in: Inputs;
  status: RiskVerdict['status'];
  qty?: number;
  /** the check that decides the case, and whether it passed */
  decisive?: [RiskCheckName, boolean];
}

const eth = (notional: number, quantity = notional / 2_000) => makePosition({ symbol: 'ETH/USDT', quantity, markPrice: 2_000, notional: Math.abs(notional) });
const btc = (quantity: number) => makePosition({ quantity });

const cases: Case[] = [
  // validity: NaN, Infinity, negatives, zero, mismatches
  { name: 'zero quantity', in: { decision: { quantity: 0 } }, status: 'rejected', decisive: ['validity', false] },
  { name: 'NaN quantity', in: { decision: { quantity: NaN } }, status: 'rejected', decisive: ['validity', false] },
  { name: 'negative quantity', in: { decision: { quantity: -1 } }, status: 'rejected', decisive: ['validity', false] },
  { name: 'Infinity reference price', in: { decision: { referencePrice: Infinity } }, status: 'rejected', decisive: ['validity', false] },
  { name: 'NaN equity', in: { portfolio: { equity: NaN } }, status: 'rejected', decisive: ['validity', false] },
  { name: 'negative gross exposure', in: { portfolio: { grossExposure: -1 } }, status: 'rejected', decisive: ['validity', false] },
  { name: 'NaN last price', in: { market: { lastPrice: NaN } }, status: 'rejected', decisive: ['validity', false] },
  { name: 'NaN stop', in: { decision: { stopPrice: NaN } }, status: 'rejected', decisive: ['validity', false] },
  { name: 'NaN limit value', in: { limits: { maxOrderNotional: NaN } }, status: 'rejected', decisive: ['validity', false] },
  { name: 'NaN evaluation time', in: { now: NaN }, status: 'rejected', decisive: ['validity', false] },
  { name: 'market data for another symbol', in: { market: { symbol: 'ETH/USDT' } }, status: 'rejected', decisive: ['validity', false] },
  { name: 'hold', in: { decision: { action: 'hold', side: null, quantity: 0 } }, status: 'rejected', decisive: ['validity', false] },
  { name: 'plain order, no limits', in: {}, status: 'approved', qty: 0.01, decisive: ['validity', true] },

  // maxOrderNotional = 500 at 50,000
  { name: 'order exactly at maxOrderNotional', in: { limits: { maxOrderNotional: 500 } }, status: 'approved', qty: 0.01, decisive: ['maxOrderNotional', true] },
  { name: 'order just over maxOrderNotional', in: { limits: { maxOrderNotional: 500 }, decision: { quantity: 0.0101 } }, status: 'resized', qty: 0.01 },
  { name: 'huge order resized', in: { limits: { maxOrderNotional: 500 }, decision: { quantity: 1e300 } }, status: 'resized', qty: 0.01 },
  { name: 'maxOrderNotional 0 rejects new exposure', in: { limits: { maxOrderNotional: 0 } }, status: 'rejected', decisive: ['maxOrderNotional', false] },
  { name: 'maxOrderNotional 0 still lets a reduction through', in: { limits: { maxOrderNotional: 0 }, decision: { side: 'sell', action: 'close' }, portfolio: { positions: [btc(0.01)] } }, status: 'approved', qty: 0.01 },
  {
    name: 'limit orders are valued at the limit price',
    in: { limits: { maxOrderNotional: 500 }, decision: { orderType: 'limit', limitPrice: 49_000, stopPrice: 48_000, quantity: 0.011 } },
    status: 'resized',
    qty: 0.0102,
  },

  // precision: off-step quantities are floored to the step
  { name: 'off-step quantity floored', in: { decision: { quantity: 0.012345 } }, status: 'resized', qty: 0.0123 },
  { name: '0.1+0.2-style noise is on-step', in: { decision: { quantity: 0.1 + 0.2 }, portfolio: { cash: 1e6, equity: 1e6, dayStartEquity: 1e6, peakEquity: 1e6 } }, status: 'approved', qty: 0.1 + 0.2 },
  { name: 'large off-step quantity floored (no relative slack)', in: { decision: { side: 'sell', stopPrice: null, quantity: 6567.221893432778 } }, status: 'resized', qty: 6567.2218 },
  { name: 'coarse step', in: { decision: { quantity: 0.0199 }, info: { qtyStep: 0.01, minQty: 0.01 } }, status: 'resized', qty: 0.01 },

  // maxPositionNotional = 1,000
  { name: 'position exactly at the limit', in: { limits: { maxPositionNotional: 1_000 }, portfolio: { positions: [btc(0.01)] } }, status: 'approved', qty: 0.01 },
  { name: 'position over the limit resized', in: { limits: { maxPositionNotional: 1_000 }, portfolio: { positions: [btc(0.01)] }, decision: { quantity: 0.02 } }, status: 'resized', qty: 0.01 },
  { name: 'position already over: adding rejected', in: { limits: { maxPositionNotional: 1_000 }, portfolio: { positions: [btc(0.03)] } }, status: 'rejected', decisive: ['maxPositionNotional', false] },
  { name: 'position already over: reducing approved', in: { limits: { maxPositionNotional: 1_000 }, portfolio: { positions: [btc(0.03)] }, decision: { side: 'sell', action: 'reduce' } }, status: 'approved', qty: 0.01 },

  // maxGrossExposure = 5,000 with ETH 4,000 open
  { name: 'gross exactly at the limit', in: { limits: { maxGrossExposure: 5_000 }, portfolio: { positions: [eth(4_000)] }, decision: { quantity: 0.02 } }, status: 'approved', qty: 0.02 },
  { name: 'gross just over resized', in: { limits: { maxGrossExposure: 5_000 }, portfolio: { positions: [eth(4_000)] }, decision: { quantity: 0.0201 } }, status: 'resized', qty: 0.02 },

  // maxNetExposure = 4,500 with ETH long 4,000
  { name: 'net exactly at the limit', in: { limits: { maxNetExposure: 4_500 }, portfolio: { positions: [eth(4_000)] } }, status: 'approved', qty: 0.01 },
  { name: 'net just over resized', in: { limits: { maxNetExposure: 4_500 }, portfolio: { positions: [eth(4_000)] }, decision: { quantity: 0.011 } }, status: 'resized', qty: 0.01 },
  {
    name: 'a hedge that lowers net exposure passes even above the limit',
    in: { limits: { maxNetExposure: 1_000 }, portfolio: { positions: [eth(4_000)] }, decision: { side: 'sell', stopPrice: 51_000, quantity: 0.02 } },
    status: 'approved',
    qty: 0.02,
    decisive: ['maxNetExposure', true],
  },

  // maxLeverage = 1 at equity 10,000 with ETH 9,000 open
  { name: 'leverage exactly 1', in: { limits: { maxLeverage: 1 }, portfolio: { positions: [eth(9_000)] }, decision: { quantity: 0.02 } }, status: 'approved', qty: 0.02 },
  { name: 'leverage over 1 resized', in: { limits: { maxLeverage: 1 }, portfolio: { positions: [eth(9_000)] }, decision: { quantity: 0.03 } }, status: 'resized', qty: 0.02 },
  { name: 'zero equity cannot lever', in: { limits: { maxLeverage: 3 }, portfolio: { equity: 0 } }, status: 'rejected', decisive: ['maxLeverage', false] },

  // maxOpenPositions
  { name: 'a new symbol beyond maxOpenPositions', in: { limits: { maxOpenPositions: 1 }, portfolio: { positions: [eth(1_000)] } }, status: 'rejected', decisive: ['maxOpenPositions', false] },
  { name: 'adding to an open symbol at maxOpenPositions', in: { limits: { maxOpenPositions: 2 }, portfolio: { positions: [eth(1_000), btc(0.01)] } }, status: 'approved', qty: 0.01 },
  { name: 'maxOpenPositions 0', in: { limits: { maxOpenPositions: 0 } }, status: 'rejected', decisive: ['maxOpenPositions', false] },

  // riskPerTradePct = 1 → 100 at a 1,000 stop distance → 0.1
  { name: 'risk exactly at the limit', in: { limits: { riskPerTradePct: 1 }, decision: { quantity: 0.1 } }, status: 'approved', qty: 0.1 },
  { name: 'risk over the limit resized', in: { limits: { riskPerTradePct: 1 }, decision: { quantity: 0.11 } }, status: 'resized', qty: 0.1 },
  { name: 'risk cannot be measured without a stop', in: { limits: { riskPerTradePct: 1 }, decision: { stopPrice: null } }, status: 'rejected', decisive: ['riskPerTrade', false] },

  // stopLoss
  { name: 'required stop missing', in: { limits: { requireStopLoss: true }, decision: { stopPrice: null } }, status: 'rejected', decisive: ['stopLoss', false] },
  { name: 'stop on the wrong side of a buy', in: { decision: { stopPrice: 50_001 } }, status: 'rejected', decisive: ['stopLoss', false] },
  { name: 'stop at the entry', in: { decision: { stopPrice: 50_000 } }, status: 'rejected', decisive: ['stopLoss', false] },
  { name: 'reduction needs no stop', in: { limits: { requireStopLoss: true }, decision: { stopPrice: null, side: 'sell', action: 'close' }, portfolio: { positions: [btc(0.01)] } }, status: 'approved' },

  // minConfidence
  { name: 'confidence exactly at the minimum', in: { limits: { minConfidence: 0.6 }, decision: { confidence: 0.6 } }, status: 'approved' },
  { name: 'confidence just below', in: { limits: { minConfidence: 0.6 }, decision: { confidence: 0.5999 } }, status: 'rejected', decisive: ['minConfidence', false] },
  { name: 'minConfidence 0', in: { limits: { minConfidence: 0 }, decision: { confidence: 0 } }, status: 'approved' },

  // orderRate
  { name: 'the last order allowed this minute', in: { limits: { maxOrdersPerMinute: 5 }, portfolio: { ordersLastMinute: 4 } }, status: 'approved' },
  { name: 'one order too many this minute', in: { limits: { maxOrdersPerMinute: 5 }, portfolio: { ordersLastMinute: 5 } }, status: 'rejected', decisive: ['orderRate', false] },
  { name: 'maxOrdersPerMinute 0', in: { limits: { maxOrdersPerMinute: 0 } }, status: 'rejected', decisive: ['orderRate', false] },

  // priceCollar = 1% of 50,000
  { name: 'limit price exactly at the collar', in: { limits: { priceCollarPct: 1 }, decision: { orderType: 'limit', limitPrice: 50_500 } }, status: 'approved' },
  { name: 'limit price just beyond the collar', in: { limits: { priceCollarPct: 1 }, decision: { orderType: 'limit', limitPrice: 50_500.01 } }, status: 'rejected', decisive: ['priceCollar', false] },
  { name: 'market orders are not collared', in: { limits: { priceCollarPct: 1 } }, status: 'approved', decisive: ['priceCollar', true] },

  // dataAge
  { name: 'data exactly maxDataAgeMs old', in: { limits: { maxDataAgeMs: 60_000 }, now: T0 + 60_000 }, status: 'approved' },
  { name: 'data 1 ms too old', in: { limits: { maxDataAgeMs: 60_000 }, now: T0 + 60_001 }, status: 'rejected', decisive: ['dataAge', false] },

  // dailyLoss / drawdown
  { name: 'daily loss exactly at the limit', in: { limits: { maxDailyLossPct: 2 }, portfolio: { equity: 9_800, cash: 9_800 } }, status: 'approved' },
  { name: 'daily loss just over', in: { limits: { maxDailyLossPct: 2 }, portfolio: { equity: 9_799, cash: 9_799 } }, status: 'rejected', decisive: ['dailyLoss', false] },
  { name: 'drawdown exactly at the limit', in: { limits: { maxDrawdownPct: 5 }, portfolio: { equity: 9_500, cash: 9_500, dayStartEquity: 9_500 } }, status: 'approved' },
  { name: 'drawdown just over', in: { limits: { maxDrawdownPct: 5 }, portfolio: { equity: 9_499, cash: 9_499, dayStartEquity: 9_499 } }, status: 'rejected', decisive: ['drawdown', false] },

  // minOrderSize
  { name: 'below minQty', in: { decision: { quantity: 0.0005 } , info: { minQty: 0.001 } }, status: 'rejected', decisive: ['minOrderSize', false] },
  { name: 'below minNotional', in: { decision: { quantity: 0.0001 }, info: { minNotional: 10 } }, status: 'rejected', decisive: ['minOrderSize', false] },
  { name: 'exactly minNotional', in: { decision: { quantity: 0.0002 }, info: { minNotional: 10 } }, status: 'approved' },
  { name: 'resized below the minimum is rejected', in: { limits: { maxOrderNotional: 40 }, info: { minQty: 0.001 } }, status: 'rejected', decisive: ['maxOrderNotional', false] },

  // balance
  { name: 'cost exactly the cash', in: { portfolio: { cash: 500 } }, status: 'approved', qty: 0.01 },
  { name: 'not enough cash resized', in: { portfolio: { cash: 100 } }, status: 'resized', qty: 0.002 },
  { name: 'no cash at all', in: { portfolio: { cash: 0 } }, status: 'rejected', decisive: ['balance', false] },
  { name: 'sells need no cash', in: { portfolio: { cash: 0, positions: [btc(0.01)] }, decision: { side: 'sell', action: 'close' } }, status: 'approved' },

  // approvalThreshold
  { name: 'exactly at the approval threshold', in: { limits: { requireApprovalAboveNotional: 500 } }, status: 'approved' },
  { name: 'above the approval threshold', in: { limits: { requireApprovalAboveNotional: 499.99 } }, status: 'pending_approval', qty: 0.01, decisive: ['approvalThreshold', false] },
  { name: 'resized, still above the approval threshold', in: { limits: { requireApprovalAboveNotional: 400, maxOrderNotional: 450 } }, status: 'pending_approval', qty: 0.009 },
  { name: 'pending only when everything else passes', in: { limits: { requireApprovalAboveNotional: 100, minConfidence: 0.9 } }, status: 'rejected', decisive: ['minConfidence', false] },

  // allowedSymbols
  { name: 'symbol not allowed', in: { limits: { allowedSymbols: ['ETH/USDT'] } }, status: 'rejected', decisive: ['allowedSymbols', false] },
  { name: 'closing a symbol that is no longer allowed', in: { limits: { allowedSymbols: ['ETH/USDT'] }, portfolio: { positions: [btc(0.01)] }, decision: { side: 'sell', action: 'close' } }, status: 'approved' },

  // trading state
  { name: 'HALTED rejects new exposure', in: { state: { ...activeState(), state: 'HALTED' } }, status: 'rejected', decisive: ['tradingState', false] },
  { name: 'HALTED rejects reductions too', in: { state: { ...activeState(), state: 'HALTED' }, portfolio: { positions: [btc(0.01)] }, decision: { side: 'sell', action: 'close' } }, status: 'rejected', decisive: ['tradingState', false] },
  { name: 'a daily-loss halt past its end is over', in: { state: { ...activeState(), state: 'HALTED', until: T0 } }, status: 'approved' },
  { name: 'REDUCING accepts a reduction', in: { state: { ...activeState(), state: 'REDUCING' }, portfolio: { positions: [btc(0.01)] }, decision: { side: 'sell', action: 'reduce', quantity: 0.005 } }, status: 'approved' },
  { name: 'REDUCING rejects an open', in: { state: { ...activeState(), state: 'REDUCING' } }, status: 'rejected', decisive: ['tradingState', false] },
  {
    name: 'REDUCING resizes a reverse to the close',
    in: { state: { ...activeState(), state: 'REDUCING' }, portfolio: { positions: [btc(0.01)] }, decision: { side: 'sell', action: 'reverse', quantity: 0.03, stopPrice: 51_000 } },
    status: 'resized',
    qty: 0.01,
  },

  // reverse: the new part is judged
  {
    name: 'reverse judged on its new part',
    in: { limits: { maxOrderNotional: 500 }, portfolio: { positions: [btc(0.01)] }, decision: { side: 'sell', action: 'reverse', quantity: 0.02, stopPrice: 51_000 } },
    status: 'approved',
    qty: 0.02,
  },
  {
    name: 'reverse with too large a new part resized',
    in: { limits: { maxOrderNotional: 500 }, portfolio: { positions: [btc(0.01)] }, decision: { side: 'sell', action: 'reverse', quantity: 0.03, stopPrice: 51_000 } },
    status: 'resized',
    qty: 0.02,
  },
];

describe('evaluate: each check at its edges', () => {
  it.each(cases)('$name → $status', (c) => {
    const v = run(c.in);
    expect(v.status, v.reasons.join('\n')).toBe(c.status);
    if (c.qty !== undefined) expect(v.approvedQuantity).toBeCloseTo(c.qty, 12);
    if (c.status === 'rejected') expect(v.approvedQuantity).toBe(0);
    if (c.decisive) {
      const [name, passed] = c.decisive;
      const ch = check(v, name);
      expect(ch, `check ${name} ran`).toBeDefined();
      expect(ch?.passed).toBe(passed);
    }
  });
});

describe('evaluate: verdict contents', () => {
  it('lists every check, in the closed order, when all limits are set', () => {
    const v = evaluate(makeDecision(), makePortfolio(), makeMarket(), { version: 3, limits: ALL_CHECKS_LIMITS }, activeState(), T0);
    expect(v.status).toBe('approved');
    expect(v.checks.map((c) => c.check)).toEqual(RISK_CHECKS);
    expect(v.limitsVersion).toBe(3);
    expect(v.tradingState).toBe('ACTIVE');
    expect(v.evaluatedAt).toBe(T0);
    for (const c of v.checks) expect(c.message.length).toBeGreaterThan(5);
  });

  it('reports the limit and the measured value of a failing check, with a readable reason', () => {
    const v = run({ limits: { maxOrderNotional: 400, requireApprovalAboveNotional: 10_000 }, info: { minQty: 0.01 } });
    expect(v.status).toBe('rejected');
    const c = check(v, 'maxOrderNotional');
    expect(c).toMatchObject({ passed: false, limit: 400, actual: 500 });
    expect(c?.message).toBe('new exposure 500 exceeds maxOrderNotional 400');
    expect(v.reasons[0]).toBe('maxOrderNotional: new exposure 500 exceeds maxOrderNotional 400');
    expect(v.reasons.at(-1)).toMatch(/cannot resize/);
  });

  it('a resized verdict shows the checks at the new size and the reason it was resized', () => {
    const v = run({ limits: { maxOrderNotional: 250 } });
    expect(v.status).toBe('resized');
    expect(v.requestedQuantity).toBe(0.01);
    expect(v.approvedQuantity).toBe(0.005);
    expect(check(v, 'maxOrderNotional')).toMatchObject({ passed: true, actual: 250 });
    expect(v.reasons).toEqual(['maxOrderNotional: new exposure 500 exceeds maxOrderNotional 250', 'resized from 0.01 to 0.005, the largest quantity that passes every check']);
  });

  it('marks reductions and judges a partial close as one', () => {
    const v = run({ portfolio: { positions: [btc(0.02)] }, decision: { side: 'sell', action: 'reduce', stopPrice: null } });
    expect(v.reducesExposure).toBe(true);
    const w = run({ portfolio: { positions: [btc(0.01)] }, decision: { side: 'sell', action: 'reverse', quantity: 0.02, stopPrice: 51_000 } });
    expect(w.reducesExposure).toBe(false);
  });

  it('never throws on garbage and rejects it with validity', () => {
    const v = evaluate(makeDecision({ quantity: 'x' as unknown as number }), makePortfolio({ positions: [btc(NaN)] }), makeMarket(), { version: 1, limits: ALL_CHECKS_LIMITS }, activeState(), T0);
    expect(v.status).toBe('rejected');
    expect(v.checks).toEqual([expect.objectContaining({ check: 'validity', passed: false })]);
  });
});
