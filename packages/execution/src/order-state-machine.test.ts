import { ORDER_STATUSES, TERMINAL_ORDER_STATUSES, isTerminalStatus, OrderSchema, type Order, type OrderStatus } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { describe, expect, it } from 'vitest';
import { canTransition, ORDER_TRANSITIONS, transition, transitionFrom, transitionOrThrow, type AllowedNext } from './order-state-machine.ts';

const T = Date.UTC(2024, 0, 1);
const order = (status: OrderStatus, over: Partial<Order> = {}): Order =>
  OrderSchema.parse({
    schemaVersion: 1,
    orderId: '018f0000-0000-7000-8000-000000000001',
    decisionId: '018f0000-0000-7000-8000-000000000002',
    exchange: 'paper',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    quantity: 1,
    limitPrice: 100,
    status,
    statusReason: null,
    exchangeOrderId: null,
    filledQuantity: 0,
    avgFillPrice: null,
    fees: 0,
    createdAt: T,
    updatedAt: T,
    ...over,
  });

/** The lifecycle written out pair by pair, independently of ORDER_TRANSITIONS: what the issue asks for. */
const LEGAL = new Set([
  'NEW>SUBMITTING', 'NEW>CANCELED', 'NEW>REJECTED', 'NEW>EXPIRED', 'NEW>FAILED',
  'SUBMITTING>OPEN', 'SUBMITTING>PARTIALLY_FILLED', 'SUBMITTING>FILLED', 'SUBMITTING>CANCELED',
  'SUBMITTING>REJECTED', 'SUBMITTING>EXPIRED', 'SUBMITTING>FAILED',
  'OPEN>PARTIALLY_FILLED', 'OPEN>FILLED', 'OPEN>CANCELED', 'OPEN>EXPIRED',
  'PARTIALLY_FILLED>PARTIALLY_FILLED', 'PARTIALLY_FILLED>FILLED', 'PARTIALLY_FILLED>CANCELED', 'PARTIALLY_FILLED>EXPIRED',
]); // prettier-ignore

describe('order state machine', () => {
  const pairs = ORDER_STATUSES.flatMap((from) => ORDER_STATUSES.map((to) => [from, to] as const));

  it.each(pairs)('%s → %s is allowed exactly when the lifecycle says so', (from, to) => {
    const legal = LEGAL.has(`${from}>${to}`);
    expect(canTransition(from, to)).toBe(legal);
    const filled = from === 'PARTIALLY_FILLED' ? { filledQuantity: 0.5, avgFillPrice: 100 } : {};
    const r = transition(order(from, filled), to, 'test', T + 1);
    expect(r.ok).toBe(legal);
    if (r.ok) {
      expect(r.value.order.status).toBe(to);
      expect(r.value.order.statusReason).toBe('test');
      expect(r.value.transition).toEqual({ orderId: order(from).orderId, from, to, reason: 'test', at: T + 1 });
    } else {
      expect(r.error).toBeInstanceOf(AppError);
      expect(r.error.code).toBe('CONFLICT');
      expect(r.error.message).toContain(`from ${from} to ${to}`);
    }
  });

  it('terminal states (and only they) have no way out', () => {
    for (const s of ORDER_STATUSES) expect(ORDER_TRANSITIONS[s].length === 0).toBe(isTerminalStatus(s));
    expect([...TERMINAL_ORDER_STATUSES].sort()).toEqual(ORDER_STATUSES.filter((s) => ORDER_TRANSITIONS[s].length === 0).sort());
  });

  it('every status is reachable from NEW', () => {
    const seen = new Set<OrderStatus>(['NEW']);
    const queue: OrderStatus[] = ['NEW'];
    while (queue.length) {
      for (const n of ORDER_TRANSITIONS[queue.shift()!]) {
        if (seen.has(n)) continue;
        seen.add(n);
        queue.push(n);
      }
    }
    expect([...seen].sort()).toEqual([...ORDER_STATUSES].sort());
  });

  it('carries fill updates and refuses a shrinking filled quantity, an empty reason, a bad time', () => {
    const o = order('OPEN');
    const r = transitionOrThrow(o, 'PARTIALLY_FILLED', 'fill 1', T + 5, { filledQuantity: 0.4, avgFillPrice: 101, fees: 0.1, exchangeOrderId: 'X1' });
    expect(r.order).toMatchObject({ filledQuantity: 0.4, avgFillPrice: 101, fees: 0.1, exchangeOrderId: 'X1', updatedAt: T + 5 });
    expect(OrderSchema.safeParse(r.order).success).toBe(true);
    const shrink = transition(r.order, 'FILLED', 'fill 2', T + 6, { filledQuantity: 0.3 });
    expect(shrink.ok).toBe(false);
    expect(transition(o, 'FILLED', '  ', T).ok).toBe(false);
    expect(transition(o, 'FILLED', 'x', Number.NaN).ok).toBe(false);
    const fromTerminal = transition(order('FILLED'), 'OPEN', 'x', T);
    expect(!fromTerminal.ok && fromTerminal.error.hint).toMatch(/terminal/);
    expect(() => transitionOrThrow(order('FILLED'), 'OPEN', 'x', T)).toThrow(/from FILLED to OPEN/);
  });

  it('types refuse an illegal transition when the from-state is known statically', () => {
    const open = order('OPEN') as Order & { status: 'OPEN' };
    expect(transitionFrom(open, 'FILLED', 'filled', T + 1).order.status).toBe('FILLED');
    const filled = order('FILLED') as Order & { status: 'FILLED' };
    // @ts-expect-error — FILLED is terminal: AllowedNext<'FILLED'> is never
    expect(() => transitionFrom(filled, 'OPEN', 'reopen', T + 1)).toThrow(AppError);
    // @ts-expect-error — an OPEN order cannot go back to SUBMITTING
    expect(() => transitionFrom(open, 'SUBMITTING', 'again', T + 1)).toThrow(AppError);
    const next: AllowedNext<'NEW'>[] = ['SUBMITTING', 'CANCELED', 'REJECTED', 'EXPIRED', 'FAILED'];
    expect(next).toHaveLength(ORDER_TRANSITIONS.NEW.length);
  });
});
