import type { PriceBar } from '@meridian/execution';

/**
 * Protective exits inside a bar. The order of prices inside a bar is unknown, so:
 * - a bar that opens through the stop (or target) exits at the open — the price gapped past the level;
 * - otherwise a bar whose range touches the level exits at the level;
 * - when one bar touches both stop and target, the stop counts first (the pessimistic reading).
 * Slippage and fees are applied by the PaperExchange when the exit order fills at the trigger price.
 */
export type ProtectiveExitReason = 'stop' | 'target';

export interface ProtectiveExit {
  readonly reason: ProtectiveExitReason;
  /** the price the exit order is filled against, before slippage */
  readonly price: number;
  /** true when the bar opened through the level (filled at the open) */
  readonly gapped: boolean;
}

/**
 * @param qty signed position (> 0 long, < 0 short); 0 → no exit
 * @param stop protective stop, or null
 * @param target take-profit level, or null
 */
export function protectiveExit(qty: number, stop: number | null, target: number | null, bar: PriceBar): ProtectiveExit | null {
  if (qty === 0 || !Number.isFinite(qty)) return null;
  const long = qty > 0;
  if (stop !== null && stop > 0) {
    if (long ? bar.open <= stop : bar.open >= stop) return { reason: 'stop', price: bar.open, gapped: true };
    if (long ? bar.low <= stop : bar.high >= stop) {
      // the target may have gapped in the same bar's open; a gap through the target is at the open and
      // therefore before any stop touch later in the bar
      if (target !== null && target > 0 && (long ? bar.open >= target : bar.open <= target)) return { reason: 'target', price: bar.open, gapped: true };
      return { reason: 'stop', price: stop, gapped: false };
    }
  }
  if (target !== null && target > 0) {
    if (long ? bar.open >= target : bar.open <= target) return { reason: 'target', price: bar.open, gapped: true };
    if (long ? bar.high >= target : bar.low <= target) return { reason: 'target', price: target, gapped: false };
  }
  return null;
}
