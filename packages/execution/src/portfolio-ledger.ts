import { SCHEMA_VERSION, type Fill, type PortfolioSnapshot, type Position } from '@meridian/contracts';
import { AppError, utcDayStart } from '@meridian/core';

/**
 * 'spot': base balances can never go negative (no shorting) and cash can never go negative (no borrowing) —
 * what a spot account on Binance allows. 'margin': signed positions and negative cash (borrowed) are allowed;
 * leverage is the risk gate's business, not the ledger's. Paper trading and backtests default to 'spot'.
 */
export type AccountMode = 'spot' | 'margin';
export const DEFAULT_ACCOUNT_MODE: AccountMode = 'spot';

export interface PortfolioLedgerOptions {
  /** exchange id stamped on positions */
  readonly exchange: string;
  /** the account's cash currency; every fill's symbol must be quoted in it and its fee paid in it */
  readonly quoteCurrency: string;
  readonly initialCash: number;
  /** UTC epoch ms the account starts at (opens the first trading day) */
  readonly startAt: number;
  readonly mode?: AccountMode;
}

interface PositionState {
  readonly symbol: string;
  /** signed base quantity */
  qty: number;
  avgEntry: number;
  realized: number;
  mark: number;
  openedAt: number | null;
  updatedAt: number;
}

const ORDER_WINDOW_MS = 60_000;
/** a remaining quantity this small relative to the trade is floating-point dust, i.e. flat */
const DUST_REL = 1e-9;

/**
 * Portfolio accounting from fills: positions (signed), average entry, realised and unrealised P&L, cash,
 * equity, daily P&L and drawdown. One implementation for the executor, the risk context and the backtest.
 *
 * Rules (the tests pin each one):
 * - Average entry changes only when a position grows; reducing realises (price − avgEntry) × closed qty × sign;
 *   a fill through zero closes the old side at its average and opens the new side at the fill price.
 * - Fees are in the quote currency, reduce cash, and count in the realised P&L of the position they were paid on,
 *   so a round trip realises (exit − entry) × qty − fees.
 * - equity = cash + Σ qty × mark; a fill moves the mark of its symbol to the fill price.
 * - The first event of a new UTC day fixes dayStartEquity at the equity before that event; peak equity is the
 *   running maximum after every event; drawdown% = (peak − equity) / peak × 100.
 * - A fill id already applied is ignored (exchanges re-report fills; a fill must never count twice).
 * Time never goes backwards inside the ledger: an event older than the last one is accounted at the last time.
 */
export class PortfolioLedger {
  readonly exchange: string;
  readonly quoteCurrency: string;
  readonly mode: AccountMode;
  #cash: number;
  #positions = new Map<string, PositionState>();
  #fillIds = new Set<string>();
  #feesPaid = 0;
  #now: number;
  #day: number;
  #dayStartEquity: number;
  #peakEquity: number;
  #orderTimes: number[] = [];

  constructor(opts: PortfolioLedgerOptions) {
    if (!Number.isFinite(opts.initialCash)) throw new AppError('VALIDATION', `initialCash must be a finite number, got ${opts.initialCash}`);
    const mode = opts.mode ?? DEFAULT_ACCOUNT_MODE;
    if (mode === 'spot' && opts.initialCash < 0) throw new AppError('VALIDATION', `a spot account cannot start with negative cash (${opts.initialCash})`);
    if (!Number.isInteger(opts.startAt) || opts.startAt < 0) throw new AppError('VALIDATION', `startAt must be UTC epoch ms, got ${opts.startAt}`);
    this.exchange = opts.exchange;
    this.quoteCurrency = opts.quoteCurrency;
    this.mode = mode;
    this.#cash = opts.initialCash;
    this.#now = opts.startAt;
    this.#day = utcDayStart(opts.startAt);
    this.#dayStartEquity = opts.initialCash;
    this.#peakEquity = opts.initialCash;
  }

  get cash(): number {
    return this.#cash;
  }

  get feesPaid(): number {
    return this.#feesPaid;
  }

  /** signed base quantity held in `symbol` (0 when flat) */
  quantity(symbol: string): number {
    return this.#positions.get(symbol)?.qty ?? 0;
  }

  equity(): number {
    let e = this.#cash;
    for (const p of this.#positions.values()) if (p.qty !== 0) e += p.qty * p.mark;
    return e;
  }

  /**
   * Applies one fill. Returns false when this fill id was already applied. Throws AppError VALIDATION for a
   * malformed fill (zero/negative/NaN quantity or price, negative fee, foreign quote or fee currency) and for a
   * fill a spot account cannot take (selling more than held, spending more cash than held); nothing changes then.
   */
  applyFill(fill: Fill): boolean {
    this.#validate(fill);
    if (this.#fillIds.has(fill.fillId)) return false;
    this.#advance(fill.ts);

    const prev = this.#positions.get(fill.symbol);
    const q0 = prev?.qty ?? 0;
    const avg0 = prev?.avgEntry ?? 0;
    const d = fill.side === 'buy' ? fill.quantity : -fill.quantity;
    let q1 = q0 + d;
    if (Math.abs(q1) <= DUST_REL * Math.max(Math.abs(q0), Math.abs(d))) q1 = 0;
    const cash1 = this.#cash - d * fill.price - fill.fee;

    if (this.mode === 'spot') {
      if (q1 < 0)
        throw new AppError('VALIDATION', `spot account cannot sell ${fill.quantity} ${fill.symbol}: it holds ${q0}`, {
          hint: "spot accounts cannot go short; use account mode 'margin' for signed positions",
          details: { fillId: fill.fillId },
        });
      if (cash1 < -DUST_REL * Math.max(1, Math.abs(d * fill.price)))
        throw new AppError('VALIDATION', `spot account cannot pay ${fill.quantity * fill.price + fill.fee} ${this.quoteCurrency} for fill ${fill.fillId}: cash is ${this.#cash}`, {
          hint: "spot accounts cannot borrow; use account mode 'margin' to allow negative cash",
        });
    }

    let realized = -fill.fee;
    let avg1: number;
    let openedAt = prev?.openedAt ?? null;
    if (q0 === 0 || Math.sign(q0) === Math.sign(d)) {
      // opening or increasing: weighted average entry
      avg1 = (Math.abs(q0) * avg0 + Math.abs(d) * fill.price) / (Math.abs(q0) + Math.abs(d));
      if (q0 === 0) openedAt = fill.ts;
    } else {
      // reducing, closing or flipping through zero
      const closed = Math.min(Math.abs(d), Math.abs(q0));
      realized += closed * (fill.price - avg0) * Math.sign(q0);
      if (q1 === 0) {
        avg1 = 0;
        openedAt = null;
      } else if (Math.sign(q1) === Math.sign(q0)) {
        avg1 = avg0;
      } else {
        avg1 = fill.price;
        openedAt = fill.ts;
      }
    }

    const state: PositionState = prev ?? { symbol: fill.symbol, qty: 0, avgEntry: 0, realized: 0, mark: fill.price, openedAt: null, updatedAt: fill.ts };
    state.qty = q1;
    state.avgEntry = avg1;
    state.realized += realized;
    state.mark = fill.price;
    state.openedAt = openedAt;
    state.updatedAt = Math.max(state.updatedAt, fill.ts);
    if (!prev) this.#positions.set(fill.symbol, state);

    this.#cash = cash1;
    this.#feesPaid += fill.fee;
    this.#fillIds.add(fill.fillId);
    this.#touchPeak();
    return true;
  }

  /** Marks a symbol to a price (bar close, last trade). Unknown or flat symbols only advance time. Cheap: O(positions). */
  mark(symbol: string, price: number, at: number): void {
    if (!(price > 0) || !Number.isFinite(price)) throw new AppError('VALIDATION', `mark price for ${symbol} must be a positive finite number, got ${price}`);
    this.#advance(at);
    const p = this.#positions.get(symbol);
    if (p) {
      p.mark = price;
      if (p.qty !== 0) this.#touchPeak();
    }
  }

  /** Counts an order submission for the orders-per-minute limit. */
  recordOrderSubmitted(at: number): void {
    this.#orderTimes.push(at);
    const cutoff = at - ORDER_WINDOW_MS;
    let i = 0;
    while (i < this.#orderTimes.length && (this.#orderTimes[i] ?? 0) <= cutoff) i++;
    if (i > 0) this.#orderTimes.splice(0, i);
  }

  position(symbol: string): Position | null {
    const p = this.#positions.get(symbol);
    return p ? this.#toPosition(p) : null;
  }

  snapshot(asOf: number): PortfolioSnapshot {
    this.#advance(asOf);
    this.#touchPeak();
    const equity = this.equity();
    const positions: Position[] = [];
    let gross = 0;
    let net = 0;
    let realized = 0;
    let unrealized = 0;
    for (const p of this.#positions.values()) {
      realized += p.realized;
      if (p.qty === 0) continue;
      const pos = this.#toPosition(p);
      positions.push(pos);
      gross += pos.notional;
      net += p.qty * p.mark;
      unrealized += pos.unrealizedPnl;
    }
    positions.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    const peak = this.#peakEquity;
    const at = Math.max(asOf, this.#now);
    return {
      schemaVersion: SCHEMA_VERSION,
      asOf: at,
      quoteCurrency: this.quoteCurrency,
      cash: this.#cash,
      equity,
      grossExposure: gross,
      netExposure: net,
      positions,
      realizedPnl: realized,
      unrealizedPnl: unrealized,
      feesPaid: this.#feesPaid,
      dayStartEquity: this.#dayStartEquity,
      dailyPnl: equity - this.#dayStartEquity,
      peakEquity: peak,
      drawdownPct: peak > 0 ? Math.max(0, ((peak - equity) / peak) * 100) : 0,
      ordersLastMinute: this.#orderTimes.filter((t) => t > at - ORDER_WINDOW_MS && t <= at).length,
    };
  }

  #toPosition(p: PositionState): Position {
    return {
      schemaVersion: SCHEMA_VERSION,
      exchange: this.exchange,
      symbol: p.symbol,
      quantity: p.qty,
      avgEntryPrice: p.avgEntry,
      markPrice: p.mark,
      notional: Math.abs(p.qty) * p.mark,
      realizedPnl: p.realized,
      unrealizedPnl: p.qty === 0 ? 0 : p.qty * (p.mark - p.avgEntry),
      openedAt: p.openedAt,
      updatedAt: p.updatedAt,
    };
  }

  #advance(t: number): void {
    if (!Number.isInteger(t) || t < 0) throw new AppError('VALIDATION', `event time must be UTC epoch ms, got ${t}`);
    if (t <= this.#now) return;
    this.#now = t;
    const day = utcDayStart(t);
    if (day > this.#day) {
      this.#day = day;
      this.#dayStartEquity = this.equity();
    }
  }

  #touchPeak(): void {
    const e = this.equity();
    if (e > this.#peakEquity) this.#peakEquity = e;
  }

  #validate(f: Fill): void {
    const bad = (what: string) =>
      new AppError('VALIDATION', `fill ${f.fillId} for ${f.symbol}: ${what}`, { hint: 'the fill was not applied; fix the fill source', details: { fillId: f.fillId } });
    if (!(f.quantity > 0) || !Number.isFinite(f.quantity)) throw bad(`quantity must be a positive finite number, got ${f.quantity}`);
    if (!(f.price > 0) || !Number.isFinite(f.price)) throw bad(`price must be a positive finite number, got ${f.price}`);
    if (!(f.fee >= 0) || !Number.isFinite(f.fee)) throw bad(`fee must be a finite number ≥ 0, got ${f.fee}`);
    if (f.side !== 'buy' && f.side !== 'sell') throw bad(`side must be buy or sell, got ${String(f.side)}`);
    if (!Number.isInteger(f.ts) || f.ts < 0) throw bad(`ts must be UTC epoch ms, got ${f.ts}`);
    const quote = f.symbol.split('/')[1]?.split(':')[0];
    if (quote !== this.quoteCurrency) throw bad(`symbol is not quoted in the account currency ${this.quoteCurrency}`);
    if (f.fee > 0 && f.feeCurrency !== this.quoteCurrency)
      throw bad(`fee is in ${f.feeCurrency}; convert it to ${this.quoteCurrency} before applying the fill`);
  }
}
