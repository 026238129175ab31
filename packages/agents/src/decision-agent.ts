import type { MarketInfo, PortfolioSnapshot, Position, RiskLimits, SignalProposal, TradeDecision } from '@meridian/contracts';
import { roundToStep } from '@meridian/core';
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
 */
export function decide(input: DecisionInput, decisionId: string): TradeDecision {
  const { signal: s, market, limits, portfolio, account } = input;
  const price = input.lastPrice;
  const pos = input.position === null ? 0 : input.position.quantity;
  // a remainder below the exchange minimum cannot be traded: treat it as flat
  const held = Math.abs(pos) >= market.minQty && Math.abs(pos) >= market.qtyStep ? pos : 0;
  const riskPct = limits.riskPerTradePct ?? DEFAULT_RISK_PER_TRADE_PCT;
  const dir = s.direction;
  const be = breakevenConfidence(s);
  const threshold = Math.max(be + DECISION_RULES.minEdge, limits.minConfidence ?? 0);
  const actionable = dir !== 'flat' && s.confidence >= threshold;

  const base = {
    schemaVersion: 1 as const,
    decisionId,
    exchange: s.exchange,
    symbol: s.symbol,
    timeframe: s.timeframe,
    asOf: s.asOf,
    agentVersion: DECISION_AGENT_VERSION,
    policy: 'deterministic' as const,
    fallbackReason: null,
    orderType: 'market' as const,
    limitPrice: null,
    referencePrice: price,
    confidence: s.confidence,
  };
  const hold = (why: string): TradeDecision => ({ ...base, action: 'hold', side: null, quantity: 0, stopPrice: null, targetPrice: null, rationale: `Hold: ${why}.` });
  const exit = (action: 'close' | 'reduce', qty: number, why: string): TradeDecision => {
    const quantity = qty; // already floored to qtyStep and ≤ the held quantity
    if (!(quantity >= market.minQty) || !(quantity > 0)) return hold(`${why}, but ${fmt(quantity)} is below the market minimum quantity`);
    if (quantity * price < market.minNotional) return hold(`${why}, but ${fmt(quantity * price)} is below the market minimum notional`);
    return { ...base, action, side: held > 0 ? 'sell' : 'buy', quantity, stopPrice: null, targetPrice: null, rationale: `${action === 'close' ? 'Close' : 'Reduce'} ${fmt(quantity)}: ${why}.` };
  };
  if (!(price > 0) || !Number.isFinite(price)) return hold(`last price ${price} is not a positive number`);
  const confText = `confidence ${roundTo(s.confidence, 4)} vs threshold ${roundTo(threshold, 4)}`;

  if (held === 0) {
    if (dir === 'flat') return hold(`signal is flat — ${s.rationale.slice(0, 160)}`);
    if (!actionable) return hold(`${dir} signal too weak: ${confText}`);
    if (dir === 'short' && !account.shortingAllowed) return hold('short signal while flat, but the account is long-only (spot)');
    return enter('open', dir, 0, `${confText}`);
  }

  const posSide = held > 0 ? 'long' : 'short';
  const absHeld = Math.abs(held);
  const closeQty = roundDown(absHeld, market.qtyStep);
  if (dir === 'flat') return hold(`signal is flat; the ${posSide} position stays under its stop and target`);
  if (dir === posSide) {
    if (actionable) {
      const add = enter('add', dir, absHeld, confText);
      return add.action === 'hold' ? hold(`${posSide} signal confirms the position; ${add.rationale.slice(6, -1)}`) : add;
    }
    const part = roundDown(absHeld * DECISION_RULES.reduceFraction, market.qtyStep);
    const why = `${posSide} signal weakened: ${confText}`;
    if (part >= market.minQty && part > 0 && part * price >= market.minNotional) return exit('reduce', part, why);
    return exit('close', closeQty, why);
  }
  // the signal points the other way
  const strong = actionable && s.confidence >= be + DECISION_RULES.reverseEdge && (dir === 'long' || account.shortingAllowed);
  if (strong) {
    const rev = enter('reverse', dir, 0, confText);
    if (rev.action !== 'hold') return rev;
  }
  return exit('close', closeQty, `${dir} signal against the ${posSide} position (${confText})`);

  function enter(action: 'open' | 'add' | 'reverse', d: 'long' | 'short', alreadyHeld: number, why: string): TradeDecision {
    const side = d === 'long' ? 'buy' : 'sell';
    const entry = s.entry as number;
    const stop = s.stop as number;
    const target = s.target as number;
    // reversing first flattens the old position (which frees its notional), then opens the new one
    const curNotional = action === 'add' ? absHeld * price : 0;
    const headroom = exposureHeadroom(side, price, curNotional, limits, portfolio);
    const sized = sizeByRisk({ entry, stop, equity: portfolio.equity, riskPerTradePct: riskPct, headroom, market, alreadyHeld });
    if (!sized.ok) return hold(sized.reason);
    const quantity = action === 'reverse' ? roundDown(absHeld + sized.quantity, market.qtyStep) : sized.quantity;
    const verb = action === 'open' ? 'Open' : action === 'add' ? 'Add to' : 'Reverse to';
    return {
      ...base,
      action,
      side,
      quantity,
      stopPrice: roundToStep(stop, market.priceStep) > 0 ? roundToStep(stop, market.priceStep) : stop,
      targetPrice: roundToStep(target, market.priceStep) > 0 ? roundToStep(target, market.priceStep) : target,
      rationale:
        `${verb} ${d} ${fmt(sized.quantity)} ${s.symbol}: risks ${fmt(sized.riskQuote)} (${riskPct}% of equity) to the stop at ${fmt(stop)}` +
        `${sized.binding === 'riskPerTrade' ? '' : `, capped by ${sized.binding}`}. ${why[0]?.toUpperCase()}${why.slice(1)}.`,
    };
  }
}

function roundDown(x: number, step: number): number {
  if (!(x > 0)) return 0;
  const q = Math.floor(x / step + 1e-9) * step;
  const r = roundToStep(q, step);
  return r > x ? roundToStep(r - step, step) : r;
}
