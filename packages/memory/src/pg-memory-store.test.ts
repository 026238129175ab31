import { type Db, migrate, openDb } from '@meridian/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgMemoryStore } from './pg-memory-store.ts';
import { memoryStoreSpec } from './memory-store-spec.ts';

// one embedded database for the file (opening and migrating PGlite takes seconds); every test
// starts from an empty memories table
let db: Db | undefined;
beforeAll(async () => {
  db = await openDb({ kind: 'pglite', dataDir: 'memory' });
  await migrate(db);
}, 120_000);
afterAll(async () => {
  await db?.close();
});

memoryStoreSpec('PgMemoryStore on PGlite (exact search)', async () => {
  await db!.exec('TRUNCATE memories');
  return { store: new PgMemoryStore(db!), close: async () => undefined };
});

describe('PgMemoryStore options', () => {
  it.each([
    ['exactBelow', 0],
    ['exactBelow', 2.5],
    ['thresholdTtlMs', -1],
    ['efSearch', Number.NaN],
    ['maxScanTuples', 0],
    ['seriesIndexLockTimeoutMs', 0],
    ['seriesIndexRetryMs', -5],
  ])('rejects %s = %s with a message naming it', (name, value) => {
    expect(() => new PgMemoryStore(db!, { [name]: value })).toThrow(new RegExp(`PgMemoryStore ${name} must be a positive integer`));
  });

  it('searches PGlite exactly, whatever the options (no HNSW index there)', async () => {
    await db!.exec('TRUNCATE memories');
    const store = new PgMemoryStore(db!, { exactBelow: 1 });
    await store.recall(Array.from({ length: 32 }, () => 0), {
      asOf: 1, k: 10, scope: 'all-symbols', exchange: 'x', symbol: 'A/B', timeframe: '5m', featureVersion: 1,
    });
    expect(store.paths).toMatchObject({ exact: 0, hnsw: 0, fallback: 0, probes: 0 });
  });

  it('creates no series index on PGlite (migration 0007 is server-only) and still stores', async () => {
    await db!.exec('TRUNCATE memories');
    const store = new PgMemoryStore(db!);
    const s = { exchange: 'x', symbol: 'A/B', timeframe: '5m', ts: 300_000, featureVersion: 1, horizonBars: 12, features: Array.from({ length: 32 }, () => 0.1) } as const;
    expect(await store.store([s])).toEqual({ inserted: 1, resolved: 0 });
    expect(await store.ensureSeriesIndexes([s])).toBe(0);
    expect(store.paths).toMatchObject({ seriesIndexed: 0, seriesIndexDeferred: 0 });
    const idx = await db!.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'memories' AND indexdef LIKE '%hnsw%'`);
    expect(idx.rows).toEqual([]);
  });
});
