import { loadavg } from 'node:os';
import { parseConfig } from '@meridian/config';
import type { Candle } from '@meridian/contracts';
import { createLogger } from '@meridian/core';
import { migrate, openDb, setRiskLimits, upsertCandles } from '@meridian/db';
import { BullMqQueue, candleClosedJob } from '@meridian/queue';
import { freshPgDatabase, probePostgres, probeRedis } from '@meridian/test/support';
import { EVENT_PHASES, openWorker, type CandleOutcome, type EventPhases } from '../apps/worker/src/index.ts';
import { ETH_BTC_CANDLES, PERMISSIVE_LIMITS, TEST_SIGNING_KEY } from '../test/worker/worker-fixtures.ts';
import { percentile, type BenchResult } from './bench-result.ts';

/**
 * Services mode, one worker in this process: candle event published to BullMQ on Redis → the worker
 * takes it, stores the candle, updates features and memory, builds the portfolio, runs the decision
 * graph and commits the trace (+ outbox row) on server Postgres. Latency = publish → the handler has
 * committed, one event at a time (the next is published when the previous is stored), real ETH/BTC
 * 5m candles with permissive limits so orders are approved and signed. Both runners. A live worker runs
 * for days, so the figures are its steady state: WARM_EVENTS events first (JIT, pools, series state: 400 —
 * with 100, whichever variant ran first in the process still paid for warming the code all of them share,
 * 1–3 ms CPU per event, seen by swapping the order), then EVENTS measured (enough samples for a p99 that is not just the third-worst one). Three variants: the graph
 * runner as deployed (every run checkpointed), the graph runner with --no-checkpoint-runs, the fast runner;
 * MERIDIAN_BENCH_WORKER_VARIANT=<label> runs one of them.
 */
const EVENTS = 1000;
const WARM_EVENTS = 400;
/** stored candles before the first event: the indicators' warm-up */
const WARM = 220;

export async function run(): Promise<BenchResult[]> {
  const [pg, redis] = [await probePostgres(), await probeRedis()];
  if (!pg.ok || !redis.ok) return [{ name: 'worker: candle event → trace stored', value: Number.NaN, unit: 'ms', notes: `skipped:${pg.skipNote}${redis.skipNote}` }];
  const out: BenchResult[] = [];
  const variants = [
    { label: 'graph', runner: 'graph', checkpointRuns: true, notes: 'LangGraph, every run checkpointed at its resume point in PostgresSaver (the default)' },
    { label: 'graph, --no-checkpoint-runs', runner: 'graph', checkpointRuns: false, notes: 'LangGraph, PostgresSaver only for runs that wait for an officer' },
    { label: 'fast', runner: 'fast', checkpointRuns: false, notes: 'fast runner (same nodes, no LangGraph)' },
  ] as const;
  const only = process.env['MERIDIAN_BENCH_WORKER_VARIANT'];
  for (const { label, runner, checkpointRuns, notes: what } of variants.filter((v) => only === undefined || v.label === only)) {
    await using fresh = await freshPgDatabase(`worker_bench_${runner}${checkpointRuns ? '_ckpt' : ''}`);
    const db = await openDb({ kind: 'postgres', url: fresh.url });
    await migrate(db);
    await setRiskLimits(db, { limits: PERMISSIVE_LIMITS, author: 'bench', reason: 'bench', at: Date.now() });
    const candles = ETH_BTC_CANDLES().slice(0, WARM + WARM_EVENTS + EVENTS);
    await upsertCandles(db, candles.slice(0, WARM));
    const prefix = `mwbench${process.pid}${runner}${checkpointRuns ? 'c' : ''}`;
    const queue = new BullMqQueue({ url: redis.url, prefix });
    const waiting = new Map<number, (o: CandleOutcome) => void>();
    const phasesOf = new Map<number, EventPhases>();
    const worker = await openWorker({
      config: parseConfig({ DATABASE_URL: fresh.url, REDIS_URL: redis.url, MERIDIAN_RISK_SIGNING_KEY: TEST_SIGNING_KEY }),
      db,
      queue,
      logger: createLogger({ name: 'worker-bench', level: 'silent' }),
      settings: { runner, checkpointRuns, capital: { BTC: 1 }, expireApprovalsEveryMs: 0 },
      onHandled: (c, o, _ms, phases) => {
        phasesOf.set(c.ts, phases);
        const done = waiting.get(c.ts);
        waiting.delete(c.ts);
        done?.(o);
      },
    });
    worker.service.start();
    const publish = async (c: Candle): Promise<number> => {
      const done = new Promise<CandleOutcome>((resolve) => waiting.set(c.ts, resolve));
      const t0 = performance.now();
      await queue.add(candleClosedJob, c);
      await done;
      return performance.now() - t0;
    };
    // warm the JIT, the pools and the series state
    for (const c of candles.slice(WARM, WARM + WARM_EVENTS)) await publish(c);
    const lat: number[] = [];
    const load0 = loadavg()[0] ?? Number.NaN;
    const cpu0 = process.cpuUsage();
    for (const c of candles.slice(WARM + WARM_EVENTS)) lat.push(await publish(c));
    const cpu = process.cpuUsage(cpu0);
    lat.sort((a, b) => a - b);
    const orders = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0]?.n ?? 0;
    const measured = candles.slice(WARM + WARM_EVENTS).map((c) => phasesOf.get(c.ts));
    const phaseNote = EVENT_PHASES.map((ph) => {
      const xs = measured.map((p) => p?.[ph] ?? Number.NaN).sort((a, b) => a - b);
      return `${ph} ${percentile(xs, 50).toFixed(2)}/${percentile(xs, 99).toFixed(2)}`;
    }).join(', ');
    const notes = `${EVENTS} events one at a time, ${orders} orders approved; ${what}; CPU ${((cpu.user + cpu.system) / 1000 / EVENTS).toFixed(1)} ms/event in this process; load average ${load0.toFixed(1)} → ${(loadavg()[0] ?? Number.NaN).toFixed(1)}`;
    out.push({ name: `worker (${label}): candle event → trace stored, p50`, value: percentile(lat, 50), unit: 'ms', notes });
    out.push({ name: `worker (${label}): candle event → trace stored, p99`, value: percentile(lat, 99), unit: 'ms', target: '≤ 25', notes: `worker phases p50/p99 ms (EventPhases): ${phaseNote}; the rest of an event is BullMQ: publish → pick-up → handler` });
    await worker.stop();
    await queue.close();
    await db.close();
  }
  return out;
}
