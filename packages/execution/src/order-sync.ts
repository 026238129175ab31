import { SCHEMA_VERSION, isTerminalStatus, type Fill, type Order, type OrderStatus } from '@meridian/contracts';
import { AppError, err, ok, type Result } from '@meridian/core';
import type { ExchangeOrder } from './exchange-adapter.ts';
import { transition, type OrderTransition } from './order-state-machine.ts';

export interface OrderSync {
  /** the order after applying the exchange's view (the input order when nothing changed) */
  readonly order: Order;
  /** transitions to store, in order (empty when nothing changed) */
  readonly transitions: readonly OrderTransition[];
  /** fills not seen before, to apply to the ledger and store */
  readonly newFills: readonly Fill[];
}

/** filled-quantity differences below this fraction of the order size are floating-point noise */
const QTY_REL = 1e-9;

/**
 * Brings a stored order up to date with what the exchange reports (after a create, a lookup, or at start-up
 * reconciliation). Pure: the executor persists the result. Uses the state machine for every step, so an
 * exchange report that would need an illegal transition (e.g. OPEN → REJECTED, or any change to a terminal
 * order) comes back as an AppError CONFLICT for a person to look at, never as a silent overwrite.
 *
 * Fills: exchange fills whose id is not in `knownFillIds` are new. When the exchange reports more filled
 * quantity than its fills explain (an order lookup on Binance carries no trades), the difference becomes one
 * derived fill, priced so the order's average fill price comes out as reported, with a deterministic id
 * (`<exchangeOrderId>:<filledQuantity>`), so a repeated reconciliation derives the same fill again and the
 * ledger ignores it.
 */
export function syncOrder(order: Order, ex: ExchangeOrder, at: number, knownFillIds: ReadonlySet<string> = new Set()): Result<OrderSync, AppError> {
  if (ex.clientOrderId !== order.orderId)
    return err(new AppError('CONFLICT', `exchange order ${ex.clientOrderId} is not order ${order.orderId}`, { details: { orderId: order.orderId } }));
  const eps = QTY_REL * order.quantity;
  const filledChanged = ex.filledQuantity > order.filledQuantity + eps;
  if (ex.filledQuantity < order.filledQuantity - eps)
    return err(
      new AppError('CONFLICT', `exchange reports less filled (${ex.filledQuantity}) than stored (${order.filledQuantity}) for order ${order.orderId}`, {
        hint: 'the stored order or the exchange answer is wrong; reconcile by hand',
      }),
    );

  const newFills: Fill[] = ex.fills.filter((f) => !knownFillIds.has(f.fillId));
  const explained = order.filledQuantity + newFills.reduce((s, f) => s + f.quantity, 0);
  const gap = ex.filledQuantity - explained;
  if (gap > eps && ex.avgFillPrice !== null) {
    const reportedCost = ex.avgFillPrice * ex.filledQuantity;
    const knownCost = (order.avgFillPrice ?? 0) * order.filledQuantity + newFills.reduce((s, f) => s + f.quantity * f.price, 0);
    const price = (reportedCost - knownCost) / gap;
    const fee = Math.max(0, ex.fees - order.fees - newFills.reduce((s, f) => s + f.fee, 0));
    newFills.push({
      schemaVersion: SCHEMA_VERSION,
      fillId: `${ex.exchangeOrderId}:${ex.filledQuantity}`,
      orderId: order.orderId,
      exchange: order.exchange,
      symbol: order.symbol,
      side: order.side,
      quantity: gap,
      price: price > 0 && Number.isFinite(price) ? price : ex.avgFillPrice,
      fee,
      feeCurrency: order.symbol.split('/')[1]?.split(':')[0] ?? '',
      liquidity: null,
      ts: ex.updatedAt,
    });
  }

  const update = {
    exchangeOrderId: ex.exchangeOrderId,
    filledQuantity: Math.max(order.filledQuantity, ex.filledQuantity),
    avgFillPrice: ex.avgFillPrice ?? order.avgFillPrice,
    fees: Math.max(order.fees, ex.fees),
  };
  const target: OrderStatus = ex.status;
  const sameStatus = target === order.status;
  if (sameStatus && !(target === 'PARTIALLY_FILLED' && filledChanged)) {
    const changed = order.exchangeOrderId !== ex.exchangeOrderId || filledChanged;
    return ok({ order: changed ? { ...order, ...update, updatedAt: Math.max(order.updatedAt, at) } : order, transitions: [], newFills });
  }
  if (isTerminalStatus(order.status))
    return err(
      new AppError('CONFLICT', `order ${order.orderId} is ${order.status} here but ${target} on the exchange`, {
        hint: 'a terminal order never changes; investigate the exchange account',
      }),
    );

  const steps: OrderStatus[] = order.status === 'NEW' ? ['SUBMITTING', target] : [target];
  let current = order;
  const transitions: OrderTransition[] = [];
  for (const to of steps) {
    const reason = to === 'SUBMITTING' ? 'found on the exchange' : `exchange reports ${to}`;
    const r = transition(current, to, reason, at, to === 'SUBMITTING' ? {} : update);
    if (!r.ok) return r;
    current = r.value.order;
    transitions.push(r.value.transition);
  }
  return ok({ order: current, transitions, newFills });
}
