import { parseConfig } from '@meridian/config';
import type { Candle } from '@meridian/contracts';
import { createLogger, isAppError } from '@meridian/core';
import { getTradingState, listAudit, migrate, openDb, setRiskLimits, upsertCandles, upsertPosition, type Db } from '@meridian/db';
import { InProcessQueue } from '@meridian/queue';
import { freshPgDatabase, probePostgres } from '@meridian/test/support';
import { EventPhases, openWorker, type Worker } from '../../apps/worker/src/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETH_BTC_CANDLES, PERMISSIVE_LIMITS, TEST_SIGNING_KEY, fixtureCandles } from './worker-fixtures.ts';

const pg = await probePostgres();
const TF = 300_000;
const WARM = 220;

describe.skipIf(!pg.ok)(`worker CandleDecider on server Postgres${pg.skipNote}`, () => {
  let fresh: Awaited<ReturnType<typeof freshPgDatabase>>;
  let db: Db;
  const workers: Worker[] = [];
  const all = ETH_BTC_CANDLES();
  const series = all.slice(0, WARM + 40);
  const c = (i: number): Candle => series[WARM + i]!;
  const silent = createLogger({ name: 'worker-test', level: 'silent' });

  beforeAll(async () => {
    fresh = await freshPgDatabase('worker_decider');
    db = await openDb({ kind: 'postgres', url: fresh.url });
    await migrate(db);
    await setRiskLimits(db, { limits: PERMISSIVE_LIMITS, author: 'test', reason: 'permissive limits for the worker test', at: Date.now() });
    // history up to the first decided bar; later bars arrive through the events (and some are pre-stored below)
    await upsertCandles(db, series.slice(0, WARM));
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) await w.stop();
    await db?.close();
    await fresh?.[Symbol.asyncDispose]();
  });

  async function worker(runner: 'graph' | 'fast', env: Record<string, string> = { MERIDIAN_RISK_SIGNING_KEY: TEST_SIGNING_KEY }): Promise<Worker> {
    const config = parseConfig({ DATABASE_URL: fresh.url, ...env });
    const w = await openWorker({ config, db, queue: new InProcessQueue(), logger: silent, settings: { runner, capital: { BTC: 1 }, expireApprovalsEveryMs: 0 } });
    workers.push(w);
    return w;
  }

  /** the first `n` of LTC/BTC's real candles under another symbol: an independent series for one test */
  /** the first `n` LTC/BTC candles relabelled as `symbol` (a series of its own), the first `stored` of them in the database */
  async function storedSeries(symbol: string, n: number, stored: number) {
    const series = fixtureCandles('binance_LTC_BTC-5m.csv', 'binance', 'LTC/BTC', '5m')
      .slice(0, n)
      .map((x) => ({ ...x, symbol }));
    await upsertCandles(db, series.slice(0, stored));
    return series;
  }

  /** run `fn` while a trigger refuses every memory INSERT of `symbol` with `message` */
  async function refusingMemoryInserts(symbol: string, message: string, fn: () => Promise<void>): Promise<void> {
    const name = `refuse_${symbol.replace(/\W/g, '_').toLowerCase()}_memory`;
    await db.exec(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${message}'; END $$;
      CREATE TRIGGER ${name} BEFORE INSERT ON memories FOR EACH ROW WHEN (NEW.symbol = '${symbol}') EXECUTE FUNCTION ${name}()`);
    try {
      await fn();
    } finally {
      await db.exec(`DROP TRIGGER ${name} ON memories; DROP FUNCTION ${name}()`);
    }
  }

  const tracesOf = async (symbol = 'ETH/BTC') =>
    (await db.query<{ as_of: number; n: number }>('SELECT as_of, count(*)::int AS n FROM decision_traces WHERE symbol = $1 GROUP BY as_of ORDER BY as_of', [symbol])).rows;

  it('decides each bar once, in time order, catching up stored bars other events have not reached yet', async () => {
    const w = await worker('graph');
    const first = await w.decider.handle(c(0));
    expect(first.status).toBe('decided');
    // bars 1-3 are stored (e.g. by the feed) but their events are still queued: the event for bar 4 decides 1-4 in order
    await upsertCandles(db, [c(1), c(2), c(3)]);
    const r = await w.decider.handle(c(4));
    expect(r.status === 'decided' && r.traces.map((t) => t.asOf)).toEqual([1, 2, 3, 4].map((i) => c(i).ts + TF));
    // the queued events for bars 2 and 4 now find their decisions
    expect((await w.decider.handle(c(2))).status).toBe('duplicate');
    expect((await w.decider.handle(c(4))).status).toBe('duplicate');
    expect(await tracesOf()).toEqual([0, 1, 2, 3, 4].map((i) => ({ as_of: c(i).ts + TF, n: 1 })));
  });

  it('a never-decided series whose first event is overtaken by the next one still decides both bars, in order', async () => {
    // its own series, so nothing decided before: history plus the first two live bars stored by the feed
    const ltc = fixtureCandles('binance_LTC_BTC-5m.csv', 'binance', 'LTC/BTC', '5m')
      .slice(0, WARM + 2)
      .map((x) => ({ ...x, symbol: 'DOGE/BTC' }));
    await upsertCandles(db, ltc);
    const w = await worker('fast');
    const second = await w.decider.handle(ltc[WARM + 1]!);
    expect(second.status === 'decided' && second.traces.map((t) => t.asOf)).toEqual([ltc[WARM]!.ts + TF, ltc[WARM + 1]!.ts + TF]);
    expect((await w.decider.handle(ltc[WARM]!)).status).toBe('duplicate');
    expect(await tracesOf('DOGE/BTC')).toEqual([WARM, WARM + 1].map((i) => ({ as_of: ltc[i]!.ts + TF, n: 1 })));
  });

  it('tells where an event went: store, lock, prepare, decide (every bar of a catch-up), commit — no decide for a duplicate', async () => {
    const xrp = await storedSeries('XRP/BTC', WARM + 3, WARM + 2);
    const w = await worker('graph');
    const one = new EventPhases();
    const t0 = performance.now();
    const r = await w.decider.handle(xrp[WARM + 2]!, one);
    const wall = performance.now() - t0;
    expect(r.status === 'decided' && r.traces.length).toBe(3);
    // on server Postgres the candle upsert runs beside BEGIN and the lock: `store` is what is left after the lock, maybe nothing
    expect(one.store).toBeGreaterThanOrEqual(0);
    for (const ph of ['lock', 'prepare', 'decide', 'commit'] as const) expect(one[ph], ph).toBeGreaterThan(0);
    const sum = one.store + one.lock + one.prepare + one.decide + one.commit;
    expect(sum).toBeLessThanOrEqual(wall);
    // the phases cover the whole handler: what is left is the call itself
    expect(wall - sum).toBeLessThan(0.5 * wall);
    const again = new EventPhases();
    expect((await w.decider.handle(xrp[WARM + 2]!, again)).status).toBe('duplicate');
    expect(again.decide).toBe(0);
    expect(again.prepare).toBeGreaterThan(0);
    expect(again.commit).toBeGreaterThan(0);
    expect(Object.keys(again.toJSON())).toEqual(['store', 'lock', 'prepare', 'decide', 'commit']);
  });

  it("starts each decision's recall before its run reaches the recall node, and every decision uses its prefetched answer", async () => {
    const sol = await storedSeries('SOL/BTC', WARM + 4, WARM + 2);
    for (const runner of ['graph', 'fast'] as const) {
      const w = await worker(runner);
      const before = { ...w.recall!.counts };
      const r = await w.decider.handle(sol[runner === 'graph' ? WARM + 2 : WARM + 3]!);
      expect(r.status === 'decided' && r.traces.every((t) => t.nodes.some((n) => n.node === 'recall'))).toBe(true);
      const n = r.status === 'decided' ? r.traces.length : 0;
      expect(n).toBeGreaterThan(0);
      expect(w.recall!.counts).toEqual({ hits: before.hits + n, misses: before.misses });
      expect(w.recall!.pending).toBe(0);
    }
  });

  it('a memory write that fails is the error reported (not the aborted statements queued after it), and nothing of the event is stored', async () => {
    const ada = await storedSeries('ADA/BTC', WARM + 1, WARM);
    await refusingMemoryInserts('ADA/BTC', 'test trigger refuses this memory', async () => {
      const w = await worker('graph');
      const err = await w.decider.handle(ada[WARM]!).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toContain('test trigger refuses this memory');
      expect(await tracesOf('ADA/BTC')).toEqual([]);
      expect(w.recall!.pending).toBe(0);
    });
  });

  it("a bar's recall sees the outcome that bar resolves, also when the resolve first waits for the series' index check (a new worker's first write)", async () => {
    // horizon 12: the situation of the first decided bar is resolved by the 13th; a fresh worker's first
    // memory write of a series checks the series' HNSW index first (a round trip before the UPDATE)
    const dot = await storedSeries('DOT/BTC', WARM + 13, WARM + 12);
    const a = await worker('graph');
    const first = await a.decider.handle(dot[WARM + 11]!);
    expect(first.status === 'decided' && first.traces.length).toBe(12);
    const b = await worker('graph');
    // b has decided a bar of another series first (its limits are cached: nothing else delays the recall)
    const xlm = await storedSeries('XLM/BTC', WARM + 1, WARM);
    expect((await b.decider.handle(xlm[WARM]!)).status).toBe('decided');
    const r = await b.decider.handle(dot[WARM + 12]!);
    expect(r.status).toBe('decided');
    const trace = r.status === 'decided' ? r.traces.at(-1) : undefined;
    const recall = trace?.nodes.find((n) => n.node === 'recall')?.output as { neighbours: { ts: number; resolvedAt: number }[] } | undefined;
    // the only memory resolved by then: the first decided bar's, resolved at this bar's close
    expect(recall?.neighbours.map((m) => [m.ts, m.resolvedAt])).toEqual([[dot[WARM]!.ts + TF, dot[WARM + 12]!.ts + TF]]);
    expect(b.recall!.counts).toEqual({ hits: 2, misses: 0 });
  });

  it('a failed memory write ends the event only once its decision run is over: nothing of it is stored, and the retry decides the bar', async () => {
    const link = await storedSeries('LINK/BTC', WARM + 14, WARM + 14);
    const w = await worker('graph');
    // a warm series past the horizon: the next bar resolves an outcome (that UPDATE succeeds), its recall
    // is quick, and its situation's INSERT fails — the run must not outlive the transaction
    const warm = await w.decider.handle(link[WARM + 12]!);
    expect(warm.status === 'decided' && warm.traces.length).toBe(13);
    await refusingMemoryInserts('LINK/BTC', 'test trigger refuses this situation', async () => {
      await expect(w.decider.handle(link[WARM + 13]!)).rejects.toThrow('test trigger refuses this situation');
    });
    const asOf = link[WARM + 13]!.ts + TF;
    const stored = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM decision_traces WHERE symbol = 'LINK/BTC' AND as_of = $1`, [asOf]);
    expect(stored.rows[0]?.n).toBe(0);
    const retry = await w.decider.handle(link[WARM + 13]!);
    expect(retry.status === 'decided' && retry.traces.map((t) => t.asOf)).toEqual([asOf]);
  });

  it('a second worker (its own state, same database) continues the series without deciding a bar twice', async () => {
    const a = await worker('fast');
    const b = await worker('graph');
    expect((await a.decider.handle(c(5))).status).toBe('decided');
    expect((await b.decider.handle(c(6))).status).toBe('decided');
    expect((await a.decider.handle(c(6))).status).toBe('duplicate');
    expect((await a.decider.handle(c(7))).status).toBe('decided');
    // two events at once (both bars stored by the feed first): the series lock serialises the workers;
    // whichever runs first, each bar gets one decision (the later bar may catch up the earlier one)
    await upsertCandles(db, [c(8), c(9)]);
    const [x, y] = await Promise.all([a.decider.handle(c(8)), b.decider.handle(c(9))]);
    expect(y.status).toBe('decided');
    expect(['decided', 'duplicate']).toContain(x.status);
    const rows = await tracesOf();
    expect(rows.map((r) => r.n)).toEqual(Array(10).fill(1));
    expect(rows.map((r) => r.as_of)).toEqual([...Array(10).keys()].map((i) => c(i).ts + TF));
  });

  it('an event older than the last decision is stored but not decided (decisions never go back in time)', async () => {
    const w = await worker('fast');
    // bar 12 decided; bar 11 was never stored before its event arrives late
    await upsertCandles(db, [c(10)]);
    expect((await w.decider.handle(c(10))).status).toBe('decided');
    expect((await w.decider.handle(c(12))).status).toBe('decided');
    expect((await w.decider.handle(c(11))).status).toBe('late');
    expect((await db.query('SELECT 1 FROM candles WHERE symbol = $1 AND ts = $2', ['ETH/BTC', c(11).ts])).rowCount).toBe(1);
    expect((await tracesOf()).some((r) => r.as_of === c(11).ts + TF)).toBe(false);
  });

  it('a series without enough history is stored and reported as warming, with no trace', async () => {
    const w = await worker('fast');
    const other = ETH_BTC_CANDLES().slice(0, 30).map((x) => ({ ...x, symbol: 'LTC/BTC' }));
    await upsertCandles(db, other.slice(0, 29));
    const r = await w.decider.handle(other[29]!);
    expect(r).toEqual({ status: 'warming', bars: 30 });
    expect(await tracesOf('LTC/BTC')).toEqual([]);
  });

  it('every order is in the outbox, written in the same transaction as its trace; memories are written per decided bar', async () => {
    const w = await worker('graph');
    for (let i = 13; i < 40; i++) await w.decider.handle(c(i));
    const orders = await db.query<{ same_tx: boolean; same_time: boolean }>(
      `SELECT t.xmin::text = o.xmin::text AS same_tx, t.created_at = o.created_at AS same_time
         FROM decision_traces t JOIN outbox o ON o.order_id = (t.trace->'orderRequest'->>'orderId')::uuid
        WHERE t.trace->'orderRequest' <> 'null'::jsonb`,
    );
    const withOrder = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM decision_traces WHERE trace->'orderRequest' <> 'null'::jsonb`)).rows[0]!.n;
    expect(withOrder).toBeGreaterThan(0);
    expect(orders.rows).toHaveLength(withOrder);
    expect(orders.rows.every((r) => r.same_tx && r.same_time)).toBe(true);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0]!.n).toBe(withOrder);
    // one situation per decided bar of this series, and outcomes resolved 12 bars back
    const mem = (await db.query<{ n: number; resolved: number }>("SELECT count(*)::int AS n, count(resolved_at)::int AS resolved FROM memories WHERE symbol = 'ETH/BTC'")).rows[0]!;
    const decided = (await tracesOf()).length;
    expect(mem.n).toBe(decided);
    expect(mem.resolved).toBeGreaterThan(0);
  });

  it('a drawdown beyond the limit halts trading (stored with its audit entry) before the bar is decided', async () => {
    const w = await worker('fast');
    await setRiskLimits(db, { limits: { ...PERMISSIVE_LIMITS, maxDrawdownPct: 10 }, author: 'test', reason: 'drawdown limit', at: Date.now() });
    // a position bought far above the market: equity is well below the starting capital
    await upsertPosition(db, { exchange: 'binance', symbol: 'ETH/BTC', quantity: 5, avgEntryPrice: 0.2, realizedPnl: 0, openedAt: 1, updatedAt: 1 });
    await upsertCandles(db, [series[WARM + 40 - 1]!]);
    const r = await w.decider.handle(all[WARM + 40]!);
    expect(r.status).toBe('decided');
    expect((await getTradingState(db))?.state.state).toBe('HALTED');
    expect((await listAudit(db, { entity: 'trading_state:global' })).map((a) => a.action)).toContain('trading_state.drawdown');
  });

  it('refuses to start without the signing key', async () => {
    let code = '';
    try {
      await worker('fast', {});
    } catch (e) {
      code = isAppError(e) ? `${e.code}: ${e.message}` : String(e);
    }
    expect(code).toBe('CONFIG: MERIDIAN_RISK_SIGNING_KEY is not set');
  });
});
