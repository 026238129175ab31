import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrderRequest } from '@meridian/contracts';
import { createLogger, systemClock } from '@meridian/core';
import { appendRiskLimits, migrate, openDb, transitionTradingState, type Db } from '@meridian/db';
import type { ExchangeAdapter } from '@meridian/execution';
import { InProcessQueue } from '@meridian/queue';
import { signOrder } from '@meridian/risk';
import type { FakeServer } from '../../../test/fake-binance/fake-server.ts';
import { FAKE_BINANCE_API_KEY, FAKE_BINANCE_SECRET, startFakeBinanceWithTrading, type FakeTrading } from '../../../test/fake-binance/trading.ts';
import { createExchange } from './exchange-factory.ts';
import { ExecutorService } from './executor-service.ts';
import { freshOrderRequest } from '@meridian/test/support';

/**
 * Forged, tampered, expired and unknown-key approvals, and any order while HALTED, are rejected by the executor
 * and never reach the exchange — asserted on the fake Binance's request log (ccxt's real binance class).
 */
const KEY = { keyId: 'k1', key: 'security-test-signing-key-0123456789abcdef' };
const logger = createLogger({ name: 'executor-security', level: 'silent' });

let db: Db;
let server: FakeServer;
let trading: FakeTrading;
let exchange: ExchangeAdapter;
let svc: ExecutorService;

beforeAll(async () => {
  db = await openDb({ kind: 'pglite', dataDir: 'memory' });
  await migrate(db);
  await appendRiskLimits(db, { limits: {}, author: 'test', reason: 'v1', createdAt: Date.now() });
  ({ server, trading } = await startFakeBinanceWithTrading({ balances: { USDT: 1_000_000 } }));
  trading.setPrice('BTC/USDT', 40_000);
  exchange = await createExchange({ id: 'binance', apiKey: FAKE_BINANCE_API_KEY, secret: FAKE_BINANCE_SECRET, url: server.url }, systemClock);
  svc = new ExecutorService({ db, queue: new InProcessQueue(), exchange, verifyKeys: { [KEY.keyId]: KEY.key }, logger, syncOpenOrdersMs: 0 });
}, 120_000);
afterAll(async () => {
  await exchange?.close();
  await server?.close();
  await db?.close();
});

const orderEndpointCalls = () => server.log.filter((e) => e.path === '/api/v3/order').length;

function signed(over: Partial<OrderRequest> = {}, expiresAt = Date.now() + 60_000, key = KEY): OrderRequest {
  return signOrder(
    freshOrderRequest({ exchange: 'binance', quantity: 0.001, ...over }),
    key,
    1,
    expiresAt,
  );
}

describe('executor security against the fake Binance', () => {
  it.each<[string, () => OrderRequest]>([
    ['forged (random signature)', () => ({ ...signed(), approval: { ...signed().approval, signature: '0123456789abcdef'.repeat(4) } })],
    ['tampered (quantity changed after signing)', () => ({ ...signed(), quantity: 0.002 })],
    ['tampered (side changed after signing)', () => ({ ...signed(), side: 'sell' })],
    ['expired', () => signed({}, Date.now() - 1)],
    ['signed with an unknown key id', () => signed({}, Date.now() + 60_000, { keyId: 'rogue', key: 'rogue-signing-key-0123456789abcdefghijkl' })],
  ])('an order %s is REJECTED and never reaches the exchange', async (_name, make) => {
    const before = orderEndpointCalls();
    const o = await svc.handle(make());
    expect(o.status).toBe('REJECTED');
    expect(o.statusReason).toMatch(/^approval/);
    expect(orderEndpointCalls()).toBe(before);
  });

  it('while HALTED nothing is sent; after resuming the same kind of order reaches the exchange', async () => {
    await transitionTradingState(db, { to: 'HALTED', reason: 'kill switch', actor: 'risk officer', at: Date.now() });
    const before = orderEndpointCalls();
    const halted = await svc.handle(signed());
    expect(halted).toMatchObject({ status: 'REJECTED', statusReason: expect.stringMatching(/HALTED \(kill switch\)/) });
    expect(orderEndpointCalls()).toBe(before);
    expect(trading.orders).toHaveLength(0);

    await transitionTradingState(db, { to: 'ACTIVE', reason: 'resume', actor: 'risk officer', at: Date.now() });
    const ok = await svc.handle(signed());
    expect(ok.status).toBe('FILLED');
    expect(server.log.filter((e) => e.method === 'POST' && e.path === '/api/v3/order')).toHaveLength(1);
    expect(trading.orders.map((o) => o.clientOrderId)).toEqual([ok.orderId]);
  });
});
