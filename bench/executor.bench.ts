/**
 * Executor throughput and latency on server Postgres + Redis (BullMQ), in one process:
 * outbox row → relay (woken by LISTEN/NOTIFY) → BullMQ `orders` → ExecutorService (verify approval, limits
 * version, trading state, NEW → SUBMITTING stored) → PaperExchange.createOrder → result stored, outbox acked.
 *  - orders/s: 1000 approved orders inserted at once, until every one is acknowledged by the exchange and stored;
 *  - latency: approval signed → exchange acknowledgement, for orders arriving one at a time (p50/p99).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type OrderRequest } from '@meridian/contracts';
import { createLogger, systemClock } from '@meridian/core';
import { appendRiskLimits, insertOutbox, migrate, openDb, type Db } from '@meridian/db';
import { PaperExchange, type CreateOrderInput, type ExchangeOrder } from '@meridian/execution';
import { BullMqQueue, OutboxRelay, listenForOutbox } from '@meridian/queue';
import { signOrder } from '@meridian/risk';
import { freshPgDatabase, probePostgres, probeRedis, freshOrderRequest } from '@meridian/test/support';
import { ExecutorService } from '../apps/executor/src/executor-service.ts';
import { PAPER_MARKETS } from '../apps/executor/src/exchange-factory.ts';
import { percentile, type BenchResult } from './bench-result.ts';

const KEY = { keyId: 'k1', key: 'bench-signing-key-0123456789abcdef0123456789' };

/** PaperExchange that records when each order was acknowledged */
class TimedPaper extends PaperExchange {
  readonly ackedAt = new Map<string, number>();
  onAck: ((orderId: string) => void) | undefined;
  override async createOrder(input: CreateOrderInput): Promise<ExchangeOrder> {
    const o = await super.createOrder(input);
    this.ackedAt.set(input.orderId, performance.now());
    this.onAck?.(input.orderId);
    return o;
  }
}

function request(): OrderRequest {
  const now = Date.now();
  return signOrder(
    freshOrderRequest({ quantity: 0.001, createdAt: now }),
    KEY,
    1,
    now + 600_000,
  );
}

async function countUnacked(db: Db): Promise<number> {
  const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE acked_at IS NULL');
  return r.rows[0]?.n ?? 0;
}

export async function run(): Promise<BenchResult[]> {
  const [pg, redis] = [await probePostgres(), await probeRedis()];
  if (!pg.ok || !redis.ok) return [{ name: 'executor pipeline', value: Number.NaN, unit: 'orders/s', notes: `skipped: ${pg.skipNote}${redis.skipNote}` }];

  await using database = await freshPgDatabase('bench_executor');
  const db = await openDb({ kind: 'postgres', url: database.url }, { max: 12 });
  await migrate(db);
  await appendRiskLimits(db, { limits: {}, author: 'bench', reason: 'v1', createdAt: Date.now() });
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const queue = new BullMqQueue({ url: redis.url, prefix });
  const paper = new TimedPaper({ markets: PAPER_MARKETS, balances: { USDT: 1e12 }, clock: systemClock });
  paper.onPrice('BTC/USDT', 40_000, Date.now());
  const logger = createLogger({ name: 'bench', level: 'silent' });
  const svc = new ExecutorService({ db, queue, exchange: paper, verifyKeys: { [KEY.keyId]: KEY.key }, logger, concurrency: 8, syncOpenOrdersMs: 0 });
  await svc.start();
  const relay = new OutboxRelay({ db, queue, pollMs: 1000, batchSize: 200, logger });
  relay.start();
  const unlisten = await listenForOutbox(database.url, () => relay.wake());
  const results: BenchResult[] = [];
  try {
    // warm-up (JIT, connections)
    for (let i = 0; i < 50; i++) {
      const r = request();
      await insertOutbox(db, { orderId: r.orderId, payload: r, createdAt: Date.now() });
    }
    while ((await countUnacked(db)) > 0) await new Promise((r) => setTimeout(r, 20));

    // throughput: a burst of 1000
    const N = 1000;
    const burst = Array.from({ length: N }, request);
    const t0 = performance.now();
    const burstCpu0 = process.cpuUsage();
    await db.transaction(async (tx) => {
      for (const r of burst) await insertOutbox(tx, { orderId: r.orderId, payload: r, createdAt: Date.now() });
    });
    while ((await countUnacked(db)) > 0) await new Promise((r) => setTimeout(r, 10));
    const secs = (performance.now() - t0) / 1000;
    const burstCpu = process.cpuUsage(burstCpu0);
    results.push({
      name: 'outbox → BullMQ → executor → paper exchange (1000-order burst)',
      value: Math.round(N / secs),
      unit: 'orders/s',
      notes: `${secs.toFixed(2)} s until every order was acknowledged and stored; executor concurrency 8; CPU ${((burstCpu.user + burstCpu.system) / 1000 / N).toFixed(2)} ms/order in this process (relay + executor + bench)`,
    });

    // latency: one order at a time, signed → exchange acknowledgement
    const lat: number[] = [];
    const latCpu0 = process.cpuUsage();
    for (let i = 0; i < 300; i++) {
      const signedAt = performance.now();
      const r = request();
      const acked = new Promise<void>((resolve) => {
        paper.onAck = (id) => {
          if (id === r.orderId) resolve();
        };
      });
      await insertOutbox(db, { orderId: r.orderId, payload: r, createdAt: Date.now() });
      await acked;
      lat.push((paper.ackedAt.get(r.orderId) as number) - signedAt);
      await new Promise((res) => setTimeout(res, 5));
    }
    const latCpu = process.cpuUsage(latCpu0);
    lat.sort((a, b) => a - b);
    results.push({
      name: 'approval signed → exchange ack, p50',
      value: Number(percentile(lat, 50).toFixed(2)),
      unit: 'ms',
      notes: `300 orders one at a time; CPU ${((latCpu.user + latCpu.system) / 1000 / 300).toFixed(2)} ms/order in this process (whole path incl. storing the fill)`,
    });
    results.push({ name: 'approval signed → exchange ack, p99', value: Number(percentile(lat, 99).toFixed(2)), unit: 'ms', target: '≤ 20 ms' });
  } finally {
    await unlisten();
    await relay.stop();
    await svc.stop();
    await queue.close();
    await db.close();
  }
  return results;
}
