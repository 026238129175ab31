import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { isTerminalStatus, type OrderRequest, type OrderStatus } from '@meridian/contracts';
import { createLogger } from '@meridian/core';
import { appendRiskLimits, insertOutbox, migrate, openDb, type Db } from '@meridian/db';
import { BullMqQueue, OutboxRelay } from '@meridian/queue';
import { signOrder } from '@meridian/risk';
import { freshOrderRequest, freshPgDatabase, probePostgres, probeRedis, redisDbUrl } from '@meridian/test/support';
import { startFakeServer, type FakeServer } from '../fake-binance/fake-server.ts';
import { marketDataRoutes } from '../fake-binance/market-data-routes.ts';
import { FAKE_BINANCE_API_KEY, FAKE_BINANCE_SECRET, tradingRoutes, type FakeTrading } from '../fake-binance/trading.ts';
import { injectRandomFaults, seededRandom, spawnExecutor, type ExecutorProcess } from './executor-harness.ts';

/**
 * 500 approved orders: outbox → Redis (BullMQ) → executor process → fake Binance, with ~20 % injected faults,
 * the executor SIGKILLed three times at random moments and restarted, and Redis flushed once. Afterwards every
 * order is terminal, the exchange holds exactly one order per client order id, and no approved order is missing.
 */
const pg = await probePostgres();
const redis = await probeRedis();
const skipNote = pg.skipNote || redis.skipNote;

const N = 500;
const SEED = 20240601;
const REDIS_DB = 13; // this test's own Redis database; only it is flushed
const SIGNING = { keyId: 'k1', key: 'chaos-signing-key-0123456789abcdef0123456789' };
const OVERALL_TIMEOUT_MS = 240_000;

describe.skipIf(!pg.ok || !redis.ok)(`executor chaos: 500 orders, 20% faults, 3× SIGKILL, one Redis flush${skipNote}`, () => {
  let database: Awaited<ReturnType<typeof freshPgDatabase>>;
  let db: Db;
  let server: FakeServer;
  let trading: FakeTrading;
  let queue: BullMqQueue;
  let relay: OutboxRelay;
  let redisUrl: string;
  let redisClient: Redis;
  const prefix = `chaos-${randomBytes(4).toString('hex')}`;
  let executor: ExecutorProcess | undefined;

  beforeAll(async () => {
    database = await freshPgDatabase('executor_chaos');
    db = await openDb({ kind: 'postgres', url: database.url });
    await migrate(db);
    await appendRiskLimits(db, { limits: {}, author: 'chaos', reason: 'limits v1', createdAt: Date.now() });
    redisUrl = redisDbUrl(redis, REDIS_DB);
    redisClient = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    trading = tradingRoutes({ balances: { USDT: 10_000_000, BTC: 1000 } });
    trading.setPrice('BTC/USDT', 40_000);
    server = await startFakeServer();
    const faults = injectRandomFaults(server, trading, { rate: 0.2, tradingRate: 0.1, seed: SEED, count: 5000, holdMs: 1500 });
    server.register([...marketDataRoutes(), ...faults.wrap(trading.routes)]);
    queue = new BullMqQueue({ url: redisUrl, prefix });
    relay = new OutboxRelay({ db, queue, pollMs: 200, leaseMs: 5000, redeliverAfterMs: 8000, logger: createLogger({ name: 'chaos-relay', level: 'silent' }) });
  }, 120_000);

  afterAll(async () => {
    if (executor && executor.child.exitCode === null) {
      executor.child.kill('SIGKILL');
      await executor.exited;
    }
    await relay?.stop();
    await queue?.close();
    // remove this test's keys (the prefix is unique to this run)
    if (redisClient) {
      const keys = await redisClient.keys(`${prefix}:*`);
      if (keys.length) await redisClient.del(...keys);
      redisClient.disconnect();
    }
    await server?.close();
    await db?.close();
    await database?.[Symbol.asyncDispose]();
  }, 60_000);

  it('ends with every order terminal, one exchange order per client order id, none missing', async () => {
    const rnd = seededRandom(SEED);
    const now = Date.now();
    const approved: OrderRequest[] = Array.from({ length: N }, (_, i) =>
      signOrder(
        freshOrderRequest({ exchange: 'binance', side: i % 2 === 0 ? 'buy' : 'sell', quantity: 0.001, createdAt: now }),
        SIGNING,
        1,
        now + 15 * 60_000,
      ),
    );
    await db.transaction(async (tx) => {
      for (const r of approved) await insertOutbox(tx, { orderId: r.orderId, payload: r, createdAt: now });
    });

    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      MERIDIAN_QUEUE_PREFIX: prefix,
      MERIDIAN_RISK_SIGNING_KEY: SIGNING.key,
      MERIDIAN_RISK_SIGNING_KEY_ID: SIGNING.keyId,
      MERIDIAN_EXCHANGE: 'binance',
      MERIDIAN_EXCHANGE_URL: server.url,
      MERIDIAN_EXCHANGE_API_KEY: FAKE_BINANCE_API_KEY,
      MERIDIAN_EXCHANGE_SECRET: FAKE_BINANCE_SECRET,
      MERIDIAN_LOG_LEVEL: 'info',
    };
    const args = ['--no-relay', '--exchange-timeout-ms', '1000', '--concurrency', '4', '--lock-duration-ms', '4000', '--stalled-interval-ms', '2000'];
    const start = () => {
      executor = spawnExecutor(env, args);
      return executor;
    };

    // kill points and the flush: random moments, expressed as progress (terminal orders) plus a random delay
    const killAt = [0, 1, 2].map(() => 40 + Math.floor(rnd() * (N - 120))).sort((a, b) => a - b);
    const flushAt = 60 + Math.floor(rnd() * (N - 160));
    const jitterMs = () => Math.floor(rnd() * 400);

    start();
    relay.start();
    const terminal = async (): Promise<number> => {
      const r = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM orders WHERE status IN ('FILLED','CANCELED','REJECTED','EXPIRED','FAILED')",
      );
      return r.rows[0]?.n ?? 0;
    };
    const deadline = Date.now() + OVERALL_TIMEOUT_MS;
    let kills = 0;
    let flushed = false;
    let done = 0;
    // bounded, event-driven wait: check progress in the database after each short tick
    while (done < N) {
      if (Date.now() > deadline) {
        const tail = server.log.slice(-30).map((e) => `${e.method} ${e.path} ${e.status} ${e.fault ?? ''}`).join('\n');
        throw new Error(`timed out: ${done}/${N} orders terminal after ${kills} kills\nexchange log tail:\n${tail}\nexecutor output tail:\n${executor?.output().slice(-4000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
      done = await terminal();
      if (!flushed && done >= flushAt) {
        await redisClient.flushdb();
        flushed = true;
      }
      if (kills < 3 && done >= (killAt[kills] ?? N)) {
        await new Promise((r) => setTimeout(r, jitterMs()));
        const cur = executor as ExecutorProcess;
        cur.child.kill('SIGKILL');
        expect((await cur.exited).signal).toBe('SIGKILL');
        kills++;
        start();
      }
    }
    expect(kills).toBe(3);
    expect(flushed).toBe(true);

    // graceful stop of the last executor
    const last = executor as ExecutorProcess;
    last.child.kill('SIGTERM');
    expect((await last.exited).code).toBe(0);
    await relay.stop();

    // every approved order is stored, terminal and filled exactly as the exchange filled it
    const rows = await db.query<{ order_id: string; status: OrderStatus; filled_quantity: number; fills: number; fill_qty: number | null }>(
      `SELECT o.order_id, o.status, o.filled_quantity,
              (SELECT count(*)::int FROM fills f WHERE f.order_id = o.order_id) AS fills,
              (SELECT sum(quantity) FROM fills f WHERE f.order_id = o.order_id) AS fill_qty
         FROM orders o`,
    );
    const byId = new Map(rows.rows.map((r) => [r.order_id, r]));
    const missing = approved.filter((r) => !byId.has(r.orderId));
    expect(missing.map((r) => r.orderId)).toEqual([]);
    expect(rows.rows.filter((r) => !isTerminalStatus(r.status))).toEqual([]);
    expect(rows.rows.filter((r) => r.status !== 'FILLED').map((r) => r.status)).toEqual([]);

    const onExchange = trading.orders.map((o) => o.clientOrderId);
    expect(new Set(onExchange).size).toBe(onExchange.length); // one order per client order id
    expect([...onExchange].sort()).toEqual(approved.map((r) => r.orderId).sort()); // and exactly the approved ones
    for (const o of trading.orders) {
      const mine = byId.get(o.clientOrderId);
      expect(mine?.filled_quantity).toBeCloseTo(o.executedQty, 9);
      expect(mine?.fill_qty ?? 0).toBeCloseTo(o.executedQty, 9); // fills never counted twice
    }
    const unacked = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE acked_at IS NULL');
    expect(unacked.rows[0]?.n).toBe(0);

    // the faults really happened
    const faulted = server.log.filter((e) => e.fault !== null || e.status === 'dropped').length;
    expect(faulted / server.log.length).toBeGreaterThan(0.1);
  });
});
