import { ORDER_STATUSES, type Order, type OrderStatus } from '@meridian/contracts';
import { AppError, err, ok, type Result } from '@meridian/core';

/**
 * The order lifecycle: NEW → SUBMITTING → OPEN → PARTIALLY_FILLED → FILLED, or CANCELED / REJECTED /
 * EXPIRED / FAILED. The table is the single source of truth; `AllowedNext<From>` lets the compiler refuse an
 * illegal transition wherever the from-state is known statically, and `transition()` refuses it at run time.
 *
 * Why each edge exists:
 * - NEW → CANCELED / EXPIRED / REJECTED / FAILED: stopped before it was sent (cancelled by a person, approval
 *   expired, approval invalid or trading halted, could not be sent at all).
 * - SUBMITTING → FILLED / PARTIALLY_FILLED: a market order can fill in the create response itself.
 * - SUBMITTING → CANCELED / EXPIRED: IOC / market orders the exchange could not fill come back like this.
 * - SUBMITTING → FAILED: the exchange never accepted it (final error, or a lookup after an unknown outcome found nothing and we gave up).
 * - PARTIALLY_FILLED → PARTIALLY_FILLED: another partial fill changes the order and is recorded.
 * Terminal states have no way out.
 */
export const ORDER_TRANSITIONS = {
  NEW: ['SUBMITTING', 'CANCELED', 'REJECTED', 'EXPIRED', 'FAILED'],
  SUBMITTING: ['OPEN', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'FAILED'],
  OPEN: ['PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED'],
  PARTIALLY_FILLED: ['PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED'],
  FILLED: [],
  CANCELED: [],
  REJECTED: [],
  EXPIRED: [],
  FAILED: [],
} as const satisfies { readonly [S in OrderStatus]: readonly OrderStatus[] };

/** The states reachable in one step from `From`. */
export type AllowedNext<From extends OrderStatus> = (typeof ORDER_TRANSITIONS)[From][number];

/** One stored step of an order's life (persisted by the executor in `order_transitions`). */
export interface OrderTransition {
  readonly orderId: string;
  readonly from: OrderStatus;
  readonly to: OrderStatus;
  readonly reason: string;
  /** UTC epoch ms */
  readonly at: number;
}

const ALLOWED: ReadonlyMap<OrderStatus, ReadonlySet<OrderStatus>> = new Map(
  ORDER_STATUSES.map((s) => [s, new Set<OrderStatus>(ORDER_TRANSITIONS[s])]),
);

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return ALLOWED.get(from)?.has(to) ?? false;
}

/** Fields that may change together with a status (fills, exchange id). */
export type OrderUpdate = Partial<Pick<Order, 'exchangeOrderId' | 'filledQuantity' | 'avgFillPrice' | 'fees'>>;

export interface TransitionResult {
  readonly order: Order;
  readonly transition: OrderTransition;
}

/**
 * Runtime guard for the dynamic case. An illegal transition is an error value (AppError CONFLICT), never a
 * silently written row. The reason must say why (it is shown in the order's history).
 */
export function transition(order: Order, to: OrderStatus, reason: string, at: number, update: OrderUpdate = {}): Result<TransitionResult, AppError> {
  if (!canTransition(order.status, to)) {
    const allowed = ORDER_TRANSITIONS[order.status];
    return err(
      new AppError('CONFLICT', `order ${order.orderId} cannot go from ${order.status} to ${to}`, {
        hint: allowed.length ? `from ${order.status} it may go to ${allowed.join(', ')}` : `${order.status} is terminal; the order cannot change any more`,
        details: { orderId: order.orderId, from: order.status, to },
      }),
    );
  }
  if (reason.trim() === '') return err(new AppError('VALIDATION', `transition of order ${order.orderId} to ${to} needs a reason`));
  if (!Number.isInteger(at) || at < 0) return err(new AppError('VALIDATION', `transition time must be UTC epoch ms, got ${at}`));
  const next: Order = { ...order, ...update, status: to, statusReason: reason, updatedAt: Math.max(order.updatedAt, at) };
  if (next.filledQuantity < order.filledQuantity)
    return err(new AppError('CONFLICT', `order ${order.orderId}: filled quantity cannot shrink (${order.filledQuantity} → ${next.filledQuantity})`));
  return ok({ order: next, transition: { orderId: order.orderId, from: order.status, to, reason, at } });
}

/** Like `transition` but throws; for code paths where an illegal transition is a bug. */
export function transitionOrThrow(order: Order, to: OrderStatus, reason: string, at: number, update: OrderUpdate = {}): TransitionResult {
  const r = transition(order, to, reason, at, update);
  if (!r.ok) throw r.error;
  return r.value;
}

/**
 * Statically checked transition: with `order.status` known at compile time, `to` must be an allowed
 * next state, so `transitionFrom(filledOrder, 'OPEN', …)` does not compile.
 */
export function transitionFrom<From extends OrderStatus>(
  order: Order & { readonly status: From },
  to: AllowedNext<From>,
  reason: string,
  at: number,
  update: OrderUpdate = {},
): TransitionResult {
  return transitionOrThrow(order, to, reason, at, update);
}
