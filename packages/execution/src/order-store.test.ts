import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrderRequest } from '@meridian/contracts';
import { getOutboxEntry, getPosition, insertOutbox, transitionTradingState, listExecutionReports, listFills, listOrderTransitions, migrate, openDb, type Db } from '@meridian/db';
import type { ExchangeOrder } from './exchange-adapter.ts';
import { OrderStore } from './order-store.ts';
import { freshOrderRequest } from '@meridian/test/support';

let db: Db;
let store: OrderStore;
const T0 = Date.UTC(2024, 0, 1);

beforeAll(async () => {
  db = await openDb({ kind: 'pglite', dataDir: 'memory' });
  await migrate(db);
  store = new OrderStore(db);
}, 60_000);
afterAll(async () => db?.close());

function request(over: Partial<OrderRequest> = {}): OrderRequest {
  return {
    ...freshOrderRequest({ quantity: 0.5, createdAt: T0 }),
    approval: { keyId: 'k1', limitsVersion: 1, expiresAt: T0 + 60_000, signature: 'a'.repeat(64) },
    ...over,
  };
}

const filled = (r: OrderRequest, price: number, fillId = 'ex-1-1'): ExchangeOrder => ({
  clientOrderId: r.orderId,
  exchangeOrderId: 'ex-1',
  symbol: r.symbol,
  side: r.side,
  type: r.type,
  quantity: r.quantity,
  limitPrice: null,
  status: 'FILLED',
  filledQuantity: r.quantity,
  avgFillPrice: price,
  fees: 0.1,
  fills: [
    { schemaVersion: 1, fillId, orderId: r.orderId, exchange: 'paper', symbol: r.symbol, side: r.side, quantity: r.quantity, price, fee: 0.1, feeCurrency: 'USDT', liquidity: 'taker', ts: T0 + 5 },
  ],
  updatedAt: T0 + 5,
});

describe('OrderStore', () => {
  it('stores every transition with its time and reason, fills once, the position and a report', async () => {
    const r = request();
    const { order, inserted } = await store.createFromRequest(r, T0);
    expect(inserted).toBe(true);
    expect((await store.createFromRequest(r, T0 + 1)).inserted).toBe(false);
    const sub = await store.transition(order, 'SUBMITTING', 'sending to paper', T0 + 1);
    const done = await store.applyExchangeOrder(sub.order, filled(r, 100), T0 + 6);
    expect(done.order).toMatchObject({ status: 'FILLED', filledQuantity: 0.5, avgFillPrice: 100, exchangeOrderId: 'ex-1' });
    expect((await listOrderTransitions(db, r.orderId)).map((t) => [t.from, t.to, t.at, t.reason])).toEqual([
      [null, 'NEW', T0, 'received from the outbox'],
      ['NEW', 'SUBMITTING', T0 + 1, 'sending to paper'],
      ['SUBMITTING', 'FILLED', T0 + 6, 'exchange reports FILLED'],
    ]);
    expect(await listFills(db, r.orderId)).toHaveLength(1);
    expect(await getPosition(db, 'paper', 'BTC/USDT')).toMatchObject({ quantity: 0.5, avgEntryPrice: 100, realizedPnl: -0.1 });
    const reports = await listExecutionReports(db, { orderId: r.orderId });
    expect(reports.map((x) => [x.report.previousStatus, x.report.status, x.report.fills.length])).toEqual([
      ['NEW', 'SUBMITTING', 0],
      ['SUBMITTING', 'FILLED', 1],
    ]);
  });

  it('refuses an illegal transition and writes nothing', async () => {
    const r = request({ symbol: 'ETH/USDT' });
    const { order } = await store.createFromRequest(r, T0);
    await expect(store.transition(order, 'FILLED', 'skip the exchange', T0 + 1)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(store.transition(order, 'SUBMITTING', '   ', T0 + 1)).rejects.toMatchObject({ code: 'VALIDATION' });
    const rejected = await store.transition(order, 'REJECTED', 'approval invalid', T0 + 2);
    // terminal: no way out, whatever the exchange says
    await expect(store.transition(rejected.order, 'SUBMITTING', 'again', T0 + 3)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(store.applyExchangeOrder(rejected.order, filled(r, 2000, 'x-1'), T0 + 4)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await listOrderTransitions(db, r.orderId)).map((t) => t.to)).toEqual(['NEW', 'REJECTED']);
    expect(await listFills(db, r.orderId)).toHaveLength(0);
    expect((await store.get(r.orderId))?.status).toBe('REJECTED');
  });

  it('a stale order (moved by someone else) is a CONFLICT, not an overwrite', async () => {
    const r = request({ symbol: 'SOL/USDT' });
    const { order } = await store.createFromRequest(r, T0);
    await store.transition(order, 'SUBMITTING', 'first', T0 + 1);
    await expect(store.transition(order, 'SUBMITTING', 'second', T0 + 2)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await listOrderTransitions(db, r.orderId)).map((t) => t.reason)).toEqual(['received from the outbox', 'first']);
  });

  it('createAndTransition stores NEW and the next step in one go, idempotently; with ack, only a handed-over order is acked', async () => {
    const sub = request({ symbol: 'BNB/USDT' });
    const rej = request({ symbol: 'BNB/USDT' });
    for (const r of [sub, rej]) await insertOutbox(db, { orderId: r.orderId, payload: r, createdAt: T0 });
    const a = await store.createAndTransition(sub, 'SUBMITTING', 'sending to paper', T0 + 1, { ack: true });
    expect(a).toMatchObject({ inserted: true, acked: false, order: { status: 'SUBMITTING', statusReason: 'sending to paper', createdAt: T0 + 1 } });
    expect(a.order.request).toEqual(sub);
    expect(await store.get(sub.orderId)).toEqual(a.order);
    expect((await getOutboxEntry(db, sub.orderId))?.ackedAt).toBeNull();
    const b = await store.createAndTransition(rej, 'REJECTED', 'trading is HALTED', T0 + 2, { ack: true });
    expect(b).toMatchObject({ inserted: true, acked: true, order: { status: 'REJECTED' } });
    expect((await getOutboxEntry(db, rej.orderId))?.ackedAt).toBe(T0 + 2);
    expect((await listOrderTransitions(db, rej.orderId)).map((t) => [t.from, t.to, t.reason])).toEqual([
      [null, 'NEW', 'received from the outbox'],
      ['NEW', 'REJECTED', 'trading is HALTED'],
    ]);
    // a redelivery writes nothing and returns the stored order
    const again = await store.createAndTransition(sub, 'REJECTED', 'second try', T0 + 3, { ack: true });
    expect(again).toMatchObject({ inserted: false, acked: false, order: { status: 'SUBMITTING' } });
    expect(await listOrderTransitions(db, sub.orderId)).toHaveLength(2);
    expect((await getOutboxEntry(db, sub.orderId))?.ackedAt).toBeNull();
    expect((await listExecutionReports(db, { orderId: sub.orderId })).map((x) => x.report.status)).toEqual(['SUBMITTING']);

    // the exchange's answer and the ack commit together; a later partial-then-full sync reads the stored fills
    const partial: ExchangeOrder = {
      ...filled(sub, 300, 'bnb-1'),
      status: 'PARTIALLY_FILLED',
      filledQuantity: 0.2,
      fees: 0.04,
      fills: [{ ...filled(sub, 300, 'bnb-1').fills[0]!, quantity: 0.2, fee: 0.04 }],
    };
    const p1 = await store.applyExchangeOrder(a.order, partial, T0 + 4, { ack: true });
    expect(p1).toMatchObject({ acked: true, order: { status: 'PARTIALLY_FILLED', filledQuantity: 0.2 } });
    expect((await getOutboxEntry(db, sub.orderId))?.ackedAt).toBe(T0 + 4);
    const full: ExchangeOrder = { ...filled(sub, 300, 'bnb-2'), fills: [...partial.fills, { ...filled(sub, 300, 'bnb-2').fills[0]!, quantity: 0.3, fee: 0.06 }] };
    const p2 = await store.applyExchangeOrder(p1.order, full, T0 + 5);
    expect(p2.newFills.map((f) => f.fillId)).toEqual(['bnb-2']);
    expect(p2.order).toMatchObject({ status: 'FILLED', filledQuantity: 0.5, updatedAt: T0 + 5 });
    expect(await store.get(sub.orderId)).toEqual(p2.order);
    expect((await listFills(db, sub.orderId)).map((f) => f.fillId).sort()).toEqual(['bnb-1', 'bnb-2']);
    expect(await getPosition(db, 'paper', 'BNB/USDT')).toMatchObject({ quantity: 0.5, avgEntryPrice: 300 });
    // the same answer again changes nothing
    expect((await store.applyExchangeOrder(p2.order, full, T0 + 6)).report).toBeNull();
  });

  it('requireTradingActive writes only while trading is stored ACTIVE or never set; otherwise nothing, blocked', async () => {
    const r = request({ symbol: 'XRP/USDT' });
    await transitionTradingState(db, { to: 'HALTED', reason: 'kill switch', actor: 'test', at: T0, until: T0 + 1 });
    try {
      // HALTED with an `until` already passed is effectively ACTIVE, but only the full check may say so
      const blocked = await store.createAndTransition(r, 'SUBMITTING', 'sending', T0 + 5, { ack: true, requireTradingActive: true });
      expect(blocked).toMatchObject({ inserted: false, blocked: true });
      expect(await store.get(r.orderId)).toBeUndefined();
      // without the gate (after the caller's own check) it is written
      expect((await store.createAndTransition(r, 'SUBMITTING', 'sending', T0 + 6, { requireTradingActive: false })).inserted).toBe(true);
    } finally {
      await transitionTradingState(db, { to: 'ACTIVE', reason: 'resume', actor: 'test', at: T0 + 7 });
    }
    const r2 = request({ symbol: 'XRP/USDT' });
    expect(await store.createAndTransition(r2, 'SUBMITTING', 'sending', T0 + 8, { requireTradingActive: true })).toMatchObject({ inserted: true, blocked: false });
    // an existing order is not "blocked": it is returned as stored
    expect(await store.createAndTransition(r2, 'SUBMITTING', 'again', T0 + 9, { requireTradingActive: true })).toMatchObject({ inserted: false, blocked: false });
  });
});
