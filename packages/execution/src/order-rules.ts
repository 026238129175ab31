import type { MarketInfo } from '@meridian/contracts';
import { floorToStep } from '@meridian/core';
import type { CreateOrderInput } from './exchange-adapter.ts';

/**
 * The market's order rules, checked the same way by every adapter before anything is sent. Off-grid values
 * are rejected, never silently rounded: sizing rounds (floorToStep) in exactly one place upstream, and an
 * order that reaches an adapter off-grid is a bug to surface (ccxt would otherwise truncate the amount quietly).
 * Returns null when the order is valid, else a sentence naming the broken rule.
 */
export function orderRuleViolation(input: CreateOrderInput, market: MarketInfo, refPrice: number | null): string | null {
  const q = input.quantity;
  if (!(q > 0) || !Number.isFinite(q)) return `quantity must be a positive finite number, got ${q}`;
  if (q < market.minQty) return `quantity ${q} is below the minimum ${market.minQty} ${market.base}`;
  if (!onStep(q, market.qtyStep)) return `quantity ${q} is not a multiple of the step ${market.qtyStep}`;
  if (input.type === 'limit') {
    const p = input.limitPrice;
    if (p === null || !(p > 0) || !Number.isFinite(p)) return `a limit order needs a positive finite limit price, got ${p}`;
    if (!onStep(p, market.priceStep)) return `limit price ${p} is not a multiple of the tick ${market.priceStep}`;
  } else if (input.limitPrice !== null) {
    return 'a market order must not carry a limit price';
  }
  const price = input.type === 'limit' ? input.limitPrice : refPrice;
  if (price !== null && price !== undefined && q * price < market.minNotional)
    return `notional ${q * price} is below the minimum ${market.minNotional} ${market.quote}`;
  return null;
}

/** x is a whole multiple of step, allowing for binary noise that grows with |x| (huge quantities). */
export function onStep(x: number, step: number): boolean {
  const floored = floorToStep(x, step);
  return Math.abs(x - floored) <= Math.max(1e-9 * step, Math.abs(x) * 1e-14);
}
