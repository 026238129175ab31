import type { MarketInfo, PortfolioSnapshot, Position, RiskLimits, SignalProposal, TradeDecision } from '@meridian/contracts';
import { AppError, roundToStep } from '@meridian/core';
import { DEFAULT_RISK_PER_TRADE_PCT, exposureHeadroom, sizeByRisk } from './position-sizing.ts';
import { roundSig, roundTo } from './numeric.ts';

export const DECISION_AGENT_VERSION = 'decision@1.0.0';

/** What the account may do. Spot accounts cannot sell what they do not hold. */
export interface AccountCapabilities {
  readonly shortingAllowed: boolean;
}
export const SPOT_LONG_ONLY: AccountCapabilities = { shortingAllowed: false };

export interface DecisionInput {
  readonly signal: SignalProposal;
  /** the open position in this symbol (signed quantity), or null when flat */
  readonly position: Position | null;
  readonly portfolio: PortfolioSnapshot;
  /** the active risk limits: sizing stays inside them (the risk gate still checks everything) */
  readonly limits: RiskLimits;
  readonly market: MarketInfo;
  /** last close (the reference price of the decision) */
  readonly lastPrice: number;
  readonly account: AccountCapabilities;
}

/** Thresholds of the deterministic decision policy (documented in docs/agents.md). */
export const DECISION_RULES = {
  /** open/add only when confidence ≥ break-even probability + minEdge */
  minEdge: 0.02,
  /** reverse (rather than just close) when the opposite signal's confidence ≥ break-even + this */
  reverseEdge: 0.1,
  /** share of the position sold/bought back when the same-side signal weakens below the entry bar */
  reduceFraction: 0.5,
} as const;

/** Probability of reaching the target before the stop at which the signal's trade breaks even. */
export function breakevenConfidence(s: SignalProposal): number {
  if (s.entry === null || s.stop === null || s.target === null) return 1;
  const risk = Math.abs(s.entry - s.stop);
  const reward = Math.abs(s.target - s.entry);
  return risk + reward > 0 ? risk / (risk + reward) : 1;
}

function fmt(x: number): string {
  return String(roundSig(x, 6));
}

/**
 * The deterministic decision: open / add / reduce / close / reverse / hold, sized by risk at the
 * stop inside the limits' headroom. It only proposes: the risk gate decides what is sent.
 * (No per-call closures or object spreads: this runs on every backtest bar.)
 */
export function decide(input: DecisionInput, decisionId: string): TradeDecision {
  const s = input.signal;
  const market = input.market;
  // the reference price must be a real price even when the feed glitched: fall back to the signal's entry
  const price = input.lastPrice > 0 && Number.isFinite(input.lastPrice) ? input.lastPrice : (s.entry ?? input.position?.markPrice ?? Number.NaN);
  if (!(price > 0) || !Number.isFinite(price))
    throw new AppError('VALIDATION', `decision needs a positive last price, got ${input.lastPrice}`, { hint: 'check the market snapshot fed to the decision node' });
  const pos = input.position === null ? 0 : input.position.quantity;
  // a remainder below the exchange minimum cannot be traded: treat it as flat
  const held = Math.abs(pos) >= market.minQty && Math.abs(pos) >= market.qtyStep ? pos : 0;
  const dir = s.direction;
  const be = breakevenConfidence(s);
  const threshold = Math.max(be + DECISION_RULES.minEdge, input.limits.minConfidence ?? 0);
  const actionable = dir !== 'flat' && s.confidence >= threshold;
  if (price !== input.lastPrice) return make(s, decisionId, price, 'hold', null, 0, null, null, `Hold: last price ${input.lastPrice} is not a positive number.`);
  if (held === 0) {
    if (dir === 'flat') return make(s, decisionId, price, 'hold', null, 0, null, null, `Hold: signal is flat — ${s.rationale.slice(0, 160)}`);
    if (!actionable) return make(s, decisionId, price, 'hold', null, 0, null, null, `Hold: ${dir} signal too weak: ${confText(s, threshold)}.`);
    if (dir === 'short' && !input.account.shortingAllowed) return make(s, decisionId, price, 'hold', null, 0, null, null, 'Hold: short signal while flat, but the account is long-only (spot).');
    return enter(input, decisionId, price, 'open', dir, 0, confText(s, threshold));
  }

  const posSide = held > 0 ? 'long' : 'short';
  const absHeld = Math.abs(held);
  if (dir === 'flat') return make(s, decisionId, price, 'hold', null, 0, null, null, `Hold: signal is flat; the ${posSide} position stays under its stop and target.`);
  if (dir === posSide) {
    if (actionable) {
      const add = enter(input, decisionId, price, 'add', dir, absHeld, confText(s, threshold));
      return add.action === 'hold' ? make(s, decisionId, price, 'hold', null, 0, null, null, `Hold: ${posSide} signal confirms the position; ${add.rationale.slice(6)}`) : add;
    }
    const part = roundDown(absHeld * DECISION_RULES.reduceFraction, market.qtyStep);
    const why = `${posSide} signal weakened: ${confText(s, threshold)}`;
    if (part >= market.minQty && part > 0 && part * price >= market.minNotional) return exit(input, decisionId, price, held, 'reduce', part, why);
    return exit(input, decisionId, price, held, 'close', roundDown(absHeld, market.qtyStep), why);
  }
  // the signal points the other way
  if (actionable && s.confidence >= be + DECISION_RULES.reverseEdge && (dir === 'long' || input.account.shortingAllowed)) {
    const rev = enter(input, decisionId, price, 'reverse', dir, absHeld, confText(s, threshold));
    if (rev.action !== 'hold') return rev;
  }
  return exit(input, decisionId, price, held, 'close', roundDown(absHeld, market.qtyStep), `${dir} signal against the ${posSide} position (${confText(s, threshold)})`);
}

function confText(s: SignalProposal, threshold: number): string {
  return `confidence ${roundTo(s.confidence, 4)} vs threshold ${roundTo(threshold, 4)}`;
}

function make(
  s: SignalProposal,
  decisionId: string,
  price: number,
  action: TradeDecision['action'],
  side: TradeDecision['side'],
  quantity: number,
  stopPrice: number | null,
  targetPrice: number | null,
  rationale: string,
): TradeDecision {
  return {
    schemaVersion: 1,
    decisionId,
    exchange: s.exchange,
    symbol: s.symbol,
    timeframe: s.timeframe,
    asOf: s.asOf,
    agentVersion: DECISION_AGENT_VERSION,
    policy: 'deterministic',
    fallbackReason: null,
    action,
    side,
    quantity,
    orderType: 'market',
    limitPrice: null,
    stopPrice,
    targetPrice,
    referencePrice: price,
    confidence: s.confidence,
    rationale,
  };
}

function exit(input: DecisionInput, decisionId: string, price: number, held: number, action: 'close' | 'reduce', quantity: number, why: string): TradeDecision {
  const s = input.signal;
  const m = input.market;
  // quantity is already floored to qtyStep and ≤ the held quantity
  if (!(quantity >= m.minQty) || !(quantity > 0)) return make(s, decisionId, price, 'hold', null, 0, null, null, `Hold: ${why}, but ${fmt(quantity)} is below the market minimum quantity.`);
  if (quantity * price < m.minNotional) return make(s, decisionId, price, 'hold', null, 0, null, null, `Hold: ${why}, but ${fmt(quantity * price)} is below the market minimum notional.`);
  return make(s, decisionId, price, action, held > 0 ? 'sell' : 'buy', quantity, null, null, `${action === 'close' ? 'Close' : 'Reduce'} ${fmt(quantity)}: ${why}.`);
}

function enter(input: DecisionInput, decisionId: string, price: number, action: 'open' | 'add' | 'reverse', dir: 'long' | 'short', absHeld: number, why: string): TradeDecision {
  const s = input.signal;
  const market = input.market;
  const side = dir === 'long' ? 'buy' : 'sell';
  const stop = s.stop as number;
  const target = s.target as number;
  const riskPct = input.limits.riskPerTradePct ?? DEFAULT_RISK_PER_TRADE_PCT;
  // reversing first flattens the old position (freeing its notional), then opens the new one
  const curNotional = action === 'add' ? absHeld * price : 0;
  const headroom = exposureHeadroom(side, price, curNotional, input.limits, input.portfolio);
  const sized = sizeByRisk({
    entry: s.entry as number,
    stop,
    equity: input.portfolio.equity,
    riskPerTradePct: riskPct,
    headroom,
    market,
    alreadyHeld: action === 'add' ? absHeld : 0,
  });
  if (!sized.ok) return make(s, decisionId, price, 'hold', null, 0, null, null, `Hold: ${sized.reason}.`);
  const quantity = action === 'reverse' ? roundDown(absHeld + sized.quantity, market.qtyStep) : sized.quantity;
  const verb = action === 'open' ? 'Open' : action === 'add' ? 'Add to' : 'Reverse to';
  const stopPrice = roundToStep(stop, market.priceStep);
  const targetPrice = roundToStep(target, market.priceStep);
  return make(
    s,
    decisionId,
    price,
    action,
    side,
    quantity,
    stopPrice > 0 ? stopPrice : stop,
    targetPrice > 0 ? targetPrice : target,
    `${verb} ${dir} ${fmt(sized.quantity)} ${s.symbol}: risks ${fmt(sized.riskQuote)} (${riskPct}% of equity) to the stop at ${fmt(stop)}` +
      `${sized.binding === 'riskPerTrade' ? '' : `, capped by ${sized.binding}`}; ${why}.`,
  );
}

function roundDown(x: number, step: number): number {
  if (!(x > 0)) return 0;
  const q = Math.floor(x / step + 1e-9) * step;
  const r = roundToStep(q, step);
  return r > x ? roundToStep(r - step, step) : r;
}
