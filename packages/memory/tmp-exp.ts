import { openDb, migrate } from '@meridian/db';
import { freshPgDatabase } from '@meridian/test/support';
import { FEATURE_VERSION } from '@meridian/market';
import { PgMemoryStore, syntheticSituations, syntheticSymbol } from './src/index.ts';

const N_SYM = 10, BARS = Number(process.argv[2] ?? 10_000);
await using tmp = await freshPgDatabase('memexp');
const db = await openDb({ kind: 'postgres', url: tmp.url });
await migrate(db);
const def = (await db.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE indexname='memories_embedding_v1_hnsw'")).rows[0]!.indexdef;
await db.exec('DROP INDEX memories_embedding_v1_hnsw');
let t = performance.now();
const store = new PgMemoryStore(db, { batchSize: 5000 });
let n = 0, minTs = Infinity, maxRa = 0;
for (const b of syntheticSituations({ symbols: N_SYM, barsPerSymbol: BARS, seed: 1 })) {
  await store.store(b); n += b.length;
  for (const s of b) { minTs = Math.min(minTs, s.ts); if (s.outcome) maxRa = Math.max(maxRa, s.outcome.resolvedAt); }
}
console.log('insert', n, ((performance.now() - t) / 1000).toFixed(1), 's');
t = performance.now();
await db.exec('SET maintenance_work_mem = \'1GB\'');
await db.exec(def);
console.log('index build', ((performance.now() - t) / 1000).toFixed(1), 's');
await db.exec('ANALYZE memories');
const queries: number[][] = [];
for (const b of syntheticSituations({ symbols: 1, barsPerSymbol: 2000, seed: 99 })) for (const s of b) queries.push(Array.from(s.features));
let seed = 12345; const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const qs = Array.from({ length: 200 }, () => ({ v: queries[Math.floor(rnd() * queries.length)]!, asOf: Math.round(minTs + rnd() * (maxRa - minTs)), sym: rnd() < 0.5 ? syntheticSymbol(Math.floor(rnd() * N_SYM)) : null }));
const exact = new PgMemoryStore(db, { mode: 'exact' });
const truth = [];
for (const q of qs) truth.push(await exact.recall(q.v, { asOf: q.asOf, k: 10, scope: q.sym ? 'same-symbol' : 'all-symbols', exchange: 'synthetic', symbol: q.sym ?? 'S0/USDT', timeframe: '5m', featureVersion: FEATURE_VERSION }));
for (const ef of [40, 100, 200]) {
  const s = new PgMemoryStore(db, { efSearch: ef });
  let hit = 0, tot = 0; const lat: number[] = [];
  for (let i = 0; i < qs.length; i++) {
    const q = qs[i]!;
    const t0 = performance.now();
    const r = await s.recall(q.v, { asOf: q.asOf, k: 10, scope: q.sym ? 'same-symbol' : 'all-symbols', exchange: 'synthetic', symbol: q.sym ?? 'S0/USDT', timeframe: '5m', featureVersion: FEATURE_VERSION });
    lat.push(performance.now() - t0);
    const want = new Set(truth[i]!.neighbours.map((x) => x.memoryId));
    tot += want.size; hit += r.neighbours.filter((x) => want.has(x.memoryId)).length;
  }
  lat.sort((a, b) => a - b);
  console.log(`ef ${ef}: recall ${(hit / tot).toFixed(4)} p50 ${lat[100]!.toFixed(2)} p99 ${lat[197]!.toFixed(2)} ms`);
}
const lat: number[] = [];
for (const q of qs) { const t0 = performance.now(); await exact.recall(q.v, { asOf: q.asOf, k: 10, scope: q.sym ? 'same-symbol' : 'all-symbols', exchange: 'synthetic', symbol: q.sym ?? 'S0/USDT', timeframe: '5m', featureVersion: FEATURE_VERSION }); lat.push(performance.now() - t0); }
lat.sort((a, b) => a - b);
console.log(`exact: p50 ${lat[100]!.toFixed(2)} p99 ${lat[197]!.toFixed(2)} ms`);
await db.close();
