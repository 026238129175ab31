import type {
  MarketSnapshot,
  PortfolioSnapshot,
  Position,
  RiskCheck,
  RiskCheckName,
  RiskLimits,
  RiskVerdict,
  TradeDecision,
  TradingState,
  TradingStateName,
  VerdictStatus,
} from '@meridian/contracts';
import { floorToStep } from '@meridian/core';
import { fmtNum } from './limit-fields.ts';
import { dailyLossPct, drawdownPct, effectiveTradingState } from './trading-state.ts';

/** Limits as stored: the document and the version it was stored under. */
export interface VersionedLimits {
  readonly version: number;
  readonly limits: RiskLimits;
}

/**
 * Relative tolerance for "within the limit": absorbs binary noise such as
 * 0.1 × 3 = 0.30000000000000004 so an order exactly at a limit passes.
 */
const TOL = 1e-9;
const within = (v: number, limit: number): boolean => v <= limit + TOL * Math.abs(limit) + 1e-12;

/**
 * Everything about one evaluation that does not depend on the quantity being tried.
 * Notation: s = +1 buy / −1 sell; q0 = signed position before; R = how much of the order can
 * only close the existing position (opposing orders); base = existing exposure in the order's
 * direction (same-direction orders). For an order of x, the new exposure is n = x − R (≥ 0) and
 * the position after, when n > 0, is base + n in the order's direction.
 */
interface Ctx {
  readonly d: TradeDecision;
  readonly pf: PortfolioSnapshot;
  readonly m: MarketSnapshot;
  readonly L: RiskLimits;
  readonly state: TradingStateName;
  readonly now: number;
  readonly s: 1 | -1;
  /** price the order is valued at: limit price, or the higher of reference and last price */
  readonly p: number;
  readonly q0: number;
  readonly R: number;
  readonly base: number;
  /** gross / net exposure of every other symbol */
  readonly gOther: number;
  readonly nOther: number;
  /** open positions in other symbols */
  readonly openOthers: number;
  readonly equity: number;
  /** the limits formatted for messages, computed once per limits document */
  readonly fl: FormattedLimits;
}

type NumericLimit = { [K in keyof RiskLimits]-?: NonNullable<RiskLimits[K]> extends number ? K : never }[keyof RiskLimits];
type FormattedLimits = { readonly [K in NumericLimit]: string };
const formatted = new WeakMap<RiskLimits, FormattedLimits>();

/** Number formatting is the costliest part of building messages; limits repeat across evaluations.
 * Keyed by the document object: limits documents are treated as immutable (a change is a new version). */
function formatLimits(L: RiskLimits): FormattedLimits {
  let f = formatted.get(L);
  if (!f) {
    const o = (v: number | undefined) => (v === undefined ? '' : fmtNum(v));
    f = {
      schemaVersion: o(L.schemaVersion),
      maxOrderNotional: o(L.maxOrderNotional),
      maxPositionNotional: o(L.maxPositionNotional),
      maxGrossExposure: o(L.maxGrossExposure),
      maxNetExposure: o(L.maxNetExposure),
      maxLeverage: o(L.maxLeverage),
      maxOpenPositions: o(L.maxOpenPositions),
      riskPerTradePct: o(L.riskPerTradePct),
      minConfidence: o(L.minConfidence),
      maxOrdersPerMinute: o(L.maxOrdersPerMinute),
      priceCollarPct: o(L.priceCollarPct),
      maxDataAgeMs: o(L.maxDataAgeMs),
      maxDailyLossPct: o(L.maxDailyLossPct),
      maxDrawdownPct: o(L.maxDrawdownPct),
      requireApprovalAboveNotional: o(L.requireApprovalAboveNotional),
    };
    formatted.set(L, f);
  }
  return f;
}

/** Per-check failure kinds: size failures can be fixed by a smaller quantity, others cannot. */
const PASS = 0;
const FAIL_SIZE = 1;
const FAIL_HARD = 2;
const PENDING = 3;

interface RunResult {
  checks: RiskCheck[];
  hard: number;
  size: number;
  pending: boolean;
}

/**
 * Messages: a passing check says so in a fixed sentence (its numbers are in `limit` and
 * `actual`); a failing check spells out the numbers. Formatting numbers is the costliest part
 * of an evaluation, and failures are what people read.
 *
 * The risk gate: a pure, deterministic function of its inputs. Every check that ran is in the
 * verdict with its limit, the measured value and a message a person understands.
 * Inputs are trusted to be schema-valid shapes (validate at the boundary), but any NaN,
 * Infinity or negative number that slips through is rejected by the `validity` check.
 */
export function evaluate(
  decision: TradeDecision,
  portfolio: PortfolioSnapshot,
  market: MarketSnapshot,
  limits: VersionedLimits,
  state: TradingState,
  now: number,
): RiskVerdict {
  const stateName = effectiveTradingState(state, now);
  const requested = Number.isFinite(decision.quantity) && decision.quantity > 0 ? decision.quantity : 0;
  const invalid = validityProblem(decision, portfolio, market, limits, now);
  if (invalid !== null) {
    const c: RiskCheck = { check: 'validity', passed: false, limit: null, actual: null, message: invalid };
    return verdict(decision, limits, stateName, now, 'rejected', [c], requested, 0, false, [c.message]);
  }
  const ctx = makeCtx(decision, portfolio, market, limits.limits, stateName, now);
  const Q = decision.quantity;
  const first = runChecks(ctx, Q);
  const firstReasons = failedMessages(first.checks);

  if (first.hard === 0 && first.size === 0) {
    return verdict(decision, limits, stateName, now, first.pending ? 'pending_approval' : 'approved', first.checks, Q, Q, newPart(ctx, Q) === 0, firstReasons);
  }
  if (first.hard > 0) {
    return verdict(decision, limits, stateName, now, 'rejected', first.checks, Q, 0, newPart(ctx, Q) === 0, firstReasons);
  }

  // Only size failed: the largest quantity every size check allows, floored to the market's step
  // (the one rounding place), then every check again on the smaller order.
  const step = market.market.qtyStep;
  let x = floorToStep(Math.min(Q, maxQuantity(ctx)), step);
  // floorToStep forgives 1e-9 of a step of binary noise; if that tips a check over, one step less
  for (let attempt = 0; attempt < 2 && x > 0; attempt++) {
    const again = runChecks(ctx, x);
    if (again.hard === 0 && again.size === 0) {
      const status: VerdictStatus = again.pending ? 'pending_approval' : 'resized';
      return verdict(decision, limits, stateName, now, status, again.checks, Q, x, newPart(ctx, x) === 0, [
        ...firstReasons,
        `resized from ${fmtNum(Q)} to ${fmtNum(x)}, the largest quantity that passes every check`,
      ]);
    }
    // a smaller order cannot pass a check that is not about size (e.g. the market minimum)
    if (again.hard > 0) break;
    x = floorToStep(x - step, step);
  }
  const why =
    x > 0
      ? `cannot resize: the largest quantity within the size limits (${fmtNum(x)}) fails the market's minimum order size or another check`
      : `cannot resize: no quantity above zero (in steps of ${fmtNum(step)}) passes the size limits`;
  return verdict(decision, limits, stateName, now, 'rejected', first.checks, Q, 0, newPart(ctx, Q) === 0, [...firstReasons, why]);
}

function verdict(
  d: TradeDecision,
  limits: VersionedLimits,
  state: TradingStateName,
  now: number,
  status: VerdictStatus,
  checks: RiskCheck[],
  requested: number,
  approved: number,
  reduces: boolean,
  reasons: string[],
): RiskVerdict {
  return {
    schemaVersion: 1,
    decisionId: d.decisionId,
    status,
    checks,
    requestedQuantity: requested,
    approvedQuantity: status === 'rejected' ? 0 : approved,
    reducesExposure: reduces,
    limitsVersion: Number.isInteger(limits.version) && limits.version >= 0 ? limits.version : 0,
    tradingState: state,
    evaluatedAt: Number.isFinite(now) ? now : 0,
    reasons,
  };
}

function failedMessages(checks: readonly RiskCheck[]): string[] {
  const out: string[] = [];
  for (const c of checks) if (!c.passed) out.push(`${c.check}: ${c.message}`);
  return out;
}

const fin = Number.isFinite;
const pos = (n: number): boolean => fin(n) && n > 0;
const nonneg = (n: number): boolean => fin(n) && n >= 0;

/** null when everything is usable; otherwise what is wrong, for a person. */
function validityProblem(d: TradeDecision, pf: PortfolioSnapshot, m: MarketSnapshot, lv: VersionedLimits, now: number): string | null {
  if (d.action === 'hold' || d.side === null) return 'a hold decision places no order';
  if (d.side !== 'buy' && d.side !== 'sell') return `side must be buy or sell, got ${String(d.side)}`;
  if (!pos(d.quantity)) return `order quantity must be a finite number > 0, got ${fmtNum(d.quantity)}`;
  if (!pos(d.referencePrice)) return `reference price must be a finite number > 0, got ${fmtNum(d.referencePrice)}`;
  if (d.orderType === 'limit' ? !pos(d.limitPrice ?? NaN) : d.limitPrice !== null)
    return d.orderType === 'limit' ? `a limit order needs a finite limit price > 0, got ${String(d.limitPrice)}` : 'a market order has no limit price';
  if (d.stopPrice !== null && !pos(d.stopPrice)) return `stop price must be a finite number > 0, got ${fmtNum(d.stopPrice)}`;
  if (!(d.confidence >= 0 && d.confidence <= 1)) return `confidence must be between 0 and 1, got ${fmtNum(d.confidence)}`;
  if (d.symbol !== m.symbol || d.exchange !== m.exchange)
    return `market data is for ${m.exchange}:${m.symbol} but the decision is for ${d.exchange}:${d.symbol}`;
  if (!pos(m.lastPrice)) return `last price must be a finite number > 0, got ${fmtNum(m.lastPrice)}`;
  const mi = m.market;
  if (!pos(mi.qtyStep) || !nonneg(mi.minQty) || !nonneg(mi.minNotional))
    return `market rules for ${m.symbol} are unusable (qtyStep ${fmtNum(mi.qtyStep)}, minQty ${fmtNum(mi.minQty)}, minNotional ${fmtNum(mi.minNotional)})`;
  if (!fin(m.dataTs)) return `market data time must be finite epoch ms, got ${fmtNum(m.dataTs)}`;
  if (!fin(now)) return `evaluation time must be finite epoch ms, got ${fmtNum(now)}`;
  if (!fin(pf.equity) || !fin(pf.cash) || !nonneg(pf.grossExposure) || !fin(pf.netExposure) || !fin(pf.dayStartEquity) || !fin(pf.peakEquity))
    return 'portfolio figures (equity, cash, exposures, day-start and peak equity) must be finite, with gross exposure ≥ 0';
  if (!nonneg(pf.ordersLastMinute)) return `orders in the last minute must be ≥ 0, got ${fmtNum(pf.ordersLastMinute)}`;
  for (const p of pf.positions) {
    if (!fin(p.quantity) || !nonneg(p.notional) || !nonneg(p.markPrice)) return `position ${p.symbol} has a non-finite or negative quantity, notional or mark price`;
  }
  if (!Number.isInteger(lv.version) || lv.version < 0) return `limits version must be a whole number ≥ 0, got ${fmtNum(lv.version)}`;
  const L = lv.limits;
  for (const v of [
    L.maxOrderNotional,
    L.maxPositionNotional,
    L.maxGrossExposure,
    L.maxNetExposure,
    L.maxLeverage,
    L.maxOpenPositions,
    L.riskPerTradePct,
    L.minConfidence,
    L.maxOrdersPerMinute,
    L.priceCollarPct,
    L.maxDataAgeMs,
    L.maxDailyLossPct,
    L.maxDrawdownPct,
    L.requireApprovalAboveNotional,
  ]) {
    if (v !== undefined && !nonneg(v)) return `the limits document holds an invalid value (${fmtNum(v)}); validate it with validateRiskLimits`;
  }
  return null;
}

function findPosition(pf: PortfolioSnapshot, d: TradeDecision): Position | undefined {
  for (const p of pf.positions) if (p.symbol === d.symbol && p.exchange === d.exchange) return p;
  return undefined;
}

function makeCtx(d: TradeDecision, pf: PortfolioSnapshot, m: MarketSnapshot, L: RiskLimits, state: TradingStateName, now: number): Ctx {
  const s: 1 | -1 = d.side === 'buy' ? 1 : -1;
  const p = d.orderType === 'limit' && d.limitPrice !== null ? d.limitPrice : Math.max(d.referencePrice, m.lastPrice);
  const own = findPosition(pf, d);
  const q0 = own ? own.quantity : 0;
  const absQ0 = Math.abs(q0);
  const opposing = q0 * s < 0;
  const ownNotional = own ? own.notional : 0;
  let openOthers = 0;
  for (const x of pf.positions) if (x !== own && x.quantity !== 0) openOthers++;
  return {
    d,
    pf,
    m,
    L,
    state,
    now,
    s,
    p,
    q0,
    R: opposing ? absQ0 : 0,
    base: opposing ? 0 : absQ0,
    // the symbol's own position is revalued at the order price; others stay at their marks
    gOther: Math.max(0, pf.grossExposure - ownNotional),
    nOther: pf.netExposure - Math.sign(q0) * ownNotional,
    openOthers,
    equity: pf.equity,
    fl: formatLimits(L),
  };
}

/** The part of an order of x that creates new exposure (0 for a pure reduction). */
function newPart(c: Ctx, x: number): number {
  const n = x - c.R;
  return n > 1e-12 * Math.max(1, c.R) ? n : 0;
}

/** The smallest cap any size check puts on the new part, as a total order quantity. */
function maxQuantity(c: Ctx): number {
  const { L, p, base } = c;
  let nMax = Infinity;
  if (c.state === 'REDUCING') nMax = 0;
  if (L.maxOrderNotional !== undefined) nMax = Math.min(nMax, L.maxOrderNotional / p);
  if (L.maxPositionNotional !== undefined) nMax = Math.min(nMax, L.maxPositionNotional / p - base);
  if (L.maxGrossExposure !== undefined) nMax = Math.min(nMax, (L.maxGrossExposure - c.gOther) / p - base);
  if (L.maxNetExposure !== undefined) {
    const a = c.s * c.nOther + base * p;
    const before = Math.abs(c.nOther + c.q0 * p);
    nMax = Math.min(nMax, (Math.max(L.maxNetExposure, before) - a) / p);
  }
  if (L.maxLeverage !== undefined) {
    nMax = c.equity > 0 ? Math.min(nMax, (L.maxLeverage * c.equity - c.gOther) / p - base) : 0;
  }
  if (L.riskPerTradePct !== undefined && c.d.stopPrice !== null) {
    const perUnit = Math.abs(p - c.d.stopPrice);
    if (perUnit > 0) nMax = Math.min(nMax, c.equity > 0 ? ((L.riskPerTradePct / 100) * c.equity) / perUnit : 0);
  }
  if (c.s === 1) nMax = Math.min(nMax, Math.max(0, c.pf.cash) / p - c.R);
  return c.R + Math.max(0, nMax);
}

function runChecks(c: Ctx, x: number): RunResult {
  const { d, L, p, m } = c;
  const r: RunResult = { checks: [], hard: 0, size: 0, pending: false };
  const n = newPart(c, x);
  const reduction = n === 0;
  const absQ1 = reduction ? Math.abs(c.q0 + c.s * x) : c.base + n;
  const newNotional = n * p;
  const RED = 'the order only reduces an existing position';

  addCheck(r, 'validity', PASS, null, null, 'all inputs are finite and consistent');

  // tradingState
  if (c.state === 'HALTED') addCheck(r, 'tradingState', FAIL_HARD, 'ACTIVE', 'HALTED', 'trading is HALTED: no orders are accepted until it is resumed');
  else if (c.state === 'REDUCING')
    addCheck(r, 
      'tradingState',
      reduction ? PASS : FAIL_SIZE,
      'REDUCING',
      'REDUCING',
      reduction ? 'trading is REDUCING and this order only reduces exposure' : `trading is REDUCING: only exposure-reducing orders are accepted, this one adds ${fmtNum(n)} new`,
    );
  else addCheck(r, 'tradingState', PASS, 'ACTIVE', 'ACTIVE', 'trading is ACTIVE');

  if (L.allowedSymbols.length > 0) {
    const ok = reduction || L.allowedSymbols.includes(d.symbol);
    addCheck(r, 
      'allowedSymbols',
      ok ? PASS : FAIL_HARD,
      L.allowedSymbols.join(','),
      d.symbol,
      ok ? (reduction && !L.allowedSymbols.includes(d.symbol) ? `${d.symbol} is not on the list, but ${RED}` : `${d.symbol} is allowed`) : `${d.symbol} is not in allowedSymbols`,
    );
  }

  // stopLoss: a stop on the wrong side is never acceptable for new exposure
  {
    const stop = d.stopPrice;
    if (reduction) addCheck(r, 'stopLoss', PASS, null, stop, `no stop needed: ${RED}`);
    else if (stop === null)
      addCheck(r, 'stopLoss', L.requireStopLoss ? FAIL_HARD : PASS, L.requireStopLoss ? 'required' : null, null, L.requireStopLoss ? 'requireStopLoss is on and the order has no stop price' : 'no stop price (not required)');
    else {
      const right = c.s === 1 ? stop < p : stop > p;
      addCheck(r, 
        'stopLoss',
        right ? PASS : FAIL_HARD,
        L.requireStopLoss ? 'required' : null,
        stop,
        right ? 'the stop is on the protective side of the entry' : `a ${d.side}'s stop must be ${c.s === 1 ? 'below' : 'above'} the entry ${fmtNum(p)}, got ${fmtNum(stop)}`,
      );
    }
  }

  if (L.minConfidence !== undefined) {
    const ok = reduction || d.confidence >= L.minConfidence;
    addCheck(r, 
      'minConfidence',
      ok ? PASS : FAIL_HARD,
      L.minConfidence,
      d.confidence,
      ok ? (reduction ? `not applied: ${RED}` : 'confidence meets minConfidence') : `confidence ${fmtNum(d.confidence)} is below minConfidence ${c.fl.minConfidence}`,
    );
  }

  if (L.maxDataAgeMs !== undefined) {
    const age = c.now - m.dataTs;
    const ok = age <= L.maxDataAgeMs;
    addCheck(r, 'dataAge', ok ? PASS : FAIL_HARD, L.maxDataAgeMs, age, ok ? 'market data is fresh enough' : `market data is ${fmtNum(age)} ms old, older than maxDataAgeMs ${c.fl.maxDataAgeMs}`);
  }

  if (L.priceCollarPct !== undefined) {
    if (d.orderType === 'limit') {
      const dev = (Math.abs(p - m.lastPrice) / m.lastPrice) * 100;
      const ok = within(dev, L.priceCollarPct);
      addCheck(r, 
        'priceCollar',
        ok ? PASS : FAIL_HARD,
        L.priceCollarPct,
        dev,
        ok
          ? 'the limit price is within the collar around the last price'
          : `limit ${fmtNum(p)} is ${fmtNum(dev)}% from the last price ${fmtNum(m.lastPrice)}, beyond priceCollarPct ${c.fl.priceCollarPct}%`,
      );
    } else addCheck(r, 'priceCollar', PASS, L.priceCollarPct, null, 'market order: no limit price to collar');
  }

  if (L.maxOrdersPerMinute !== undefined) {
    const after = c.pf.ordersLastMinute + 1;
    const ok = after <= L.maxOrdersPerMinute;
    addCheck(r, 
      'orderRate',
      ok ? PASS : FAIL_HARD,
      L.maxOrdersPerMinute,
      after,
      ok ? `${after} orders in the last minute including this one` : `this would be order ${after} in the last minute; maxOrdersPerMinute is ${L.maxOrdersPerMinute}`,
    );
  }

  if (L.maxDailyLossPct !== undefined) {
    const dl = dailyLossPct(c.pf);
    const ok = dl <= L.maxDailyLossPct;
    addCheck(r, 'dailyLoss', ok ? PASS : FAIL_HARD, L.maxDailyLossPct, dl, ok ? 'daily loss within maxDailyLossPct' : `down ${fmtNum(dl)}% today, beyond maxDailyLossPct ${c.fl.maxDailyLossPct}%: trading halts until the next UTC day`);
  }

  if (L.maxDrawdownPct !== undefined) {
    const dd = drawdownPct(c.pf);
    const ok = dd <= L.maxDrawdownPct;
    addCheck(r, 'drawdown', ok ? PASS : FAIL_HARD, L.maxDrawdownPct, dd, ok ? 'drawdown within maxDrawdownPct' : `${fmtNum(dd)}% below peak equity, beyond maxDrawdownPct ${c.fl.maxDrawdownPct}%: trading halts until a risk officer resumes`);
  }

  if (L.maxOrderNotional !== undefined) {
    const ok = reduction || within(newNotional, L.maxOrderNotional);
    addCheck(r, 
      'maxOrderNotional',
      ok ? PASS : FAIL_SIZE,
      L.maxOrderNotional,
      newNotional,
      reduction ? RED : ok ? 'new exposure within maxOrderNotional' : `new exposure ${fmtNum(newNotional)} exceeds maxOrderNotional ${c.fl.maxOrderNotional}`,
    );
  }

  if (L.maxPositionNotional !== undefined) {
    const after = absQ1 * p;
    const ok = reduction || within(after, L.maxPositionNotional);
    addCheck(r, 
      'maxPositionNotional',
      ok ? PASS : FAIL_SIZE,
      L.maxPositionNotional,
      after,
      reduction ? RED : ok ? 'position after the order within maxPositionNotional' : `${d.symbol} position would be ${fmtNum(after)}, above maxPositionNotional ${c.fl.maxPositionNotional}`,
    );
  }

  const grossAfter = c.gOther + absQ1 * p;
  if (L.maxGrossExposure !== undefined) {
    const ok = reduction || within(grossAfter, L.maxGrossExposure);
    addCheck(r, 
      'maxGrossExposure',
      ok ? PASS : FAIL_SIZE,
      L.maxGrossExposure,
      grossAfter,
      reduction ? RED : ok ? 'gross exposure after the order within maxGrossExposure' : `gross exposure would be ${fmtNum(grossAfter)}, above maxGrossExposure ${c.fl.maxGrossExposure}`,
    );
  }

  if (L.maxNetExposure !== undefined) {
    const netAfter = Math.abs(c.nOther + (c.q0 + c.s * x) * p);
    const netBefore = Math.abs(c.nOther + c.q0 * p);
    const allowed = Math.max(L.maxNetExposure, netBefore);
    const ok = reduction || within(netAfter, allowed);
    addCheck(r, 
      'maxNetExposure',
      ok ? PASS : FAIL_SIZE,
      L.maxNetExposure,
      netAfter,
      reduction
        ? RED
        : ok
          ? netAfter > L.maxNetExposure
            ? `net exposure ${fmtNum(netAfter)} is above the limit but not above its current ${fmtNum(netBefore)}`
            : 'net exposure after the order within maxNetExposure'
          : `net exposure would be ${fmtNum(netAfter)}, above maxNetExposure ${c.fl.maxNetExposure}`,
    );
  }

  if (L.maxLeverage !== undefined) {
    const lev = c.equity > 0 ? grossAfter / c.equity : null;
    const ok = reduction || (lev !== null && within(grossAfter, L.maxLeverage * c.equity));
    addCheck(r, 
      'maxLeverage',
      ok ? PASS : FAIL_SIZE,
      L.maxLeverage,
      lev,
      reduction
        ? RED
        : lev === null
          ? `equity is ${fmtNum(c.equity)}: no new exposure can be levered`
          : ok
            ? 'leverage after the order within maxLeverage'
            : `leverage would be ${fmtNum(lev)}×, above maxLeverage ${c.fl.maxLeverage}×`,
    );
  }

  if (L.maxOpenPositions !== undefined) {
    const before = c.openOthers + (c.q0 !== 0 ? 1 : 0);
    const after = c.openOthers + (absQ1 > 0 ? 1 : 0);
    const ok = after <= L.maxOpenPositions || after <= before;
    addCheck(r, 
      'maxOpenPositions',
      ok ? PASS : FAIL_HARD,
      L.maxOpenPositions,
      after,
      ok ? `${after} open positions after the order` : `opening ${d.symbol} would make ${after} open positions; maxOpenPositions is ${L.maxOpenPositions}`,
    );
  }

  if (L.riskPerTradePct !== undefined) {
    if (reduction) addCheck(r, 'riskPerTrade', PASS, L.riskPerTradePct, 0, `no new risk: ${RED}`);
    else if (d.stopPrice === null) addCheck(r, 'riskPerTrade', FAIL_HARD, L.riskPerTradePct, null, 'riskPerTradePct is set, so an order adding exposure needs a stop price to measure its risk');
    else if (!(c.equity > 0)) addCheck(r, 'riskPerTrade', FAIL_SIZE, L.riskPerTradePct, null, `equity is ${fmtNum(c.equity)}: no risk can be taken`);
    else {
      const pct = ((n * Math.abs(p - d.stopPrice)) / c.equity) * 100;
      const ok = within(pct, L.riskPerTradePct);
      addCheck(r, 
        'riskPerTrade',
        ok ? PASS : FAIL_SIZE,
        L.riskPerTradePct,
        pct,
        ok ? 'loss at the stop within riskPerTradePct' : `loss at the stop would be ${fmtNum(pct)}% of equity, above riskPerTradePct ${c.fl.riskPerTradePct}%`,
      );
    }
  }

  // minOrderSize: the exchange's rules. Below the minimum cannot be fixed by shrinking; an
  // off-step quantity can (flooring to the step is a resize).
  {
    const mi = m.market;
    const notional = x * p;
    const aligned = onStep(x, mi.qtyStep);
    const bigEnough = x >= mi.minQty * (1 - TOL) && notional >= mi.minNotional * (1 - TOL);
    addCheck(r, 
      'minOrderSize',
      !bigEnough ? FAIL_HARD : aligned ? PASS : FAIL_SIZE,
      mi.minQty,
      x,
      !bigEnough
        ? `quantity ${fmtNum(x)} (notional ${fmtNum(notional)}) is below the market minimum of ${fmtNum(mi.minQty)} and notional ${fmtNum(mi.minNotional)}`
        : aligned
          ? 'quantity meets the market minimum and step'
          : `quantity ${fmtNum(x)} is not a multiple of the step ${fmtNum(mi.qtyStep)}`,
    );
  }

  // balance: a buy that adds exposure is paid in quote cash (fees are the executor's margin)
  if (c.s === -1) addCheck(r, 'balance', PASS, null, null, 'a sell needs no quote cash');
  else if (reduction) addCheck(r, 'balance', PASS, c.pf.cash, x * p, `covering a short: ${RED}`);
  else {
    const cost = x * p;
    const ok = within(cost, Math.max(0, c.pf.cash));
    addCheck(r, 'balance', ok ? PASS : FAIL_SIZE, c.pf.cash, cost, ok ? 'cost within available cash' : `cost ${fmtNum(cost)} exceeds cash ${fmtNum(c.pf.cash)}`);
  }

  if (L.requireApprovalAboveNotional !== undefined) {
    const over = !reduction && newNotional > L.requireApprovalAboveNotional;
    addCheck(r, 
      'approvalThreshold',
      over ? PENDING : PASS,
      L.requireApprovalAboveNotional,
      newNotional,
      over ? `new exposure ${fmtNum(newNotional)} is above ${c.fl.requireApprovalAboveNotional}: a risk officer must approve` : reduction ? RED : 'new exposure at or below the approval threshold',
    );
  }

  return r;
}

function addCheck(r: RunResult, check: RiskCheckName, kind: number, limit: number | string | null, actual: number | string | null, message: string): void {
  r.checks.push({ check, passed: kind === PASS, limit: safe(limit), actual: safe(actual), message });
  if (kind === FAIL_HARD) r.hard++;
  else if (kind === FAIL_SIZE) r.size++;
  else if (kind === PENDING) r.pending = true;
}

/**
 * Is x a whole number of steps? A test, not a rounding (floorToStep is the one rounding place):
 * it forgives the same 1e-9 of a step of binary noise that floorToStep absorbs.
 */
function onStep(x: number, step: number): boolean {
  const r = x / step;
  // 1e-9 of a step, or the float granularity of r for huge step counts (never a relative slack)
  return Math.abs(r - Math.round(r)) <= Math.max(1e-9, 4 * Number.EPSILON * r);
}

/** RiskCheck numbers must be finite (JSON); anything else is reported as unknown. */
function safe(v: number | string | null): number | string | null {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v;
}
