/**
 * Round trips from fills, FIFO by lot: every fill that opens or grows a position is a lot; every fill
 * that reduces it closes the oldest lots first and yields one trade per (lot, closing fill) pair.
 * A lot's entry fee is split pro rata over the trades that close it, so
 *   Σ trade.pnl = realised P&L − all fees paid on closed quantity,
 * and after `closeAll` (open lots marked to the last close, no exit fee) Σ pnl = final equity − start.
 * Works for long and short positions alike.
 */
export type ExitReason = 'stop' | 'target' | 'signal' | 'end';

export interface Trade {
  readonly symbol: string;
  readonly side: 'long' | 'short';
  readonly entryTime: number;
  readonly entryPrice: number;
  readonly exitTime: number;
  readonly exitPrice: number;
  readonly quantity: number;
  /** quantity × entryPrice */
  readonly notional: number;
  /** (exit − entry) × qty × sign − fees */
  readonly pnl: number;
  /** pnl / notional × 100 */
  readonly returnPct: number;
  /** entry fee share + exit fee share */
  readonly fees: number;
  readonly exitReason: ExitReason;
  /** bars held: exit bar index − entry bar index (on the symbol's own series) */
  readonly holdingBars: number;
}

interface Lot {
  /** signed remaining quantity */
  qty: number;
  readonly price: number;
  readonly time: number;
  readonly barIndex: number;
  /** entry fee still to be allocated */
  fee: number;
}

/** quantities this small relative to the fill are floating-point dust (same rule as the ledger) */
const DUST_REL = 1e-9;

export class TradeBook {
  readonly trades: Trade[] = [];
  readonly #lots = new Map<string, Lot[]>();

  /** signed open quantity of a symbol as the book sees it */
  openQuantity(symbol: string): number {
    let q = 0;
    for (const l of this.#lots.get(symbol) ?? []) q += l.qty;
    return q;
  }

  /**
   * Applies one fill. `barIndex` is the index of the bar the fill happened in on the symbol's series
   * (for holding time); `reason` is what closed any quantity this fill reduces.
   */
  onFill(symbol: string, side: 'buy' | 'sell', quantity: number, price: number, fee: number, time: number, barIndex: number, reason: ExitReason): void {
    if (!(quantity > 0) || !(price > 0) || !(fee >= 0)) throw new RangeError(`bad fill for ${symbol}: quantity ${quantity}, price ${price}, fee ${fee}`);
    const lots = this.#lots.get(symbol) ?? [];
    if (!this.#lots.has(symbol)) this.#lots.set(symbol, lots);
    const sign = side === 'buy' ? 1 : -1;
    let remaining = quantity;
    let feeLeft = fee;
    // close opposing lots, oldest first
    while (remaining > DUST_REL * quantity && lots.length > 0 && Math.sign(lots[0]!.qty) === -sign) {
      const lot = lots[0]!;
      const lotQty = Math.abs(lot.qty);
      const closed = Math.min(lotQty, remaining);
      const entryFee = closed >= lotQty * (1 - DUST_REL) ? lot.fee : (lot.fee * closed) / lotQty;
      const exitFee = (fee * closed) / quantity;
      this.#emit(symbol, lot, closed, price, time, barIndex, entryFee + exitFee, reason);
      lot.fee -= entryFee;
      remaining -= closed;
      feeLeft -= exitFee;
      if (closed >= lotQty * (1 - DUST_REL)) lots.shift();
      else lot.qty -= Math.sign(lot.qty) * closed;
    }
    if (remaining > DUST_REL * quantity) lots.push({ qty: sign * remaining, price, time, barIndex, fee: Math.max(0, feeLeft) });
  }

  /** Marks every open lot of `symbol` to `price` at `time` and records it as a trade with reason 'end' (no exit fee). */
  closeAll(symbol: string, price: number, time: number, barIndex: number): void {
    const lots = this.#lots.get(symbol);
    if (!lots) return;
    for (const lot of lots) this.#emit(symbol, lot, Math.abs(lot.qty), price, time, barIndex, lot.fee, 'end');
    lots.length = 0;
  }

  symbols(): string[] {
    return [...this.#lots.keys()];
  }

  #emit(symbol: string, lot: Lot, qty: number, exitPrice: number, time: number, barIndex: number, fees: number, reason: ExitReason): void {
    const long = lot.qty > 0;
    const notional = qty * lot.price;
    const pnl = (exitPrice - lot.price) * qty * (long ? 1 : -1) - fees;
    this.trades.push({
      symbol,
      side: long ? 'long' : 'short',
      entryTime: lot.time,
      entryPrice: lot.price,
      exitTime: time,
      exitPrice,
      quantity: qty,
      notional,
      pnl,
      returnPct: notional > 0 ? (pnl / notional) * 100 : 0,
      fees,
      exitReason: reason,
      holdingBars: barIndex - lot.barIndex,
    });
  }
}
