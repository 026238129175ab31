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
  beforeAll(async () => {
    tmp = await freshPgDatabase('memory_recall');
    db = await openDb({ kind: 'postgres', url: tmp.url });
    await migrate(db);
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
    await db?.close();
    await tmp?.[Symbol.asyncDispose]();
  });

  it('finds ≥ 95% of the exact 10 nearest for random asOf and symbol filters, and never one resolved after asOf', async () => {
    const hnsw = new PgMemoryStore(db!);
    const exact = new PgMemoryStore(db!, { mode: 'exact' });
    const queries = [...syntheticSituations({ symbols: 1, barsPerSymbol: 3000, seed: 42 })].flat();
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
