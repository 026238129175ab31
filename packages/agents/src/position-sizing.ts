import type { MarketInfo, PortfolioSnapshot, RiskLimits } from '@meridian/contracts';
import { floorToStep } from '@meridian/core';

/** Used when the risk limits do not set riskPerTradePct. */
export const DEFAULT_RISK_PER_TRADE_PCT = 1;

/**
 * Share of cash a buy leaves unspent: a market buy fills at the next open (which may gap up) with slippage and
 * pays a fee, and an exchange refuses an order whose cost exceeds the free cash. 1% covers the default 10 bps
 * fee and 5 bps slippage with room for a gap; an all-in buy sized to the last cent was refused every time.
 */
export const CASH_BUFFER = 0.01;

/**
 * How much more exposure one order may add, in base units, and which limit binds. Limits that
 * are not set do not bind; cash binds buys only (spot: a buy is paid in cash, less CASH_BUFFER).
 */
export interface Headroom {
  readonly maxQty: number;
  readonly binding: string;
}

export function exposureHeadroom(
  side: 'buy' | 'sell',
  price: number,
  currentAbsNotional: number,
  limits: RiskLimits,
  portfolio: PortfolioSnapshot,
): Headroom {
  let maxQty = Number.POSITIVE_INFINITY;
  let binding = 'none';
  const cap = (notional: number | undefined, name: string): void => {
    if (notional === undefined) return;
    const q = Math.max(0, notional) / price;
    if (q < maxQty) {
      maxQty = q;
      binding = name;
    }
  };
  cap(limits.maxOrderNotional, 'maxOrderNotional');
  if (limits.maxPositionNotional !== undefined) cap(limits.maxPositionNotional - currentAbsNotional, 'maxPositionNotional');
  if (limits.maxGrossExposure !== undefined) cap(limits.maxGrossExposure - portfolio.grossExposure, 'maxGrossExposure');
  if (side === 'buy') cap(portfolio.cash * (1 - CASH_BUFFER), 'cash');
  return { maxQty, binding };
}

export type SizeResult =
  | { readonly ok: true; readonly quantity: number; readonly riskQuote: number; readonly binding: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Quantity risking riskPerTradePct % of equity at the stop: (pct/100 × equity) / |entry − stop|,
 * capped by the headroom, floored to qtyStep, and refused below minQty / minNotional.
 */
export function sizeByRisk(args: {
  readonly entry: number;
  readonly stop: number;
  readonly equity: number;
  readonly riskPerTradePct: number;
  readonly headroom: Headroom;
  readonly market: MarketInfo;
  /** base quantity already held on this side (adding tops the position up to the risk size) */
  readonly alreadyHeld?: number;
}): SizeResult {
  const { entry, stop, equity, riskPerTradePct, headroom, market } = args;
  const held = args.alreadyHeld ?? 0;
  if (!(entry > 0) || !Number.isFinite(entry)) return { ok: false, reason: `entry price ${entry} is not a positive number` };
  if (!(stop > 0) || !Number.isFinite(stop)) return { ok: false, reason: `stop price ${stop} is not a positive number` };
  if (!(equity > 0) || !Number.isFinite(equity)) return { ok: false, reason: `equity ${equity} is not positive: nothing to risk` };
  if (!(riskPerTradePct > 0) || !(riskPerTradePct <= 100)) return { ok: false, reason: `riskPerTradePct ${riskPerTradePct} is not in (0, 100]` };
  const distance = Math.abs(entry - stop);
  // a stop closer than one part in a million of the price is no stop: the size would explode
  if (!(distance > entry * 1e-6)) return { ok: false, reason: 'stop distance is zero: cannot size by risk' };
  const riskBudget = (riskPerTradePct / 100) * equity;
  let raw = riskBudget / distance - held;
  let binding = 'riskPerTrade';
  if (!(raw > 0)) return { ok: false, reason: 'the position already carries the full risk budget' };
  if (headroom.maxQty < raw) {
    raw = headroom.maxQty;
    binding = headroom.binding;
  }
  if (!(raw > 0)) return { ok: false, reason: `no headroom left (${headroom.binding})` };
  let quantity = floorToStep(raw, market.qtyStep);
  // floorToStep's nudge absorbs binary noise; never let it round a capped size above the cap
  if (quantity > raw) quantity = floorToStep(raw - market.qtyStep, market.qtyStep);
  if (!(quantity > 0) || quantity < market.minQty)
    return { ok: false, reason: `size ${quantity} is below the market minimum ${market.minQty} (${binding} binds)` };
  if (quantity * entry < market.minNotional)
    return { ok: false, reason: `order notional ${quantity * entry} is below the market minimum ${market.minNotional}` };
  return { ok: true, quantity, riskQuote: quantity * distance, binding };
}
