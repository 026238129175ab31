import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { type OrderRequest, type OrderStatus } from '@meridian/contracts';
import { appendRiskLimits, getOrder, insertOutbox, migrate, openDb, type Db } from '@meridian/db';
import { signOrder } from '@meridian/risk';
import { freshPgDatabase, probePostgres, probeRedis, freshOrderRequest } from '@meridian/test/support';
import type { FakeServer } from '../../../test/fake-binance/fake-server.ts';
import { FAKE_BINANCE_API_KEY, FAKE_BINANCE_SECRET, startFakeBinanceWithTrading } from '../../../test/fake-binance/trading.ts';
import { spawnExecutor } from '../../../test/chaos/executor-harness.ts';

/** The real executor process: refuses to start without a signing key; never logs a secret. */

describe('executor process start-up', () => {
  it('exits non-zero with one clear line when MERIDIAN_RISK_SIGNING_KEY is missing', async () => {
    const p = spawnExecutor({ MERIDIAN_EXCHANGE: 'paper', MERIDIAN_HOME: `/tmp/meridian-e2e-${randomBytes(4).toString('hex')}` });
    const { code } = await p.exited;
    expect(code).toBe(78);
    const lines = p.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^executor: MERIDIAN_RISK_SIGNING_KEY is not set — set it to a secret of ≥ 32 characters/);
  });
});

const pg = await probePostgres();
const redis = await probeRedis();

describe.skipIf(!pg.ok || !redis.ok)(`executor logs never contain a secret${pg.skipNote || redis.skipNote}`, () => {
  const SIGNING_KEY = `log-test-signing-key-${randomBytes(16).toString('hex')}`;
  const WRONG_SECRET = `wrong-exchange-secret-${randomBytes(12).toString('hex')}`;
  let database: Awaited<ReturnType<typeof freshPgDatabase>>;
  let db: Db;
  let server: FakeServer;
  const prefix = `mt-logs-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    database = await freshPgDatabase('executor_logs');
    db = await openDb({ kind: 'postgres', url: database.url });
    await migrate(db);
    await appendRiskLimits(db, { limits: {}, author: 'test', reason: 'v1', createdAt: Date.now() });
    const fake = await startFakeBinanceWithTrading({ balances: { USDT: 1_000_000 } });
    server = fake.server;
    fake.trading.setPrice('BTC/USDT', 40_000);
  }, 120_000);
  afterAll(async () => {
    const r = new Redis(redis.url);
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
    await server?.close();
    await db?.close();
    await database?.[Symbol.asyncDispose]();
  });

  const order = (): OrderRequest =>
    signOrder(
      freshOrderRequest({ exchange: 'binance', quantity: 0.001 }),
      { keyId: 'k1', key: SIGNING_KEY },
      1,
      Date.now() + 120_000,
    );

  /** run the executor until `orderId` reaches a final status, then stop it; returns its whole output */
  async function runUntilDone(secret: string, orderId: string): Promise<{ output: string; status: OrderStatus | undefined }> {
    const p = spawnExecutor(
      {
        DATABASE_URL: database.url,
        REDIS_URL: redis.url,
        MERIDIAN_QUEUE_PREFIX: prefix,
        MERIDIAN_RISK_SIGNING_KEY: SIGNING_KEY,
        MERIDIAN_EXCHANGE: 'binance',
        MERIDIAN_EXCHANGE_URL: server.url,
        MERIDIAN_EXCHANGE_API_KEY: FAKE_BINANCE_API_KEY,
        MERIDIAN_EXCHANGE_SECRET: secret,
        MERIDIAN_LOG_LEVEL: 'trace',
      },
      ['--relay-poll-ms', '100'],
    );
    await p.started;
    let status: OrderStatus | undefined;
    for (let i = 0; i < 300; i++) {
      status = (await getOrder(db, orderId))?.status;
      if (status === 'FILLED' || status === 'FAILED' || status === 'REJECTED') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    return { output: p.output(), status };
  }

  it('through an authentication failure and a filled order, no key or secret appears in stdout/stderr', async () => {
    const refused = order();
    await insertOutbox(db, { orderId: refused.orderId, payload: refused, createdAt: Date.now() });
    const run1 = await runUntilDone(WRONG_SECRET, refused.orderId);
    expect(run1.status).toBe('FAILED');
    expect((await getOrder(db, refused.orderId))?.statusReason).toMatch(/^authentication/);
    expect(run1.output).toMatch(/exchange refused the order/);

    const filled = order();
    await insertOutbox(db, { orderId: filled.orderId, payload: filled, createdAt: Date.now() });
    const run2 = await runUntilDone(FAKE_BINANCE_SECRET, filled.orderId);
    expect(run2.status).toBe('FILLED');

    const all = run1.output + run2.output;
    expect(all).toMatch(/executor started/);
    for (const secret of [SIGNING_KEY, WRONG_SECRET, FAKE_BINANCE_SECRET, FAKE_BINANCE_API_KEY, refused.approval.signature, filled.approval.signature]) {
      expect(all.includes(secret), `a secret leaked into the executor's output`).toBe(false);
    }
  });
});
