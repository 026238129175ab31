import { OrderSchema, type Order } from '@meridian/contracts';
import { describe, expect, it } from 'vitest';
import type { ExchangeOrder } from './exchange-adapter.ts';
import { syncOrder } from './order-sync.ts';

const T = Date.UTC(2024, 0, 1);
const OID = '018f0000-0000-7000-8000-000000000001';
const order = (over: Partial<Order> = {}): Order =>
  OrderSchema.parse({
    schemaVersion: 1,
    orderId: OID,
    decisionId: '018f0000-0000-7000-8000-000000000002',
    exchange: 'binance',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    quantity: 1,
    limitPrice: 100,
    status: 'SUBMITTING',
    statusReason: null,
    exchangeOrderId: null,
    filledQuantity: 0,
    avgFillPrice: null,
    fees: 0,
    createdAt: T,
    updatedAt: T,
    ...over,
  });
const report = (over: Partial<ExchangeOrder> = {}): ExchangeOrder => ({
  clientOrderId: OID,
  exchangeOrderId: 'X1',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'limit',
  quantity: 1,
  limitPrice: 100,
  status: 'OPEN',
  filledQuantity: 0,
  avgFillPrice: null,
  fees: 0,
  fills: [],
  updatedAt: T + 10,
  ...over,
});
const exFill = { schemaVersion: 1 as const, fillId: 't1', orderId: OID, exchange: 'binance', symbol: 'BTC/USDT', side: 'buy' as const, quantity: 1, price: 100, fee: 0.1, feeCurrency: 'USDT', liquidity: 'maker' as const, ts: T + 10 };

describe('syncOrder', () => {
  it('SUBMITTING → OPEN records the exchange order id', () => {
    const r = syncOrder(order(), report(), T + 20);
    if (!r.ok) throw r.error;
    expect(r.value.transitions.map((t) => [t.from, t.to])).toEqual([['SUBMITTING', 'OPEN']]);
    expect(r.value.order).toMatchObject({ status: 'OPEN', exchangeOrderId: 'X1' });
    expect(r.value.newFills).toEqual([]);
  });

  it('a NEW order found on the exchange goes through SUBMITTING', () => {
    const r = syncOrder(order({ status: 'NEW' }), report(), T + 20);
    expect(r.ok && r.value.transitions.map((t) => t.to)).toEqual(['SUBMITTING', 'OPEN']);
  });

  it('reported fills are new once; a repeated sync changes nothing', () => {
    const ex = report({ status: 'FILLED', filledQuantity: 1, avgFillPrice: 100, fees: 0.1, fills: [exFill] });
    const r = syncOrder(order({ status: 'OPEN', exchangeOrderId: 'X1' }), ex, T + 20);
    if (!r.ok) throw r.error;
    expect(r.value.order).toMatchObject({ status: 'FILLED', filledQuantity: 1, avgFillPrice: 100, fees: 0.1 });
    expect(r.value.newFills).toEqual([exFill]);
    const again = syncOrder(r.value.order, ex, T + 30, new Set(['t1']));
    expect(again.ok && again.value).toEqual({ order: r.value.order, transitions: [], newFills: [] });
  });

  it('derives fills from filled quantity when the exchange reports none, priced to match the average', () => {
    const o1 = syncOrder(order({ status: 'OPEN', exchangeOrderId: 'X1' }), report({ status: 'PARTIALLY_FILLED', filledQuantity: 0.4, avgFillPrice: 100, fees: 0.04 }), T + 20);
    if (!o1.ok) throw o1.error;
    expect(o1.value.newFills).toMatchObject([{ fillId: 'X1:0.4', quantity: 0.4, price: 100, fee: 0.04, feeCurrency: 'USDT' }]);
    const o2 = syncOrder(o1.value.order, report({ status: 'PARTIALLY_FILLED', filledQuantity: 0.7, avgFillPrice: 101, fees: 0.07 }), T + 30, new Set(['X1:0.4']));
    if (!o2.ok) throw o2.error;
    expect(o2.value.transitions.map((t) => [t.from, t.to])).toEqual([['PARTIALLY_FILLED', 'PARTIALLY_FILLED']]);
    const [f] = o2.value.newFills;
    expect(f?.fillId).toBe('X1:0.7');
    expect(f?.quantity).toBeCloseTo(0.3, 12);
    expect(f?.price).toBeCloseTo((0.7 * 101 - 0.4 * 100) / 0.3, 9);
    expect(f?.fee).toBeCloseTo(0.03, 12);
  });

  it('refuses what the lifecycle forbids: changes to a terminal order, OPEN → REJECTED, shrinking fills, a foreign order', () => {
    const filled = order({ status: 'FILLED', filledQuantity: 1, avgFillPrice: 100, exchangeOrderId: 'X1' });
    expect(syncOrder(filled, report({ status: 'CANCELED', filledQuantity: 1, avgFillPrice: 100 }), T).ok).toBe(false);
    const r = syncOrder(order({ status: 'OPEN' }), report({ status: 'REJECTED' }), T);
    expect(!r.ok && r.error.code).toBe('CONFLICT');
    expect(syncOrder(order({ status: 'PARTIALLY_FILLED', filledQuantity: 0.5, avgFillPrice: 100 }), report({ status: 'PARTIALLY_FILLED', filledQuantity: 0.2, avgFillPrice: 100 }), T).ok).toBe(false);
    expect(syncOrder(order(), report({ clientOrderId: '018f0000-0000-7000-8000-0000000000ff' }), T).ok).toBe(false);
  });
});
