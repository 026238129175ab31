import type { Fill, MarketInfo } from '@meridian/contracts';
import { SCHEMA_VERSION } from '@meridian/contracts';
import { AppError, bps, type Clock } from '@meridian/core';
import { orderRuleViolation } from './order-rules.ts';
import { type AccountMode, DEFAULT_ACCOUNT_MODE } from './portfolio-ledger.ts';
import {
  sameOrderParameters,
  type Balances,
  type CreateOrderInput,
  type ExchangeAdapter,
  type ExchangeOrder,
  type ExchangeOrderStatus,
} from './exchange-adapter.ts';
import { FinalExchangeError } from './exchange-errors.ts';

/** One price update: a bar (open/high/low/close) or a single trade price (all four equal). */
export interface PriceBar {
  /** UTC epoch ms at which the bar's prices start (a candle's open time) */
  readonly ts: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
}

export interface PaperFillEvent {
  readonly order: ExchangeOrder;
  readonly fill: Fill;
}

export interface PaperExchangeOptions {
  /** exchange id stamped on fills; default 'paper' */
  readonly id?: string;
  readonly markets: readonly MarketInfo[];
  /** starting free balances per currency, e.g. { USDT: 10_000 } */
  readonly balances: Readonly<Record<string, number>>;
  /** fee per fill in basis points of the notional, charged in the quote currency; default 10 (0.1 %) */
  readonly feeBps?: number;
  /** market orders fill this many basis points worse than the next price; default 5 */
  readonly slippageBps?: number;
  /** default 'spot' (see AccountMode) */
  readonly mode?: AccountMode;
  /** the time source for order timestamps; the exchange has no clock of its own */
  readonly clock: Clock;
}

interface PaperOrder {
  readonly clientOrderId: string;
  readonly exchangeOrderId: string;
  readonly symbol: string;
  readonly market: MarketInfo;
  readonly side: 'buy' | 'sell';
  readonly type: 'market' | 'limit';
  readonly quantity: number;
  readonly limitPrice: number | null;
  status: ExchangeOrderStatus;
  filled: number;
  avgPrice: number | null;
  fees: number;
  fills: Fill[];
  /** funds held for this order: quote for buys, base for sells (spot only) */
  reserved: number;
  updatedAt: number;
}

const NO_EVENTS: readonly PaperFillEvent[] = Object.freeze([]);

/**
 * A deterministic exchange simulator driven by the price feed it is given (`onBar` / `onPrice`), with no clock,
 * timers or randomness of its own:
 * - market orders fill in full at the next price update's open, `slippageBps` worse, paying `feeBps`;
 * - limit orders fill in full on the first later update whose range reaches the limit — at the limit, or at the
 *   open when the price gaps through it (then as taker); no partial fills;
 * - the market's minQty, qtyStep, priceStep and minNotional are enforced (FinalExchangeError 'invalid_order');
 * - in 'spot' mode funds are reserved at create and balances never go negative (FinalExchangeError
 *   'insufficient_funds'); a market buy that the next price makes unaffordable EXPIRES instead of filling;
 *   in 'margin' mode base balances may go negative (shorts) and no reservation is made;
 * - create is idempotent on clientOrderId.
 * The per-update path does no work for a symbol without open orders (the backtest calls it for every bar).
 */
export class PaperExchange implements ExchangeAdapter {
  readonly id: string;
  readonly mode: AccountMode;
  readonly feeRate: number;
  readonly slippageRate: number;
  readonly #clock: Clock;
  readonly #markets = new Map<string, MarketInfo>();
  readonly #free = new Map<string, number>();
  readonly #used = new Map<string, number>();
  readonly #orders = new Map<string, PaperOrder>();
  readonly #open = new Map<string, PaperOrder[]>();
  readonly #last = new Map<string, number>();
  #seq = 0;

  constructor(opts: PaperExchangeOptions) {
    this.id = opts.id ?? 'paper';
    this.mode = opts.mode ?? DEFAULT_ACCOUNT_MODE;
    const feeBps = opts.feeBps ?? 10;
    const slippageBps = opts.slippageBps ?? 5;
    if (!(feeBps >= 0 && feeBps < 10_000)) throw new AppError('VALIDATION', `feeBps must be in [0, 10000), got ${feeBps}`);
    if (!(slippageBps >= 0 && slippageBps < 10_000)) throw new AppError('VALIDATION', `slippageBps must be in [0, 10000), got ${slippageBps}`);
    this.feeRate = bps(feeBps);
    this.slippageRate = bps(slippageBps);
    this.#clock = opts.clock;
    for (const m of opts.markets) this.#markets.set(m.symbol, m);
    for (const [cur, amount] of Object.entries(opts.balances)) {
      if (!Number.isFinite(amount) || amount < 0) throw new AppError('VALIDATION', `starting balance of ${cur} must be a finite number ≥ 0, got ${amount}`);
      this.#free.set(cur, amount);
    }
  }

  // ---- price feed -------------------------------------------------------------------------------------------

  /** Feeds one bar; returns the fills it caused (the same frozen empty array when none). */
  onBar(symbol: string, bar: PriceBar): readonly PaperFillEvent[] {
    this.#last.set(symbol, bar.close);
    const open = this.#open.get(symbol);
    if (open === undefined || open.length === 0) return NO_EVENTS;
    return this.#match(open, bar);
  }

  /** Feeds one trade price (a bar with open = high = low = close). */
  onPrice(symbol: string, price: number, ts: number): readonly PaperFillEvent[] {
    return this.onBar(symbol, { ts, open: price, high: price, low: price, close: price });
  }

  lastPrice(symbol: string): number | undefined {
    return this.#last.get(symbol);
  }

  // ---- ExchangeAdapter --------------------------------------------------------------------------------------

  async market(symbol: string): Promise<MarketInfo> {
    return this.#marketOf(symbol, 'market');
  }

  async createOrder(input: CreateOrderInput): Promise<ExchangeOrder> {
    return this.createOrderSync(input);
  }

  /** Synchronous create for the backtest's hot loop (same rules as createOrder). */
  createOrderSync(input: CreateOrderInput): ExchangeOrder {
    const existing = this.#orders.get(input.orderId);
    if (existing) {
      const view = toView(existing);
      if (!sameOrderParameters(view, input))
        throw new FinalExchangeError('duplicate_order', this.id, 'createOrder', `client order id ${input.orderId} already names a different order`);
      return view;
    }
    const market = this.#marketOf(input.symbol, 'createOrder');
    if (input.orderId.length === 0) throw new FinalExchangeError('invalid_order', this.id, 'createOrder', 'an order needs a client order id');
    const last = this.#last.get(input.symbol);
    if (input.type === 'market' && last === undefined)
      throw new FinalExchangeError('rejected', this.id, 'createOrder', `${input.symbol} has no price yet; feed a bar before placing a market order`);
    const violation = orderRuleViolation(input, market, last ?? null);
    if (violation !== null) throw new FinalExchangeError('invalid_order', this.id, 'createOrder', `${input.symbol}: ${violation}`);
    const q = input.quantity;
    const notional = q * (input.type === 'limit' ? (input.limitPrice as number) : (last as number));

    let reserved = 0;
    if (this.mode === 'spot') {
      if (input.side === 'buy') {
        const slip = input.type === 'market' ? 1 + this.slippageRate : 1;
        reserved = notional * slip * (1 + this.feeRate);
        this.#reserve(market.quote, reserved, input);
      } else {
        reserved = q;
        this.#reserve(market.base, reserved, input);
      }
    } else if (this.#marginEquity() <= 0) {
      throw new FinalExchangeError('insufficient_funds', this.id, 'createOrder', 'account equity is not positive; no new orders');
    }

    const now = this.#clock.now();
    const order: PaperOrder = {
      clientOrderId: input.orderId,
      exchangeOrderId: `${this.id}-${++this.#seq}`,
      symbol: input.symbol,
      market,
      side: input.side,
      type: input.type,
      quantity: q,
      limitPrice: input.type === 'limit' ? input.limitPrice : null,
      status: 'OPEN',
      filled: 0,
      avgPrice: null,
      fees: 0,
      fills: [],
      reserved,
      updatedAt: now,
    };
    this.#orders.set(order.clientOrderId, order);
    const list = this.#open.get(order.symbol);
    if (list) list.push(order);
    else this.#open.set(order.symbol, [order]);
    return toView(order);
  }

  async cancelOrder(clientOrderId: string, symbol: string): Promise<ExchangeOrder> {
    const o = this.#orders.get(clientOrderId);
    if (!o || o.symbol !== symbol)
      throw new FinalExchangeError('order_not_found', this.id, 'cancelOrder', `no order with client order id ${clientOrderId} on ${symbol}`);
    if (o.status !== 'OPEN' && o.status !== 'PARTIALLY_FILLED') return toView(o);
    this.#close(o, 'CANCELED', this.#clock.now());
    return toView(o);
  }

  async fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder | null> {
    const o = this.#orders.get(clientOrderId);
    return o && o.symbol === symbol ? toView(o) : null;
  }

  async fetchOpenOrders(symbol?: string): Promise<ExchangeOrder[]> {
    const lists = symbol === undefined ? [...this.#open.values()] : [this.#open.get(symbol) ?? []];
    return lists.flat().map(toView);
  }

  async fetchBalances(): Promise<Balances> {
    const out: Record<string, { free: number; used: number; total: number }> = {};
    for (const cur of new Set([...this.#free.keys(), ...this.#used.keys()])) {
      const free = this.#free.get(cur) ?? 0;
      const used = this.#used.get(cur) ?? 0;
      out[cur] = { free, used, total: free + used };
    }
    return out;
  }

  async close(): Promise<void> {}

  // ---- internals --------------------------------------------------------------------------------------------

  #marketOf(symbol: string, op: string): MarketInfo {
    const m = this.#markets.get(symbol);
    if (!m) throw new FinalExchangeError('bad_symbol', this.id, op, `no market ${symbol} (known: ${[...this.#markets.keys()].join(', ') || 'none'})`);
    return m;
  }

  #reserve(currency: string, amount: number, input: CreateOrderInput): void {
    const free = this.#free.get(currency) ?? 0;
    if (amount > free * (1 + 1e-12))
      throw new FinalExchangeError(
        'insufficient_funds',
        this.id,
        'createOrder',
        `${input.side} ${input.quantity} ${input.symbol} needs ${amount} ${currency}, free is ${free}`,
      );
    this.#free.set(currency, Math.max(0, free - amount));
    this.#used.set(currency, (this.#used.get(currency) ?? 0) + amount);
  }

  #release(o: PaperOrder): void {
    if (o.reserved === 0) return;
    const cur = o.side === 'buy' ? o.market.quote : o.market.base;
    this.#used.set(cur, Math.max(0, (this.#used.get(cur) ?? 0) - o.reserved));
    this.#free.set(cur, (this.#free.get(cur) ?? 0) + o.reserved);
    o.reserved = 0;
  }

  #marginEquity(): number {
    let e = 0;
    for (const [cur, free] of this.#free) {
      const amount = free + (this.#used.get(cur) ?? 0);
      if (amount === 0) continue;
      const m = [...this.#markets.values()].find((x) => x.base === cur);
      e += m ? amount * (this.#last.get(m.symbol) ?? 0) : amount;
    }
    return e;
  }

  #close(o: PaperOrder, status: ExchangeOrderStatus, at: number): void {
    this.#release(o);
    o.status = status;
    o.updatedAt = Math.max(o.updatedAt, at);
    const list = this.#open.get(o.symbol);
    if (list) {
      const i = list.indexOf(o);
      if (i >= 0) list.splice(i, 1);
    }
  }

  #match(open: PaperOrder[], bar: PriceBar): readonly PaperFillEvent[] {
    let events: PaperFillEvent[] | undefined;
    // iterate over a copy: filling removes orders from `open`
    for (const o of open.slice()) {
      let price: number | null = null;
      let liquidity: 'maker' | 'taker' = 'taker';
      if (o.type === 'market') {
        price = o.side === 'buy' ? bar.open * (1 + this.slippageRate) : bar.open * (1 - this.slippageRate);
      } else {
        const l = o.limitPrice as number;
        const gapped = o.side === 'buy' ? bar.open <= l : bar.open >= l;
        const touched = o.side === 'buy' ? bar.low <= l : bar.high >= l;
        if (gapped) price = bar.open;
        else if (touched) {
          price = l;
          liquidity = 'maker';
        }
      }
      if (price === null) continue;
      const at = Math.max(bar.ts, o.updatedAt);
      const ev = this.#fill(o, price, liquidity, at);
      if (ev) (events ??= []).push(ev);
    }
    return events ?? NO_EVENTS;
  }

  #fill(o: PaperOrder, price: number, liquidity: 'maker' | 'taker', at: number): PaperFillEvent | null {
    const { base, quote } = o.market;
    const notional = o.quantity * price;
    const fee = notional * this.feeRate;
    if (this.mode === 'spot' && o.side === 'buy') {
      const available = (this.#free.get(quote) ?? 0) + o.reserved;
      if (notional + fee > available * (1 + 1e-12)) {
        this.#close(o, 'EXPIRED', at);
        return null;
      }
    }
    // settle: release the hold, then move the money
    this.#release(o);
    const add = (cur: string, x: number) => this.#free.set(cur, (this.#free.get(cur) ?? 0) + x);
    if (o.side === 'buy') {
      add(quote, -(notional + fee));
      add(base, o.quantity);
    } else {
      add(base, -o.quantity);
      add(quote, notional - fee);
    }
    if (this.mode === 'spot') {
      // floating-point dust from reserve/release must not show as a negative balance
      for (const cur of [base, quote]) if ((this.#free.get(cur) ?? 0) < 0) this.#free.set(cur, 0);
    }
    const fill: Fill = {
      schemaVersion: SCHEMA_VERSION,
      fillId: `${o.exchangeOrderId}-1`,
      orderId: o.clientOrderId,
      exchange: this.id,
      symbol: o.symbol,
      side: o.side,
      quantity: o.quantity,
      price,
      fee,
      feeCurrency: quote,
      liquidity,
      ts: at,
    };
    o.filled = o.quantity;
    o.avgPrice = price;
    o.fees = fee;
    o.fills.push(fill);
    this.#close(o, 'FILLED', at);
    return { order: toView(o), fill };
  }
}

function toView(o: PaperOrder): ExchangeOrder {
  return {
    clientOrderId: o.clientOrderId,
    exchangeOrderId: o.exchangeOrderId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    quantity: o.quantity,
    limitPrice: o.limitPrice,
    status: o.status,
    filledQuantity: o.filled,
    avgFillPrice: o.avgPrice,
    fees: o.fees,
    fills: o.fills.slice(),
    updatedAt: o.updatedAt,
  };
}
