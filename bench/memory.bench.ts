import type { BenchResult } from './bench-result.ts';
import { percentile } from './bench-result.ts';

/**
 * Memory benchmarks (docs/benchmarks.md, section "Memory"; choices in docs/memory.md):
 *  - server Postgres, 100,000 and 1,000,000 memories over 10 symbols (5m synthetic candles
 *    through the real FeatureEngine): bulk insert, HNSW build time, filtered recall@10 latency
 *    p50/p99 and recall@10 against exact search, for random asOf and scope (half same-symbol);
 *  - InProcessMemoryStore: a year of 1m bars (525,600), store + resolve + recall on every bar as
 *    the backtest does, µs per bar and recall@10 of the IVF index against exact.
 * Run alone: node --conditions=@meridian/source --import tsx -e "import('./bench/memory.bench.ts').then(async m=>console.table(await m.run()))"
 */

const QUERIES = 500;

async function server(): Promise<BenchResult[]> {
  const { freshPgDatabase, probePostgres } = await import('@meridian/test/support');
  const { openDb, migrate } = await import('@meridian/db');
  const { FEATURE_VERSION, SeededRandom } = await import('@meridian/market');
  const { PgMemoryStore, syntheticSituations, syntheticSymbol } = await import('@meridian/memory');
  const probe = await probePostgres();
  if (!probe.ok) return [{ name: 'server Postgres memory recall', value: Number.NaN, unit: '-', notes: `skipped: ${probe.skipNote}` }];
  await using tmp = await freshPgDatabase('memory_bench');
  const db = await openDb({ kind: 'postgres', url: tmp.url });
  const out: BenchResult[] = [];
  try {
    await migrate(db);
    const def = (await db.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE indexname = 'memories_embedding_v1_hnsw'")).rows[0]!.indexdef;
    const store = new PgMemoryStore(db, { batchSize: 5000 });
    const queries = [...syntheticSituations({ symbols: 1, barsPerSymbol: 3000, seed: 42 })].flat();
    let minTs = Infinity;
    let maxResolved = 0;
    let loaded = 0;
    for (const [label, barsPerSymbol] of [['100k', 10_200], ['1M', 100_200]] as const) {
      await db.exec('DROP INDEX IF EXISTS memories_embedding_v1_hnsw');
      let t = performance.now();
      // the 1M set extends the 100k one (same seeds: the first 10,200 bars of each symbol are already stored)
      for (const batch of syntheticSituations({ symbols: 10, barsPerSymbol, seed: 1 })) {
        loaded += (await store.store(batch)).inserted;
        for (const s of batch) {
          minTs = Math.min(minTs, s.ts);
          if (s.outcome) maxResolved = Math.max(maxResolved, s.outcome.resolvedAt);
        }
      }
      const insertS = (performance.now() - t) / 1000;
      t = performance.now();
      await db.exec(`SET maintenance_work_mem = '2GB'; ${def}; ANALYZE memories`);
      const buildS = (performance.now() - t) / 1000;
      out.push({ name: `server: bulk insert to ${label} memories`, value: insertS, unit: 's', notes: `${loaded} memories in total` });
      out.push({ name: `server: HNSW build at ${label} (m 16, ef_construction 64)`, value: buildS, unit: 's' });

      const rng = new SeededRandom(7);
      const qs = Array.from({ length: QUERIES }, () => {
        const q = queries[Math.floor(rng.uniform() * queries.length)]!;
        return {
          v: q.features,
          o: {
            asOf: Math.round(minTs + rng.uniform() * (maxResolved - minTs)),
            k: 10,
            scope: rng.uniform() < 0.5 ? ('same-symbol' as const) : ('all-symbols' as const),
            exchange: 'synthetic',
            symbol: syntheticSymbol(Math.floor(rng.uniform() * 10)),
            timeframe: '5m' as const,
            featureVersion: FEATURE_VERSION,
          },
        };
      });
      const exact = new PgMemoryStore(db, { mode: 'exact' });
      const truth: Set<string>[] = [];
      const exactMs: number[] = [];
      for (const q of qs.slice(0, label === '1M' ? 100 : QUERIES)) {
        const t0 = performance.now();
        truth.push(new Set((await exact.recall(q.v, q.o)).neighbours.map((m) => m.memoryId)));
        exactMs.push(performance.now() - t0);
      }
      exactMs.sort((a, b) => a - b);
      out.push({ name: `server: exact recall p50 at ${label}`, value: percentile(exactMs, 50), unit: 'ms', notes: `p99 ${percentile(exactMs, 99).toFixed(1)} ms` });
      for (const ef of [40, 100]) {
        const s = new PgMemoryStore(db, { efSearch: ef });
        for (const q of qs.slice(0, 20)) await s.recall(q.v, q.o); // warm the cache
        const ms: number[] = [];
        let found = 0;
        let wanted = 0;
        for (let i = 0; i < qs.length; i++) {
          const q = qs[i]!;
          const t0 = performance.now();
          const r = await s.recall(q.v, q.o);
          ms.push(performance.now() - t0);
          const want = truth[i];
          if (want) {
            wanted += want.size;
            found += r.neighbours.filter((m) => want.has(m.memoryId)).length;
          }
        }
        ms.sort((a, b) => a - b);
        const tag = `${label}, ef_search ${ef}`;
        out.push({ name: `server: HNSW recall p50 at ${tag}`, value: percentile(ms, 50), unit: 'ms' });
        out.push({ name: `server: HNSW recall p99 at ${tag}`, value: percentile(ms, 99), unit: 'ms', target: '≤ 5' });
        out.push({ name: `server: recall@10 vs exact at ${tag}`, value: found / wanted, unit: 'fraction', target: '≥ 0.95', notes: `${truth.length} queries` });
      }
    }
  } finally {
    await db.close();
  }
  return out;
}

async function inProcess(): Promise<BenchResult[]> {
  const { FEATURE_VERSION, FeatureEngine, generateBars } = await import('@meridian/market');
  const { InProcessMemoryStore, MemoryBuilder } = await import('@meridian/memory');
  const BARS = 525_600;
  // features and outcomes first, so only the memory is timed
  const eng = new FeatureEngine();
  const builder = new MemoryBuilder({ exchange: 'x', symbol: 'BTC/USDT', timeframe: '1m', featureVersion: FEATURE_VERSION, horizonBars: 12 });
  const steps = [];
  for (const bar of generateBars({ bars: BARS, seed: 7, timeframeMs: 60_000 })) {
    const f = eng.update(bar);
    steps.push(builder.onBar(bar, eng.ready ? f : null));
  }
  const store = new InProcessMemoryStore();
  let found = 0;
  let wanted = 0;
  let checkMs = 0;
  const t = performance.now();
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.situation) store.storeSync([s.situation]);
    if (s.outcome) store.resolveSync([s.outcome]);
    if (!s.situation) continue;
    const o = { asOf: s.situation.ts, k: 10, scope: 'same-symbol' as const, exchange: 'x', symbol: 'BTC/USDT', timeframe: '1m' as const, featureVersion: FEATURE_VERSION };
    const r = store.recallSync(s.situation.features, o);
    if (i % 1000 === 0 && i > 50_000) {
      const c = performance.now();
      const want = new Set(store.recallExactSync(s.situation.features, o).neighbours.map((m) => m.memoryId));
      wanted += want.size;
      found += r.neighbours.filter((m) => want.has(m.memoryId)).length;
      checkMs += performance.now() - c;
    }
  }
  const ms = performance.now() - t - checkMs;
  const st = store.indexStats()[0]!;
  return [
    { name: 'in-process: store + resolve + recall per 1m bar, 525,600 bars', value: (ms * 1000) / steps.length, unit: 'µs/bar', target: '≲ 100', notes: `${Math.round((steps.length / ms) * 1000)} bars/s incl. ${(st.trainMs / 1000).toFixed(1)} s of IVF training (${st.trainings}×, ${st.lists} lists)` },
    { name: 'in-process: IVF recall@10 vs exact (after 50,000 bars)', value: found / wanted, unit: 'fraction', notes: `${wanted / 10} sampled bars, nprobe 4` },
  ];
}

export async function run(): Promise<BenchResult[]> {
  return [...(await inProcess()), ...(await server())];
}
