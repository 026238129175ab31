import { openDb, migrate } from '@meridian/db';
import { FEATURE_VERSION } from '@meridian/market';
import { PgMemoryStore, syntheticSituations, syntheticSymbol } from './src/index.ts';
// persistent scratch DB for experiments
const db = await openDb({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/memexp_scratch' });
await migrate(db);
const cnt = (await db.query<{ n: number }>('select count(*)::int n from memories')).rows[0]!.n;
if (cnt === 0) {
  await db.exec('DROP INDEX IF EXISTS memories_embedding_v1_hnsw');
  const store = new PgMemoryStore(db, { batchSize: 5000 });
  let t = performance.now();
  for (const b of syntheticSituations({ symbols: 10, barsPerSymbol: 10_200, seed: 1 })) await store.store(b);
  console.log('insert', ((performance.now() - t) / 1000).toFixed(1));
  t = performance.now();
  await db.exec("SET maintenance_work_mem='1GB'; CREATE INDEX memories_embedding_v1_hnsw ON memories USING hnsw ((embedding::vector(32)) vector_l2_ops) WITH (m = 16, ef_construction = 64) WHERE feature_version = 1 AND resolved_at IS NOT NULL; ANALYZE memories");
  console.log('build', ((performance.now() - t) / 1000).toFixed(1));
}
console.log((await db.query('select min(ts), max(resolved_at), count(*) from memories')).rows);
await db.close();
