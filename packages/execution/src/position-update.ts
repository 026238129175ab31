import type { Fill } from '@meridian/contracts';
import { PortfolioLedger } from './portfolio-ledger.ts';

/** What is stored of one position (the shape of the positions table). */
export interface PositionState {
  readonly exchange: string;
  readonly symbol: string;
  /** signed base quantity */
  readonly quantity: number;
  readonly avgEntryPrice: number;
  readonly realizedPnl: number;
  readonly openedAt: number | null;
  readonly updatedAt: number;
}

/**
 * The stored position after one fill, computed by `PortfolioLedger` — the one accounting implementation
 * the backtest and the risk context use too — so the executor never has rules of its own. The ledger is
 * seeded with the stored position (one synthetic fill at its average entry, no fee), then the real fill
 * is applied; the realised P&L it reports is added to the stored one.
 *
 * Margin accounting (signed quantities): this is the record of what the system traded, not the account
 * balance, so selling a coin the account held before Meridian started shows as a short here.
 * A fee in another currency than the quote (e.g. BNB) is kept on the fill but not in the P&L: the ledger
 * refuses what it cannot convert, and refusing would stop the order from being recorded.
 */
export function positionAfterFill(prev: PositionState | undefined, fill: Fill): PositionState {
  const quote = fill.symbol.split('/')[1]?.split(':')[0] ?? '';
  const ledger = new PortfolioLedger({ exchange: fill.exchange, quoteCurrency: quote, initialCash: 0, startAt: 0, mode: 'margin' });
  if (prev && prev.quantity !== 0) {
    ledger.applyFill({
      schemaVersion: 1,
      fillId: '\u0000seed',
      orderId: fill.orderId,
      exchange: fill.exchange,
      symbol: fill.symbol,
      side: prev.quantity > 0 ? 'buy' : 'sell',
      quantity: Math.abs(prev.quantity),
      price: prev.avgEntryPrice,
      fee: 0,
      feeCurrency: quote,
      liquidity: null,
      ts: Math.min(prev.openedAt ?? fill.ts, fill.ts),
    });
  }
  const applied = fill.fee > 0 && fill.feeCurrency !== quote ? { ...fill, fee: 0, feeCurrency: quote } : fill;
  ledger.applyFill(applied);
  const p = ledger.position(fill.symbol);
  return {
    exchange: fill.exchange,
    symbol: fill.symbol,
    quantity: p?.quantity ?? 0,
    avgEntryPrice: p?.avgEntryPrice ?? 0,
    realizedPnl: (prev?.realizedPnl ?? 0) + (p?.realizedPnl ?? 0),
    openedAt: p && p.quantity !== 0 ? p.openedAt : null,
    updatedAt: Math.max(prev?.updatedAt ?? 0, fill.ts),
  };
}
