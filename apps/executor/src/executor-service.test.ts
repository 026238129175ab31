import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type OrderRequest } from '@meridian/contracts';
import { createLogger, systemClock, SimulatedClock } from '@meridian/core';
import {
  appendRiskLimits,
  getOutboxEntry,
  insertOutbox,
  listOrderTransitions,
  migrate,
  openDb,
  transitionTradingState,
  type Db,
} from '@meridian/db';
import {
  FinalExchangeError,
  PaperExchange,
  RetryableExchangeError,
  UnknownOutcomeError,
  type CreateOrderInput,
  type ExchangeAdapter,
  type ExchangeOrder,
  type FinalReason,
} from '@meridian/execution';
import { InProcessQueue, OutboxRelay } from '@meridian/queue';
import { signOrder } from '@meridian/risk';
import { PAPER_MARKETS } from './exchange-factory.ts';
import { ExecutorService } from './executor-service.ts';
import { freshOrderRequest } from '@meridian/test/support';

const KEY = { keyId: 'k1', key: 'executor-test-signing-key-0123456789abcdef' };
const VERIFY = { k1: KEY.key };
const logger = createLogger({ name: 'executor-test', level: 'silent' });

type Step = 'retryable' | 'unknown-before' | 'unknown-after' | `final:${FinalReason}`;

/** PaperExchange with a script of failures for createOrder, and a count of what reached it. */
class ScriptedExchange implements ExchangeAdapter {
  readonly id = 'paper';
  readonly paper = new PaperExchange({ markets: PAPER_MARKETS, balances: { USDT: 1_000_000 }, clock: systemClock });
  readonly script: Step[] = [];
  creates: string[] = [];
  lookups = 0;
  constructor() {
    this.paper.onPrice('BTC/USDT', 40_000, Date.now());
  }
  market(symbol: string) {
    return this.paper.market(symbol);
  }
  async createOrder(input: CreateOrderInput): Promise<ExchangeOrder> {
    this.creates.push(input.orderId);
    const step = this.script.shift();
    if (step === 'retryable') throw new RetryableExchangeError('rate_limited', 'paper', 'createOrder', '429');
    if (step === 'unknown-before') throw new UnknownOutcomeError('timeout', 'paper', input.orderId, 'request timed out');
    if (step === 'unknown-after') {
      await this.paper.createOrder(input);
      throw new UnknownOutcomeError('network', 'paper', input.orderId, 'connection dropped after send');
    }
    if (step?.startsWith('final:')) throw new FinalExchangeError(step.slice(6) as FinalReason, 'paper', 'createOrder', 'refused');
    return this.paper.createOrder(input);
  }
  cancelOrder(id: string, symbol: string) {
    return this.paper.cancelOrder(id, symbol);
  }
  fetchOrderByClientId(id: string, symbol: string) {
    this.lookups++;
    return this.paper.fetchOrderByClientId(id, symbol);
  }
  fetchOpenOrders(symbol?: string) {
    return this.paper.fetchOpenOrders(symbol);
  }
  fetchBalances() {
    return this.paper.fetchBalances();
  }
  async close() {}
}

let db: Db;
beforeAll(async () => {
  db = await openDb({ kind: 'pglite', dataDir: 'memory' });
  await migrate(db);
  await appendRiskLimits(db, { limits: {}, author: 'test', reason: 'v1', createdAt: Date.now() });
}, 120_000);
afterAll(async () => db?.close());

let ex: ScriptedExchange;
let svc: ExecutorService;
beforeEach(async () => {
  ex = new ScriptedExchange();
  svc = new ExecutorService({ db, queue: new InProcessQueue(), exchange: ex, verifyKeys: VERIFY, logger, sleep: async () => undefined, syncOpenOrdersMs: 0 });
  await setState('ACTIVE');
});

async function setState(to: 'ACTIVE' | 'REDUCING' | 'HALTED'): Promise<void> {
  const cur = await db.query<{ state: string }>("SELECT state FROM trading_state WHERE scope = 'global'");
  if (cur.rows[0]?.state === to || (!cur.rows[0] && to === 'ACTIVE')) return;
  await transitionTradingState(db, { to, reason: `test sets ${to}`, actor: 'test', at: Date.now() });
}

const unsigned = (over: Partial<OrderRequest> = {}): Omit<OrderRequest, 'approval'> => freshOrderRequest(over);
const signed = (over: Partial<OrderRequest> = {}, opts: { limitsVersion?: number; expiresAt?: number; key?: typeof KEY } = {}): OrderRequest =>
  signOrder(unsigned(over), opts.key ?? KEY, opts.limitsVersion ?? 1, opts.expiresAt ?? Date.now() + 60_000);

describe('ExecutorService: one order', () => {
  it('submits a valid order (NEW → SUBMITTING → OPEN), fills it from the price feed, acks the outbox', async () => {
    const r = signed();
    await insertOutbox(db, { orderId: r.orderId, payload: r, createdAt: Date.now() });
    const o = await svc.handle(r);
    expect(o.status).toBe('OPEN');
    expect(ex.creates).toEqual([r.orderId]);
    expect((await getOutboxEntry(db, r.orderId))?.ackedAt).not.toBeNull();
    for (const ev of ex.paper.onPrice('BTC/USDT', 40_010, Date.now())) await svc.applyExchangeUpdate(ev.order);
    const after = await svc.store.get(r.orderId);
    expect(after).toMatchObject({ status: 'FILLED', filledQuantity: 0.01 });
    expect((await listOrderTransitions(db, r.orderId)).map((t) => t.to)).toEqual(['NEW', 'SUBMITTING', 'OPEN', 'FILLED']);
    // a redelivered job changes nothing and sends nothing
    await svc.handle(r);
    expect(ex.creates).toHaveLength(1);
  });

  const tamper = (r: OrderRequest): OrderRequest => ({ ...r, quantity: r.quantity * 10 });
  it.each<[string, () => OrderRequest, RegExp]>([
    ['forged (random signature)', () => ({ ...signed(), approval: { ...signed().approval, signature: 'f'.repeat(64) } }), /approval invalid \(bad_signature\)/],
    ['tampered (quantity changed after signing)', () => tamper(signed()), /approval invalid \(bad_signature\)/],
    ['expired', () => signed({}, { expiresAt: Date.now() - 1 }), /approval expired/],
    ['signed with an unknown key id', () => signed({}, { key: { keyId: 'k9', key: 'another-signing-key-0123456789abcdefgh' } }), /approval invalid \(unknown_key\)/],
    ['for an unknown limits version', () => signed({}, { limitsVersion: 99 }), /limits version 99/],
    ['for another exchange', () => signed({ exchange: 'binance' }), /for exchange binance/],
  ])('rejects an order %s and never sends it', async (_name, make, reason) => {
    const r = make();
    const o = await svc.handle(r);
    expect(o.status).toBe('REJECTED');
    expect(o.statusReason).toMatch(reason);
    expect(ex.creates).toEqual([]);
    expect((await listOrderTransitions(db, r.orderId)).map((t) => t.to)).toEqual(['NEW', 'REJECTED']);
  });

  it('rejects every order while HALTED, and non-reduce-only ones while REDUCING', async () => {
    await setState('HALTED');
    const halted = await svc.handle(signed());
    expect(halted).toMatchObject({ status: 'REJECTED', statusReason: expect.stringMatching(/HALTED/) });
    await setState('REDUCING');
    const grow = await svc.handle(signed());
    expect(grow).toMatchObject({ status: 'REJECTED', statusReason: expect.stringMatching(/REDUCING/) });
    const reduce = await svc.handle(signed({ reduceOnly: true }));
    expect(reduce.status).toBe('OPEN');
    expect(ex.creates).toEqual([reduce.orderId]);
  });
});

describe('ExecutorService: exchange failures', () => {
  it('retries retryable errors with the same client order id', async () => {
    ex.script.push('retryable', 'retryable');
    const r = signed();
    expect((await svc.handle(r)).status).toBe('OPEN');
    expect(ex.creates).toEqual([r.orderId, r.orderId, r.orderId]);
  });

  it('after an unknown outcome, looks the order up and does not send it again when it exists', async () => {
    ex.script.push('unknown-after');
    const r = signed();
    expect((await svc.handle(r)).status).toBe('OPEN');
    expect(ex.creates).toEqual([r.orderId]);
    expect(ex.lookups).toBe(1);
    expect(await ex.paper.fetchOpenOrders()).toHaveLength(1);
  });

  it('after an unknown outcome with no order on the exchange, sends the same id again', async () => {
    ex.script.push('unknown-before');
    const r = signed();
    expect((await svc.handle(r)).status).toBe('OPEN');
    expect(ex.creates).toEqual([r.orderId, r.orderId]);
    expect(ex.lookups).toBe(1);
  });

  it.each<[FinalReason, string]>([
    ['insufficient_funds', 'REJECTED'],
    ['invalid_order', 'REJECTED'],
    ['authentication', 'FAILED'],
  ])('a final error (%s) is not retried: %s', async (reason, status) => {
    ex.script.push(`final:${reason}`);
    const r = signed();
    await insertOutbox(db, { orderId: r.orderId, payload: r, createdAt: Date.now() });
    const o = await svc.handle(r);
    expect(o.status).toBe(status);
    expect(o.statusReason).toContain(reason);
    expect(ex.creates).toHaveLength(1);
    expect((await getOutboxEntry(db, r.orderId))?.ackedAt).not.toBeNull();
  });

  it('gives the job back when retries run out; the next delivery looks up first and completes it', async () => {
    ex.script.push(...Array<Step>(6).fill('retryable'));
    const r = signed();
    await insertOutbox(db, { orderId: r.orderId, payload: r, createdAt: Date.now() });
    await expect(svc.handle(r)).rejects.toMatchObject({ code: 'EXCHANGE_UNAVAILABLE' });
    expect((await svc.store.get(r.orderId))?.status).toBe('SUBMITTING');
    expect((await getOutboxEntry(db, r.orderId))?.ackedAt).toBeNull();
    const lookupsBefore = ex.lookups;
    expect((await svc.handle(r)).status).toBe('OPEN');
    expect(ex.lookups).toBe(lookupsBefore + 1);
    expect(ex.creates).toHaveLength(7);
  });
});

describe('ExecutorService: start-up reconciliation', () => {
  it('syncs SUBMITTING orders the exchange has, resubmits those it lacks, fails those whose approval expired', async () => {
    await db.query("UPDATE orders SET status = 'FAILED' WHERE status NOT IN ('FILLED','CANCELED','REJECTED','EXPIRED','FAILED')");
    const accepted = signed();
    const lost = signed();
    const stale = signed({}, { expiresAt: Date.now() + 50 });
    for (const r of [accepted, lost, stale]) {
      const { order } = await svc.store.createFromRequest(r, Date.now());
      await svc.store.transition(order, 'SUBMITTING', 'sent before the crash', Date.now());
    }
    await ex.paper.createOrder({ ...accepted }); // it reached the exchange before the crash
    ex.creates = [];
    // reconcile one second later, by the executor's clock: `stale`'s approval has expired by then
    const later = new ExecutorService({ db, queue: new InProcessQueue(), exchange: ex, verifyKeys: VERIFY, logger, sleep: async () => undefined, syncOpenOrdersMs: 0, clock: new SimulatedClock(Date.now() + 1_000) });
    const summary = await later.reconcile();
    expect(summary).toEqual({ checked: 3, changed: 3, failed: 0 });
    expect((await svc.store.get(accepted.orderId))?.status).toBe('OPEN');
    expect((await svc.store.get(lost.orderId))?.status).toBe('OPEN');
    expect(await svc.store.get(stale.orderId)).toMatchObject({ status: 'FAILED', statusReason: expect.stringMatching(/approval expired/) });
    expect(ex.creates).toEqual([lost.orderId]);
  });

  it('start() reconciles, then consumes the queue fed by the relay', async () => {
    await db.query("UPDATE orders SET status = 'FAILED' WHERE status NOT IN ('FILLED','CANCELED','REJECTED','EXPIRED','FAILED')");
    await db.query('UPDATE outbox SET acked_at = 1 WHERE acked_at IS NULL');
    const queue = new InProcessQueue();
    const s = new ExecutorService({ db, queue, exchange: ex, verifyKeys: VERIFY, logger, sleep: async () => undefined, syncOpenOrdersMs: 0 });
    await s.start();
    const relay = new OutboxRelay({ db, queue, pollMs: 20 });
    relay.start();
    const orders = [signed(), signed(), signed()];
    for (const r of orders) await insertOutbox(db, { orderId: r.orderId, payload: r, createdAt: Date.now() });
    relay.wake();
    // event-driven: wait until the outbox rows are acked (bounded by the test timeout)
    for (;;) {
      const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE acked_at IS NULL');
      if (n.rows[0]?.n === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const r of orders) expect((await s.store.get(r.orderId))?.status).toBe('OPEN');
    await relay.stop();
    await s.stop();
    await queue.close();
  });
});
