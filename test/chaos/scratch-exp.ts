import { randomBytes } from 'node:crypto';
import { SCHEMA_VERSION } from '@meridian/contracts';
import { createLogger, uuidv7 } from '@meridian/core';
import { appendRiskLimits, insertOutbox, migrate, openDb } from '@meridian/db';
import { BullMqQueue, OutboxRelay } from '@meridian/queue';
import { signOrder } from '@meridian/risk';
import { freshPgDatabase } from '@meridian/test/support';
import { startFakeServer } from '../fake-binance/fake-server.ts';
import { marketDataRoutes } from '../fake-binance/market-data-routes.ts';
import { FAKE_BINANCE_API_KEY, FAKE_BINANCE_SECRET, tradingRoutes } from '../fake-binance/trading.ts';
import { injectRandomFaults, spawnExecutor } from './executor-harness.ts';
const N = Number(process.argv[2] ?? 100); const RATE = Number(process.argv[3] ?? 0);
const SIGNING = { keyId: 'k1', key: 'chaos-signing-key-0123456789abcdef0123456789' };
const database = await freshPgDatabase('exp');
const db = await openDb({ kind: 'postgres', url: database.url });
await migrate(db);
await appendRiskLimits(db, { limits: {}, author: 'x', reason: 'v1', createdAt: Date.now() });
const trading = tradingRoutes({ balances: { USDT: 10_000_000, BTC: 1000 } });
trading.setPrice('BTC/USDT', 40_000);
const server = await startFakeServer();
const f = injectRandomFaults(server, trading, { rate: RATE || 0.0001, tradingRate: RATE/2, seed: Number(process.argv[4] ?? 1), count: RATE ? 5000 : 0, holdMs: 1500 });
server.register([...marketDataRoutes(), ...f.wrap(trading.routes)]);
const prefix = `exp-${randomBytes(3).toString('hex')}`;
const url = 'redis://127.0.0.1:6379/13';
const queue = new BullMqQueue({ url, prefix });
const relay = new OutboxRelay({ db, queue, pollMs: 200, redeliverAfterMs: 8000, logger: createLogger({ name: 'r', level: 'silent' }) });
const now = Date.now();
for (let i = 0; i < N; i++) {
  const r = signOrder({ schemaVersion: SCHEMA_VERSION, orderId: uuidv7(), decisionId: uuidv7(), exchange: 'binance', symbol: 'BTC/USDT', side: i % 2 ? 'sell' : 'buy', type: 'market', quantity: 0.001, limitPrice: null, stopPrice: null, reduceOnly: false, createdAt: now }, SIGNING, 1, now + 600_000);
  await insertOutbox(db, { orderId: r.orderId, payload: r, createdAt: now });
}
const envG = { DATABASE_URL: database.url, REDIS_URL: url, MERIDIAN_QUEUE_PREFIX: prefix, MERIDIAN_RISK_SIGNING_KEY: SIGNING.key, MERIDIAN_EXCHANGE: 'binance', MERIDIAN_EXCHANGE_URL: server.url, MERIDIAN_EXCHANGE_API_KEY: FAKE_BINANCE_API_KEY, MERIDIAN_EXCHANGE_SECRET: FAKE_BINANCE_SECRET, MERIDIAN_LOG_LEVEL: 'info' }; const argsG = ['--no-relay', '--exchange-timeout-ms', '1000', '--lock-duration-ms', '4000', '--stalled-interval-ms', '2000']; let ex = spawnExecutor(envG, argsG);
await ex.started; const t0 = Date.now(); console.log('started');
relay.start();
for (;;) {
  await new Promise((r) => setTimeout(r, 1000));
  const r = await db.query<{ status: string; n: number }>('SELECT status, count(*)::int n FROM orders GROUP BY status');
  const term = r.rows.filter((x) => x.status === 'FILLED' || x.status === 'REJECTED' || x.status === 'FAILED').reduce((s, x) => s + x.n, 0);
  console.log(((Date.now() - t0) / 1000).toFixed(1), JSON.stringify(r.rows), 'reqs', server.log.length);
  if (term >= N || Date.now() - t0 > 60_000) break;
  if (term >= Number(process.argv[5] ?? N / 3) && !(globalThis as any).killed) { (globalThis as any).killed = 1; ex.child.kill('SIGKILL'); await ex.exited; const old = ex; ex = spawnExecutor(old.child.spawnargs ? envG : envG, argsG); console.log('restarted'); }
}
console.log(server.log.slice(-40).map((e) => `${e.method} ${e.path} ${e.status} ${e.fault}`).join('\n'));
ex.child.kill('SIGKILL'); await relay.stop(); await queue.close(); await server.close(); await db.close(); await database[Symbol.asyncDispose]();
console.log(ex.output().split('\n').filter((l) => l.includes('"level":40') || l.includes('"level":50')).slice(0, 10).join('\n'));
process.exit(0);
