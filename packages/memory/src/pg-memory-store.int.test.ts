import { type Db, migrate, openDb, vectorParam } from '@meridian/db';
import { FEATURE_VERSION, SeededRandom } from '@meridian/market';
import { freshPgDatabase, probePostgres } from '@meridian/test/support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryStoreSpec } from './memory-store-spec.ts';
import type { RecallOptions } from './memory-store.ts';
import { PgMemoryStore } from './pg-memory-store.ts';
import { syntheticSituations, syntheticSymbol } from './synthetic-memories.ts';

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
    // bulk load without the index, then build it once (much faster than 100k index inserts)
    const def = (await db.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE indexname = 'memories_embedding_v1_hnsw'")).rows[0]?.indexdef;
    expect(def).toMatch(/USING hnsw/);
    await db.exec('DROP INDEX memories_embedding_v1_hnsw');
    const store = new PgMemoryStore(db, { batchSize: 5000 });
    let n = 0;
    for (const batch of syntheticSituations({ symbols: 10, barsPerSymbol: 10_200, seed: 1 })) {
      n += (await store.store(batch)).inserted;
      for (const s of batch) {
        minTs = Math.min(minTs, s.ts);
        if (s.outcome) maxResolved = Math.max(maxResolved, s.outcome.resolvedAt);
      }
    }
    expect(n).toBeGreaterThanOrEqual(100_000);
    await db.exec(`SET maintenance_work_mem = '512MB'; ${def!}; ANALYZE memories`);
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
    const other = new PgMemoryStore(db2!, { efSearch: 40 }); // not the database default (100)
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
    expect(hnsw.paths.exact).toBeGreaterThan(20);
  });

  it('the approximate path really uses the HNSW index (so the figure above measures it)', async () => {
    const q = vectorParam(Array.from({ length: 32 }, (_, i) => Math.sin(i)));
    const plan = await db!.transaction(async (tx) => {
      await tx.exec('SET LOCAL hnsw.iterative_scan = relaxed_order');
      const r = await tx.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM memories WHERE feature_version = 1 AND timeframe = '5m' AND horizon_bars = 12
           AND resolved_at IS NOT NULL AND resolved_at <= $2 AND exchange = 'synthetic' AND symbol = 'S3/USDT'
         ORDER BY embedding::vector(32) <-> $1::vector(32) LIMIT 10`,
        [q, maxResolved],
      );
      return r.rows.map((x) => x['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('memories_embedding_v1_hnsw');
  });
});
