import type { Fill, MarketInfo, OrderRequest, OrderStatus } from '@meridian/contracts';

/** What an adapter needs to place an order: the approved request's order fields (the approval is checked before). */
export type CreateOrderInput = Pick<OrderRequest, 'orderId' | 'symbol' | 'side' | 'type' | 'quantity' | 'limitPrice'>;

/** Statuses an exchange can report; NEW / SUBMITTING / FAILED are ours, never the exchange's. */
export type ExchangeOrderStatus = Extract<OrderStatus, 'OPEN' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'REJECTED' | 'EXPIRED'>;

/** The exchange's view of one order. The executor merges it into its stored `Order` via the state machine. */
export interface ExchangeOrder {
  /** our orderId, sent as the exchange's client order id */
  readonly clientOrderId: string;
  readonly exchangeOrderId: string;
  readonly symbol: string;
  readonly side: OrderRequest['side'];
  readonly type: OrderRequest['type'];
  readonly quantity: number;
  readonly limitPrice: number | null;
  readonly status: ExchangeOrderStatus;
  readonly filledQuantity: number;
  readonly avgFillPrice: number | null;
  /** fees in the quote currency (as far as the exchange reported them) */
  readonly fees: number;
  /**
   * Fills the exchange reported with this answer. May be empty although filledQuantity > 0 (an order
   * lookup on Binance returns no trades); the executor then derives a fill from the change in filled quantity.
   */
  readonly fills: readonly Fill[];
  /** UTC epoch ms of the exchange's last update to the order */
  readonly updatedAt: number;
}

export interface Balance {
  readonly free: number;
  readonly used: number;
  readonly total: number;
}
export type Balances = Readonly<Record<string, Balance>>;

/**
 * The one interface every exchange implementation satisfies (paper, ccxt). Every method may throw
 * `RetryableExchangeError` or `FinalExchangeError`; `createOrder` may also throw `UnknownOutcomeError`.
 *
 * Idempotency: `createOrder` with a client order id the exchange already knows returns that existing
 * order (never a second one); it throws `FinalExchangeError('duplicate_order')` only when the known order
 * has different parameters (a bug upstream: one id, two orders).
 */
export interface ExchangeAdapter {
  /** the exchange id used in Fill/Order (`paper`, `binance`, …) */
  readonly id: string;
  /** trading rules of a market; FinalExchangeError('bad_symbol') when the exchange does not list it */
  market(symbol: string): Promise<MarketInfo>;
  createOrder(input: CreateOrderInput): Promise<ExchangeOrder>;
  /** cancels an open order; cancelling an order that is already terminal returns it unchanged */
  cancelOrder(clientOrderId: string, symbol: string): Promise<ExchangeOrder>;
  /** null when the exchange has no order with this client order id */
  fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder | null>;
  fetchOpenOrders(symbol?: string): Promise<ExchangeOrder[]>;
  fetchBalances(): Promise<Balances>;
  /** releases connections/timers; the adapter is unusable afterwards */
  close(): Promise<void>;
}

/** true when an existing order matches the request (same market, side, type, size, price) */
export function sameOrderParameters(o: ExchangeOrder, input: CreateOrderInput): boolean {
  const rel = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  return (
    o.symbol === input.symbol &&
    o.side === input.side &&
    o.type === input.type &&
    rel(o.quantity, input.quantity) &&
    (input.type === 'market' || (o.limitPrice !== null && input.limitPrice !== null && rel(o.limitPrice, input.limitPrice)))
  );
}
