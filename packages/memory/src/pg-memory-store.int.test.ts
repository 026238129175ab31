import { type Db, migrate, openDb, vectorParam } from '@meridian/db';
import { FEATURE_VERSION, SeededRandom } from '@meridian/market';
import { freshPgDatabase, probePostgres } from '@meridian/test/support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStoreSpec } from './memory-store-spec.ts';
import type { RecallOptions } from './memory-store.ts';
import { PgMemoryStore } from './pg-memory-store.ts';
import { syntheticSituations, syntheticSymbol } from './synthetic-memories.ts';
import type { Situation } from './memory-store.ts';

/** HNSW indexes of single series (migration 0007) on memories */
async function seriesIndexCount(db: Db, predicate = ''): Promise<number> {
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'memories' AND indexname LIKE 'memories\\_v1\\_series\\_%' AND indexdef LIKE $1`,
    [`%${predicate}%`],
  );
  return r.rows[0]!.n;
}

/** the plan of a recall statement shaped like PgMemoryStore's HNSW one, with the same parameters */
async function hnswPlan(db: Db, sameSymbol: boolean, asOf: number, exchange = 'synthetic', symbol = 'S3/USDT'): Promise<string> {
  const q = vectorParam(Array.from({ length: 32 }, (_, i) => Math.sin(i)));
  const r = await db.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN SELECT id FROM memories WHERE feature_version = 1 AND timeframe = $2 AND horizon_bars = $3
       AND resolved_at IS NOT NULL AND resolved_at <= $4${sameSymbol ? ' AND exchange = $6 AND symbol = $7' : ''}
     ORDER BY embedding::vector(32) <-> $1::vector(32) LIMIT $5`,
    [q, '5m', 12, asOf, 10, ...(sameSymbol ? [exchange, symbol] : [])],
  );
  return r.rows.map((x) => x['QUERY PLAN']).join('\n');
}

const probe = await probePostgres();

describe.skipIf(!probe.ok)(`PgMemoryStore on server Postgres${probe.skipNote}`, () => {
  let tmp: Awaited<ReturnType<typeof freshPgDatabase>> | undefined;
  let db: Db | undefined;
  beforeAll(async () => {
    tmp = await freshPgDatabase('memory_spec');
    db = await openDb({ kind: 'postgres', url: tmp.url });
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
    await tmp?.[Symbol.asyncDispose]();
  });

  // the shared spec through the HNSW path (feature version 1 has the index on the server)
  memoryStoreSpec('PgMemoryStore on server Postgres (HNSW + exact fallback)', async () => {
    await db!.exec('TRUNCATE memories');
    return { store: new PgMemoryStore(db!), close: async () => undefined };
  });
});

describe.skipIf(!probe.ok)(`filtered recall@10 with the HNSW index, 100,000 memories over 10 symbols${probe.skipNote}`, () => {
  let tmp: Awaited<ReturnType<typeof freshPgDatabase>> | undefined;
  let db: Db | undefined;
  let minTs = Infinity;
  let maxResolved = 0;
  // opened after the migration, so its sessions start with the HNSW settings of migration 0006
  let db2: Db | undefined;
  beforeAll(async () => {
    tmp = await freshPgDatabase('memory_recall');
    db = await openDb({ kind: 'postgres', url: tmp.url });
    await migrate(db);
    db2 = await openDb({ kind: 'postgres', url: tmp.url });
    // bulk load without HNSW indexes, then build them once (much faster than 100k index inserts):
    // the global one and, after it, one per series (migration 0007)
    const def = (await db.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE indexname = 'memories_embedding_v1_hnsw'")).rows[0]?.indexdef;
    expect(def).toMatch(/USING hnsw/);
    await db.exec('DROP INDEX memories_embedding_v1_hnsw');
    const store = new PgMemoryStore(db, { batchSize: 5000, seriesIndexes: false });
    let n = 0;
    const series = new Map<string, Situation>();
    for (const batch of syntheticSituations({ symbols: 10, barsPerSymbol: 10_200, seed: 1 })) {
      n += (await store.store(batch)).inserted;
      for (const s of batch) {
        minTs = Math.min(minTs, s.ts);
        if (s.outcome) maxResolved = Math.max(maxResolved, s.outcome.resolvedAt);
        series.set(s.symbol, s);
      }
    }
    expect(n).toBeGreaterThanOrEqual(100_000);
    expect(await seriesIndexCount(db)).toBe(0); // seriesIndexes: false
    await db.transaction(async (tx) => {
      await tx.exec(`SET LOCAL maintenance_work_mem = '512MB'; ${def!}`);
      expect(await new PgMemoryStore(tx).ensureSeriesIndexes([...series.values()])).toBe(10);
    });
    await db.exec('ANALYZE memories');
  });
  afterAll(async () => {
    await db2?.close();
    await db?.close();
    await tmp?.[Symbol.asyncDispose]();
  });

  const queryVectors = [...syntheticSituations({ symbols: 1, barsPerSymbol: 3000, seed: 42 })].flat();
  const options = (rng: SeededRandom, asOf: number, sameSymbol: boolean): RecallOptions => ({
    asOf,
    k: 10,
    scope: sameSymbol ? 'same-symbol' : 'all-symbols',
    exchange: 'synthetic',
    symbol: syntheticSymbol(Math.floor(rng.uniform() * 10)),
    timeframe: '5m',
    featureVersion: FEATURE_VERSION,
  });

  it('selective filters (early asOf, one symbol) give exactly the exact answer, by the exact scan or the HNSW fallback', async () => {
    const chosen = new PgMemoryStore(db2!); // picks the exact scan up front
    // HNSW first; a short iterative scan gives up on the selective filters and falls back
    const hnswFirst = new PgMemoryStore(db2!, { exactBelow: 1, efSearch: 10, maxScanTuples: 1 });
    const exact = new PgMemoryStore(db2!, { mode: 'exact' });
    const rng = new SeededRandom(99);
    let approxFound = 0;
    let approxWanted = 0;
    for (let i = 0; i < 40; i++) {
      const q = queryVectors[Math.floor(rng.uniform() * queryVectors.length)]!;
      // the first 3% of the span: about 300 memories per symbol at most
      const o = options(rng, Math.round(minTs + rng.uniform() * 0.03 * (maxResolved - minTs)), i % 4 !== 0);
      const truth = (await exact.recall(q.features, o)).neighbours;
      for (const store of [chosen, hnswFirst]) {
        const viaHnsw = store.paths.hnsw;
        const got = (await store.recall(q.features, o)).neighbours;
        for (const m of got) expect(m.resolvedAt).toBeLessThanOrEqual(o.asOf);
        if (store.paths.hnsw === viaHnsw) {
          expect(got.map((m) => m.memoryId)).toEqual(truth.map((m) => m.memoryId));
        } else {
          // the short scan did find k: approximate, judged in aggregate below
          const want = new Set(truth.map((m) => m.memoryId));
          approxWanted += want.size;
          approxFound += got.filter((m) => want.has(m.memoryId)).length;
        }
      }
    }
    expect(chosen.paths).toMatchObject({ exact: 40, hnsw: 0, fallback: 0 });
    expect(hnswFirst.paths.exact + hnswFirst.paths.fallback + hnswFirst.paths.hnsw).toBe(40);
    expect(hnswFirst.paths.fallback).toBeGreaterThan(0); // 9 of 40 here: the fallback's answers were checked above
    if (approxWanted > 0) expect(approxFound / approxWanted).toBeGreaterThanOrEqual(0.8);
  });

  it('searches exactly exactly when fewer than exactBelow memories can match', async () => {
    const store = new PgMemoryStore(db2!, { exactBelow: 500 });
    const r = await db2!.query<{ r: number }>(
      `SELECT resolved_at AS r FROM memories WHERE symbol = 'S4/USDT' AND resolved_at IS NOT NULL ORDER BY resolved_at OFFSET 499 LIMIT 1`,
    );
    const rT = r.rows[0]!.r; // 500 memories of S4 are resolved by rT, 499 just before
    const base = { k: 10, scope: 'same-symbol', exchange: 'synthetic', symbol: 'S4/USDT', timeframe: '5m', featureVersion: FEATURE_VERSION } as const;
    const v = queryVectors[0]!.features;
    await store.recall(v, { ...base, asOf: rT - 1 });
    expect(store.paths).toMatchObject({ exact: 1, hnsw: 0, probes: 1 });
    await store.recall(v, { ...base, asOf: rT });
    expect(store.paths).toMatchObject({ exact: 1, hnsw: 1, fallback: 0, probes: 1 }); // threshold cached
  });

  it('runs HNSW recalls in one statement with the database defaults, and under SET LOCAL when they differ', async () => {
    const rng = new SeededRandom(5);
    const late = () => options(rng, maxResolved, false);
    const v = queryVectors[1]!.features;
    const oneTrip = new PgMemoryStore(db2!);
    const viaDefaults = await oneTrip.recall(v, late());
    expect(oneTrip.paths).toMatchObject({ hnsw: 1, resets: 0 });
    const other = new PgMemoryStore(db2!, { efSearch: 64 }); // not the database default (40)
    const viaSetLocal = await other.recall(v, late());
    await other.recall(v, late());
    expect(other.paths).toMatchObject({ hnsw: 2, resets: 1 }); // found out once, then always SET LOCAL
    expect(viaSetLocal.neighbours.length).toBe(10);
    expect(viaDefaults.neighbours.length).toBe(10);
  });

  it('finds ≥ 95% of the exact 10 nearest for random asOf and symbol filters, and never one resolved after asOf', async () => {
    const hnsw = new PgMemoryStore(db2!);
    const exact = new PgMemoryStore(db2!, { mode: 'exact' });
    const queries = queryVectors;
    const rng = new SeededRandom(2024);
    let found = 0;
    let wanted = 0;
    for (let i = 0; i < 200; i++) {
      const q = queries[Math.floor(rng.uniform() * queries.length)]!;
      const sameSymbol = rng.uniform() < 0.5;
      const o: RecallOptions = {
        asOf: Math.round(minTs + rng.uniform() * (maxResolved - minTs)),
        k: 10,
        scope: sameSymbol ? 'same-symbol' : 'all-symbols',
        exchange: 'synthetic',
        symbol: syntheticSymbol(Math.floor(rng.uniform() * 10)),
        timeframe: '5m',
        featureVersion: FEATURE_VERSION,
      };
      const got = await hnsw.recall(q.features, o);
      const truth = await exact.recall(q.features, o);
      for (const m of got.neighbours) {
        expect(m.resolvedAt).toBeLessThanOrEqual(o.asOf);
        if (sameSymbol) expect(m.symbol).toBe(o.symbol);
      }
      const want = new Set(truth.neighbours.map((m) => m.memoryId));
      wanted += want.size;
      found += got.neighbours.filter((m) => want.has(m.memoryId)).length;
    }
    expect(wanted).toBeGreaterThan(1500);
    expect(found / wanted).toBeGreaterThanOrEqual(0.95);
    // both searches were exercised, so the figure covers the HNSW path too
    expect(hnsw.paths.hnsw).toBeGreaterThan(50);
    expect(hnsw.paths.exact).toBeGreaterThanOrEqual(10); // fewer than before 0007: a series graph is 10× smaller than the table
  });

  it('the approximate path really uses the HNSW indexes: the series one for same-symbol, the global one for all-symbols', async () => {
    const same = await hnswPlan(db2!, true, maxResolved);
    expect(same).toMatch(/Index Scan using memories_v1_series_\w+ on memories/);
    expect(same).not.toContain('memories_embedding_v1_hnsw');
    expect(await hnswPlan(db2!, false, maxResolved)).toContain('Index Scan using memories_embedding_v1_hnsw');
    // seriesSearch: false hides the series predicate: the global index, as before migration 0007
    const q = vectorParam(Array.from({ length: 32 }, (_, i) => Math.cos(i)));
    const hidden = await db2!.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT id FROM memories WHERE feature_version = 1 AND timeframe = '5m' AND horizon_bars = 12 AND resolved_at IS NOT NULL
         AND resolved_at <= $2 AND exchange = 'synthetic' AND (symbol || '') = 'S3/USDT' ORDER BY embedding::vector(32) <-> $1::vector(32) LIMIT 10`,
      [q, maxResolved],
    );
    expect(hidden.rows.map((x) => x['QUERY PLAN']).join('\n')).toContain('memories_embedding_v1_hnsw');
  });

  it('same-symbol recall through the series index finds ≥ 95% of the exact 10, only of that series, never resolved after asOf', async () => {
    const viaSeries = new PgMemoryStore(db2!, { exactBelow: 1 }); // HNSW for every asOf, however few match
    const exact = new PgMemoryStore(db2!, { mode: 'exact' });
    const rng = new SeededRandom(31);
    let found = 0;
    let wanted = 0;
    for (let i = 0; i < 150; i++) {
      const q = queryVectors[Math.floor(rng.uniform() * queryVectors.length)]!;
      // asOf from 5% of the span on: below that the scan runs into max_scan_tuples and falls back
      const o = options(rng, Math.round(minTs + (0.05 + 0.95 * rng.uniform()) * (maxResolved - minTs)), true);
      const got = (await viaSeries.recall(q.features, o)).neighbours;
      const truth = (await exact.recall(q.features, o)).neighbours;
      for (const m of got) {
        expect(m.resolvedAt).toBeLessThanOrEqual(o.asOf);
        expect([m.exchange, m.symbol]).toEqual([o.exchange, o.symbol]);
      }
      const want = new Set(truth.map((m) => m.memoryId));
      wanted += want.size;
      found += got.filter((m) => want.has(m.memoryId)).length;
    }
    expect(viaSeries.paths.hnsw).toBeGreaterThan(140);
    expect(found / wanted).toBeGreaterThanOrEqual(0.95);
  });

  it('a series that appears mid-stream gets its own index before its first write and is recalled through it, point-in-time', async () => {
    const exchange = 'late-exchange';
    const store = new PgMemoryStore(db2!, { exactBelow: 1 });
    const exact = new PgMemoryStore(db2!, { mode: 'exact' });
    expect(await seriesIndexCount(db2!, `'${exchange}'`)).toBe(0);
    // 3,000 bars of one new series, stored as the worker does: situations unresolved, outcomes later
    const situations = [...syntheticSituations({ symbols: 1, barsPerSymbol: 3000, seed: 77, exchange })].flat();
    const unresolved = situations.map(({ outcome: _, ...s }) => s);
    expect((await store.store(unresolved.slice(0, 1000))).inserted).toBe(1000);
    expect(store.paths).toMatchObject({ seriesIndexed: 1, seriesIndexDeferred: 0 });
    expect(await seriesIndexCount(db2!, `'${exchange}'`)).toBe(1);
    await store.store(unresolved.slice(1000)); // the index is known now: no second ensure
    expect(store.paths.seriesIndexed).toBe(1);
    const outcomes = situations.flatMap((s) => (s.outcome ? [{ ...s, ...s.outcome }] : []));
    expect(await store.resolve(outcomes)).toBe(outcomes.length);
    const times = outcomes.map((o) => o.resolvedAt).sort((a, b) => a - b);
    const same = { k: 10, scope: 'same-symbol', exchange, symbol: situations[0]!.symbol, timeframe: '5m', featureVersion: FEATURE_VERSION } as const;
    // until the table's statistics know the series (autoanalyze after this many writes) the planner
    // may sort its few rows through the btree instead: exact, and cheap for a small series
    await db2!.exec('ANALYZE memories');
    expect(await hnswPlan(db2!, true, times.at(-1)!, exchange, same.symbol)).toMatch(/memories_v1_series_/);
    const rng = new SeededRandom(3);
    let found = 0;
    let wanted = 0;
    for (let i = 0; i < 40; i++) {
      const asOf = times[Math.floor((0.2 + 0.8 * rng.uniform()) * (times.length - 1))]!;
      const v = queryVectors[Math.floor(rng.uniform() * queryVectors.length)]!.features;
      const got = (await store.recall(v, { ...same, asOf })).neighbours;
      const truth = (await exact.recall(v, { ...same, asOf })).neighbours;
      for (const m of got) {
        expect(m.resolvedAt).toBeLessThanOrEqual(asOf);
        expect(m.exchange).toBe(exchange);
      }
      const want = new Set(truth.map((m) => m.memoryId));
      wanted += want.size;
      found += got.filter((m) => want.has(m.memoryId)).length;
    }
    expect(store.paths.hnsw).toBeGreaterThan(30);
    expect(found / wanted).toBeGreaterThanOrEqual(0.95);
    // the boundary: one millisecond before a memory's resolution it is not recalled, at it it may be
    const last = outcomes.reduce((a, b) => (b.resolvedAt > a.resolvedAt ? b : a));
    const lastVec = situations.find((s) => s.ts === last.ts)!.features;
    const before = await store.recall(lastVec, { ...same, asOf: last.resolvedAt - 1 });
    const at = await store.recall(lastVec, { ...same, asOf: last.resolvedAt });
    expect(before.neighbours.some((m) => m.ts === last.ts)).toBe(false);
    expect(at.neighbours[0]).toMatchObject({ ts: last.ts, distance: 0 });
  });
});

describe.skipIf(!probe.ok)(`series indexes created at runtime (migration 0007)${probe.skipNote}`, () => {
  let tmp: Awaited<ReturnType<typeof freshPgDatabase>> | undefined;
  let a: Db | undefined;
  let b: Db | undefined;
  beforeAll(async () => {
    tmp = await freshPgDatabase('memory_series_idx');
    a = await openDb({ kind: 'postgres', url: tmp.url });
    await migrate(a);
    b = await openDb({ kind: 'postgres', url: tmp.url }); // a second pool: another process
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await tmp?.[Symbol.asyncDispose]();
  });

  const series = (exchange: string, symbols: number, bars = 400) => [...syntheticSituations({ symbols, barsPerSymbol: bars, seed: 5, exchange })].flat();

  it('two processes storing new series at once: every series ends with exactly one index, no write fails', async () => {
    const shared = series('race-shared', 2); // both processes write these two series
    const onlyA = series('race-a', 1);
    const onlyB = series('race-b', 1);
    let clock = 1_000_000;
    const sa = new PgMemoryStore(a!, { now: () => clock });
    const sb = new PgMemoryStore(b!, { now: () => clock });
    const [ra, rb] = await Promise.all([sa.store([...shared, ...onlyA]), sb.store([...shared, ...onlyB])]);
    expect(ra.inserted + rb.inserted).toBe(shared.length + onlyA.length + onlyB.length); // each row once
    for (const ex of ['race-shared', 'race-a', 'race-b']) expect(await seriesIndexCount(a!, `'${ex}'`)).toBe(ex === 'race-shared' ? 2 : 1);
    // a store that lost the race for a series (another creator held it) asks again on its first
    // write once seriesIndexRetryMs (60 s) has passed
    clock += 60_000;
    const onePerSeries = [...new Map(shared.map((x) => [x.symbol, x])).values()];
    expect(onePerSeries).toHaveLength(2);
    await sa.store(onePerSeries);
    await sb.store(onePerSeries);
    expect(sa.paths.seriesIndexed).toBe(3);
    expect(sb.paths.seriesIndexed).toBe(3);
    // idempotent: ensuring again creates nothing
    expect(await new PgMemoryStore(b!).ensureSeriesIndexes([...shared, ...onlyA, ...onlyB])).toBe(4);
    expect(await seriesIndexCount(a!)).toBe(4);
  });

  it('two transactions each creating a new series index and then writing do not deadlock', async () => {
    const x = series('tx-x', 1, 220);
    const y = series('tx-y', 1, 220);
    let aEnsured!: () => void;
    const aDone = new Promise<void>((r) => (aEnsured = r));
    let bEnsured!: () => void;
    const bDone = new Promise<void>((r) => (bEnsured = r));
    let bOk: number | undefined;
    // the worker's order inside its decision transaction: create the series' index, then write.
    // Both creations happen before either write: with a SHARE lock alone each INSERT would wait for
    // the other transaction's SHARE lock, a deadlock that would abort one of them.
    const ta = a!.transaction(async (t) => {
      const s = new PgMemoryStore(t, { seriesIndexLockTimeoutMs: 50 });
      expect(await s.ensureSeriesIndexes(x)).toBe(1);
      aEnsured();
      await bDone;
      return (await s.store(x)).inserted;
    });
    const tb = b!.transaction(async (t) => {
      await aDone;
      const s = new PgMemoryStore(t, { seriesIndexLockTimeoutMs: 50 });
      bOk = await s.ensureSeriesIndexes(y); // the other creator holds the table: gives up after 50 ms
      bEnsured();
      // waits for the other transaction to commit, then writes (without asking for the index again here)
      return (await new PgMemoryStore(t, { seriesIndexes: false }).store(y)).inserted;
    });
    expect(await Promise.all([ta, tb])).toEqual([x.length, y.length]);
    expect(bOk).toBe(0);
    expect(await seriesIndexCount(a!, "'tx-x'")).toBe(1);
    expect(await seriesIndexCount(a!, "'tx-y'")).toBe(0);
    expect(await new PgMemoryStore(b!).ensureSeriesIndexes(y)).toBe(1); // created on a later write
    expect(await seriesIndexCount(a!, "'tx-y'")).toBe(1);
  });

  it('does not wait long for a writer holding the table: the write goes on without the index, which a later write creates', async () => {
    const held = series('held', 1, 220);
    const fresh = series('fresh', 1, 220);
    let clock = 1_000_000;
    const store = new PgMemoryStore(b!, { seriesIndexLockTimeoutMs: 50, now: () => clock });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let written!: () => void;
    const wroteInTx = new Promise<void>((r) => (written = r));
    // an open transaction that has written memories (ROW EXCLUSIVE on the table until it commits)
    const tx = a!.transaction(async (t) => {
      await new PgMemoryStore(t, { seriesIndexes: false }).store(held);
      written();
      await released;
    });
    await wroteInTx;
    const r = await store.store(fresh); // CREATE INDEX would need SHARE: gives up after 50 ms
    expect(r.inserted).toBe(fresh.length);
    expect(store.paths).toMatchObject({ seriesIndexed: 0, seriesIndexDeferred: 1 });
    expect(await seriesIndexCount(b!, "'fresh'")).toBe(0);
    release();
    await tx;
    // within seriesIndexRetryMs a write does not ask again (a table held for long would otherwise
    // cost every write the lock timeout)
    clock += 59_999;
    await store.store(fresh.slice(0, 1));
    expect(store.paths).toMatchObject({ seriesIndexed: 0, seriesIndexDeferred: 1 });
    expect(await seriesIndexCount(b!, "'fresh'")).toBe(0);
    clock += 1;
    await store.store(fresh.slice(0, 1));
    expect(store.paths).toMatchObject({ seriesIndexed: 1, seriesIndexDeferred: 1 });
    expect(await seriesIndexCount(b!, "'fresh'")).toBe(1);
  });
});

describe.skipIf(!probe.ok)(`time tiers: partial HNSW indexes over the oldest memories (ensureTimeTiers)${probe.skipNote}`, () => {
  let tmp: Awaited<ReturnType<typeof freshPgDatabase>> | undefined;
  let db: Db | undefined;
  let times: number[] = [];
  const set = { timeframe: '5m', horizonBars: 12 } as const;
  const TIERS = { base: 500, factor: 3 } as const; // 500, 1,500, 4,500 of ~9,000 memories
  /** the tiers on memories: name → the resolved_at bound of its predicate */
  const tierBounds = async (): Promise<Map<string, number>> =>
    new Map(
      (await db!.query<{ indexname: string; indexdef: string }>("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'memories\\_v1\\_%tier\\_%'")).rows.map((r) => [
        r.indexname,
        Number(/resolved_at <= '?(\d+)/.exec(r.indexdef)![1]),
      ]),
    );
  beforeAll(async () => {
    tmp = await freshPgDatabase('memory_tiers');
    db = await openDb({ kind: 'postgres', url: tmp.url });
    await migrate(db);
    const store = new PgMemoryStore(db, { batchSize: 5000 });
    for (const batch of syntheticSituations({ symbols: 3, barsPerSymbol: 3300, seed: 11 })) await store.store(batch);
    await db.exec('ANALYZE memories');
    times = (await db.query<{ r: number }>('SELECT resolved_at AS r FROM memories WHERE resolved_at IS NOT NULL ORDER BY resolved_at')).rows.map((x) => x.r);
  });
  afterAll(async () => {
    await db?.close();
    await tmp?.[Symbol.asyncDispose]();
  });

  it('builds one tier per level up to half the set, bounded by the n-th oldest resolution, once', async () => {
    expect(times.length).toBeGreaterThan(9000);
    const store = new PgMemoryStore(db!);
    const tiers = await store.ensureTimeTiers(set, TIERS);
    expect(tiers.map((t) => [t.level, t.created])).toEqual([
      [0, true],
      [1, true],
      [2, true],
    ]);
    const bounds = await tierBounds();
    // level j holds the base·factor^j oldest resolved memories (more only when several share the bound's time)
    for (const [j, size] of [500, 1500, 4500].entries()) {
      const t = tiers[j]!;
      expect(bounds.get(t.name)).toBe(times[size - 1]);
      expect(t.rows).toBe(times.filter((r) => r <= times[size - 1]!).length);
    }
    // idempotent: nothing new, the same tiers reported
    const again = await new PgMemoryStore(db!).ensureTimeTiers(set, TIERS);
    expect(again.map((t) => [t.name, t.created])).toEqual(tiers.map((t) => [t.name, false]));
    // a series has tiers of its own (~3,000 memories: 500 and 1,500)
    const series = await store.ensureTimeTiers({ ...set, exchange: 'synthetic', symbol: 'S1/USDT' }, TIERS);
    expect(series.map((t) => t.level)).toEqual([0, 1]);
    expect(series.every((t) => t.name.startsWith('memories_v1_stier_'))).toBe(true);
  });

  it('the planner walks the smallest tier whose bound covers asOf, and the global index after the last', async () => {
    await new PgMemoryStore(db!).ensureTimeTiers(set, TIERS);
    const bounds = [...(await tierBounds())].filter(([n]) => n.startsWith('memories_v1_tier_')).sort((a, b) => a[1] - b[1]);
    expect(bounds).toHaveLength(3);
    expect(await hnswPlan(db!, false, bounds[0]![1] - 1)).toContain(`Index Scan using ${bounds[0]![0]} on memories`);
    expect(await hnswPlan(db!, false, bounds[0]![1] + 1)).toContain(`Index Scan using ${bounds[1]![0]} on memories`);
    expect(await hnswPlan(db!, false, bounds[2]![1])).toContain(`Index Scan using ${bounds[2]![0]} on memories`);
    expect(await hnswPlan(db!, false, times.at(-1)!)).toContain('Index Scan using memories_embedding_v1_hnsw');
  });

  it('recall through the tiers finds ≥ 95% of the exact 10 and never a memory resolved after asOf', async () => {
    await new PgMemoryStore(db!).ensureTimeTiers(set, TIERS);
    const viaHnsw = new PgMemoryStore(db!, { exactBelow: 1 });
    const exact = new PgMemoryStore(db!, { mode: 'exact' });
    const vectors = [...syntheticSituations({ symbols: 1, barsPerSymbol: 800, seed: 5 })].flat();
    const rng = new SeededRandom(8);
    let found = 0;
    let wanted = 0;
    for (let i = 0; i < 60; i++) {
      // asOf among the first 4,500 resolutions: inside the tiers
      const asOf = times[Math.floor(200 + rng.uniform() * 4300)]!;
      const o: RecallOptions = { asOf, k: 10, scope: 'all-symbols', exchange: 'synthetic', symbol: 'S0/USDT', timeframe: '5m', featureVersion: FEATURE_VERSION };
      const v = vectors[Math.floor(rng.uniform() * vectors.length)]!.features;
      const got = (await viaHnsw.recall(v, o)).neighbours;
      for (const m of got) expect(m.resolvedAt).toBeLessThanOrEqual(asOf);
      const want = new Set((await exact.recall(v, o)).neighbours.map((m) => m.memoryId));
      wanted += want.size;
      found += got.filter((m) => want.has(m.memoryId)).length;
    }
    expect(viaHnsw.paths.hnsw).toBeGreaterThan(50);
    expect(found / wanted).toBeGreaterThanOrEqual(0.95);
  });

  it('rebuilds a tier whose earlier build failed (an invalid index under its name)', async () => {
    const store = new PgMemoryStore(db!);
    const [first] = await store.ensureTimeTiers(set, TIERS);
    await db!.exec(`DROP INDEX ${first!.name}`);
    // a concurrent build that fails leaves an INVALID index behind: here a unique one over duplicates
    await expectRejects(db!.maintenance([`CREATE UNIQUE INDEX CONCURRENTLY ${first!.name} ON memories (timeframe)`]));
    const invalid = await db!.query<{ valid: boolean }>('SELECT i.indisvalid AS valid FROM pg_index i WHERE i.indexrelid = to_regclass($1)', [first!.name]);
    expect(invalid.rows).toEqual([{ valid: false }]);
    const tiers = await store.ensureTimeTiers(set, TIERS);
    expect(tiers[0]).toMatchObject({ name: first!.name, created: true });
    const def = await db!.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE indexname = $1', [first!.name]);
    expect(def.rows[0]!.indexdef).toMatch(/USING hnsw/);
  });

  it('refuses bad options and does nothing on PGlite', async () => {
    const store = new PgMemoryStore(db!);
    await expect(store.ensureTimeTiers(set, { base: 0 })).rejects.toThrow(/base must be a positive integer/);
    await expect(store.ensureTimeTiers(set, { factor: 1 })).rejects.toThrow(/factor must be an integer ≥ 2/);
    await expect(store.ensureTimeTiers(set, { maintenanceWorkMem: "1GB'; DROP TABLE memories; --" })).rejects.toThrow(/maintenanceWorkMem/);
    await expect(store.ensureTimeTiers({ ...set, exchange: 'synthetic' })).rejects.toThrow(/both exchange and symbol/);
    const lite = await openDb({ kind: 'pglite', dataDir: 'memory' });
    try {
      await migrate(lite);
      expect(await new PgMemoryStore(lite).ensureTimeTiers(set)).toEqual([]);
    } finally {
      await lite.close();
    }
  });
});

async function expectRejects(p: Promise<unknown>): Promise<void> {
  let failed = false;
  await p.catch(() => (failed = true));
  expect(failed).toBe(true);
}
