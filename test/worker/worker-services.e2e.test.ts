import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Candle } from '@meridian/contracts';
import { migrate, openDb, setRiskLimits, upsertCandles, type Db } from '@meridian/db';
import { replayCandles } from '@meridian/market';
import { CHECKPOINT_SCHEMA, sweepSettledRunThreads } from '@meridian/orchestrator';
import { BullMqQueue, candleClosedJob } from '@meridian/queue';
import { freshPgDatabase, probePostgres, probeRedis, redisDbUrl } from '@meridian/test/support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETH_BTC_CANDLES, fixtureCandles, PERMISSIVE_LIMITS, TEST_SIGNING_KEY } from './worker-fixtures.ts';

/**
 * Services mode end to end: server Postgres, BullMQ on Redis (own DB index and key prefix), TWO
 * worker processes, 500 real candle events (two series, 250 each, interleaved in time order, so
 * the workers both serialise on a series and run the two series in parallel) published with
 * duplicates and redeliveries.
 */
const pg = await probePostgres();
const redis = pg.ok ? await probeRedis() : { ok: false, url: '', skipNote: '' };
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TF = 300_000;
const WARM = 220;
const EVENTS = 500;
/** a Redis DB index no other suite uses; the prefix is unique per run as well */
const REDIS_DB = 11;

interface Proc {
  readonly child: ChildProcess;
  readonly out: string[];
  started: Promise<void>;
}

describe.skipIf(!pg.ok || !redis.ok)(`worker in services mode: two processes, 500 candles${pg.skipNote}${redis.skipNote}`, () => {
  let fresh: Awaited<ReturnType<typeof freshPgDatabase>>;
  let db: Db;
  let queue: BullMqQueue;
  const procs: Proc[] = [];
  const PER_SERIES = EVENTS / 2;
  const eth = ETH_BTC_CANDLES().slice(0, WARM + PER_SERIES);
  const ltc = fixtureCandles('binance_LTC_BTC-5m.csv', 'binance', 'LTC/BTC', '5m').slice(0, WARM + PER_SERIES);
  const candles = [...eth, ...ltc];
  const events = [...eth.slice(WARM), ...ltc.slice(WARM)].sort((x, y) => x.ts - y.ts || (x.symbol < y.symbol ? -1 : 1));
  const prefix = `mwe2e${process.pid}${Math.random().toString(36).slice(2, 7)}`;
  const redisUrl = redisDbUrl(redis, REDIS_DB);

  function startWorker(name: string): Proc {
    const child = spawn(process.execPath, ['--conditions=@meridian/source', '--import', 'tsx', 'apps/worker/src/main.ts', '--capital', 'BTC=1', '--concurrency', '2'], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'],
        DATABASE_URL: fresh.url,
        REDIS_URL: redisUrl,
        MERIDIAN_QUEUE_PREFIX: prefix,
        MERIDIAN_RISK_SIGNING_KEY: TEST_SIGNING_KEY,
        MERIDIAN_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    const started = new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (b: Buffer) => {
        for (const line of b.toString().split('\n')) if (line) out.push(line);
        if (out.some((l) => l.includes('"worker started"'))) resolve();
      });
      child.stderr?.on('data', (b: Buffer) => out.push(`[stderr] ${b.toString()}`));
      child.on('exit', (code) => reject(new Error(`worker ${name} exited with ${code} before starting:\n${out.join('\n')}`)));
    });
    const p = { child, out, started };
    procs.push(p);
    return p;
  }

  const countTraces = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM decision_traces')).rows[0]!.n;

  async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > until)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${await countTraces()} traces); worker output:\n${procs.map((p) => p.out.slice(-5).join('\n')).join('\n---\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    fresh = await freshPgDatabase('worker_services_e2e');
    db = await openDb({ kind: 'postgres', url: fresh.url });
    await migrate(db);
    await setRiskLimits(db, { limits: PERMISSIVE_LIMITS, author: 'e2e', reason: 'permissive limits so some decisions are approved', at: Date.now() });
    // the feed stores candles before it publishes them: history for the warm-up, and the 500 event bars
    await upsertCandles(db, candles);
    queue = new BullMqQueue({ url: redisUrl, prefix });
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await queue?.close();
    await db?.close();
    await fresh?.[Symbol.asyncDispose]();
  });

  it('every candle gets exactly one trace, orders are in the outbox in their trace transaction; a worker stopped by SIGTERM mid-stream exits 0 and the other finishes', async () => {
    const a = startWorker('a');
    const b = startWorker('b');
    await Promise.all([a.started, b.started]);

    // published into Redis as `meridian feed replay` does (the same replayCandles), with every 10th event sent
    // twice right away (deduplicated while queued)
    const publish = async (c: Candle) => queue.add(candleClosedJob, c);
    let deduped = 0;
    let i = 0;
    const fed = await replayCandles({
      candles: events,
      speed: null,
      publish: async (c) => {
        const r = await publish(c);
        if (i++ % 10 === 0 && !(await publish(c)).added) deduped++;
        return r;
      },
    });
    expect(fed).toEqual({ published: EVENTS, duplicates: 0 });

    // SIGTERM to worker a in mid-stream: it finishes the events it is running and exits 0; b decides the rest
    await waitFor('100 traces', async () => (await countTraces()) >= 100, 150_000);
    const aExit = once(a.child, 'exit') as Promise<[number | null, string | null]>;
    a.child.kill('SIGTERM');
    const [aCode] = await aExit;
    expect(aCode).toBe(0);
    expect(a.out.some((l) => l.includes('"worker stopped"'))).toBe(true);
    expect(await countTraces()).toBeLessThan(EVENTS); // it really stopped mid-stream
    await waitFor('500 traces', async () => (await countTraces()) >= EVENTS, 150_000);

    // redeliveries of finished events (their jobs are gone from Redis, so these are new jobs)
    const redelivered = events.filter((_, i) => i % 25 === 3);
    for (const c of redelivered) await publish(c);
    await waitFor('the redeliveries to be consumed', async () => (await queue.pendingCount(candleClosedJob)) === 0, 30_000);

    // graceful stop of b: it finishes what it runs and exits 0
    const bExit = once(b.child, 'exit') as Promise<[number | null, string | null]>;
    b.child.kill('SIGTERM');
    const [bCode] = await bExit;
    expect(bCode).toBe(0);
    expect(b.out.some((l) => l.includes('"worker stopped"'))).toBe(true);

    // exactly one trace per candle, and only for the published candles
    const rows = (
      await db.query<{ symbol: string; as_of: number; n: number }>('SELECT symbol, as_of, count(*)::int AS n FROM decision_traces GROUP BY symbol, as_of ORDER BY as_of, symbol')
    ).rows;
    expect(rows.map((r) => `${r.symbol}@${r.as_of}`)).toEqual(events.map((c) => `${c.symbol}@${c.ts + TF}`));
    expect(rows.every((r) => r.n === 1)).toBe(true);

    // approved decisions: the outbox row carries the trace's order and decision id, written by the same transaction
    const orders = (
      await db.query<{ decision_id: string; payload_decision: string; same_tx: boolean; same_time: boolean }>(
        `SELECT t.decision_id::text, o.payload->>'decisionId' AS payload_decision,
                t.xmin::text = o.xmin::text AS same_tx, t.created_at = o.created_at AS same_time
           FROM decision_traces t LEFT JOIN outbox o ON o.order_id = (t.trace->'orderRequest'->>'orderId')::uuid
          WHERE t.trace->'orderRequest' <> 'null'::jsonb`,
      )
    ).rows;
    expect(orders.length).toBeGreaterThan(0);
    for (const o of orders) expect(o).toEqual({ decision_id: o.decision_id, payload_decision: o.decision_id, same_tx: true, same_time: true });
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0]!.n).toBe(orders.length);

    // every decision run was checkpointed in PostgresSaver on its bar's thread: the workers' housekeeping sweep
    // (if it ran) and this one delete exactly one thread per decided bar, and none is left
    const sweptByWorkers = procs
      .flatMap((p) => p.out.filter((l) => l.includes('checkpoints of settled decision runs deleted')))
      .reduce((n, l) => n + (JSON.parse(l) as { threads: number }).threads, 0);
    expect(sweptByWorkers + (await sweepSettledRunThreads(db))).toBe(EVENTS);
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${CHECKPOINT_SCHEMA}.checkpoints WHERE thread_id LIKE 'decision-run|%'`)).rows[0]!.n).toBe(0);

    // the work was shared, and the duplicates were seen and dropped
    const decidedBy = procs.map((p) => p.out.filter((l) => l.includes('"msg":"decided"')).length);
    expect(decidedBy.every((n) => n > 0)).toBe(true);
    expect(decidedBy[0]! + decidedBy[1]!).toBe(EVENTS);
    expect(deduped).toBeGreaterThan(0);
  });
});
