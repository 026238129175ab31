import type { BenchResult } from './bench-result.ts';
import { percentile } from './bench-result.ts';

/**
 * Memory benchmarks (docs/benchmarks.md, section "Memory"; choices in docs/memory.md):
 *  - server Postgres, 100,000 and 1,000,000 memories over 10 symbols (5m synthetic candles
 *    through the real FeatureEngine): filtered recall@10 latency p50/p99 and recall@10 against
 *    exact search for random asOf and scope (half same-symbol), for the default PgMemoryStore and
 *    a few variants (exactBelow, ef_search, HNSW always), with the mix of searches that answered
 *    and the load average next to each figure. The data lives in dedicated databases built once
 *    (ensureBenchDb) and dropped at the end unless MERIDIAN_BENCH_MEMORY_KEEP=1;
 *    MERIDIAN_BENCH_MEMORY_SIZES=100k|1M|100k,1M and MERIDIAN_BENCH_MEMORY_ONLY=server|in-process
 *    narrow a run while tuning;
 *  - InProcessMemoryStore: a year of 1m bars (525,600), store + resolve + recall on every bar as
 *    the backtest does, µs per bar and recall@10 of the IVF index against exact.
 * Run alone: node --conditions=@meridian/source --import tsx -e "import('./bench/memory.bench.ts').then(async m=>console.table(await m.run()))"
 */

const QUERIES = 500;

/** Sizes of the server benchmark: bars per symbol over 10 symbols (199 warm-up bars give no memory). */
const SIZES = { '100k': 10_200, '1M': 100_200 } as const;
export type BenchSize = keyof typeof SIZES;

export interface BenchDb {
  readonly url: string;
  readonly name: string;
  /** the data span, for random asOf */
  readonly minTs: number;
  readonly maxResolved: number;
  readonly memories: number;
  /** seconds spent loading / building now (0 when an earlier run's database was reused) */
  readonly insertS: number;
  readonly buildS: number;
}

/**
 * A dedicated database per size (`meridian_memory_bench_100k` / `_1m`, never the `test` database),
 * built once — the 1M HNSW build alone takes minutes — and reused by later runs while its
 * `bench_meta` row says it is complete. `dropBenchDbs()` removes them; `run()` does so at the end
 * unless MERIDIAN_BENCH_MEMORY_KEEP=1 (for repeated runs while tuning).
 */
export async function ensureBenchDb(size: BenchSize): Promise<BenchDb> {
  const { loadConfig } = await import('@meridian/config');
  const { openDb, migrate } = await import('@meridian/db');
  const { PgMemoryStore, syntheticSituations } = await import('@meridian/memory');
  const name = `meridian_memory_bench_${size.toLowerCase()}`;
  const u = new URL(loadConfig().test.databaseUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const admin = await adminDb();
  try {
    const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount > 0;
    if (exists) {
      const db = await openDb({ kind: 'postgres', url });
      try {
        const meta = await db.query<{ doc: Omit<BenchDb, 'url' | 'name' | 'insertS' | 'buildS'> }>(
          "SELECT doc FROM bench_meta WHERE complete").catch(() => ({ rows: [] as never[] }));
        if (meta.rows[0]) {
          await migrate(db); // later migrations (new indexes) apply to the reused database
          return { url, name, ...meta.rows[0].doc, insertS: 0, buildS: 0 };
        }
      } finally {
        await db.close();
      }
      await admin.exec(`DROP DATABASE ${name} WITH (FORCE)`);
    }
    await admin.exec(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  const db = await openDb({ kind: 'postgres', url });
  try {
    await migrate(db);
    // bulk load without the HNSW index, then build it once (far faster than row-by-row inserts)
    const def = (await db.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE indexname = 'memories_embedding_v1_hnsw'")).rows[0]!.indexdef;
    await db.exec('DROP INDEX memories_embedding_v1_hnsw');
    const store = new PgMemoryStore(db, { batchSize: 5000 });
    let minTs = Infinity;
    let maxResolved = 0;
    let memories = 0;
    let t = performance.now();
    for (const batch of syntheticSituations({ symbols: 10, barsPerSymbol: SIZES[size], seed: 1 })) {
      memories += (await store.store(batch)).inserted;
      for (const s of batch) {
        minTs = Math.min(minTs, s.ts);
        if (s.outcome) maxResolved = Math.max(maxResolved, s.outcome.resolvedAt);
      }
    }
    const insertS = (performance.now() - t) / 1000;
    t = performance.now();
    // separate statements: a multi-statement exec is one implicit transaction, which VACUUM refuses
    await db.exec(`SET maintenance_work_mem = '2GB'`);
    await db.exec(def);
    await db.exec('RESET maintenance_work_mem');
    // VACUUM sets the visibility map, so index-only scans skip the heap as they would on a settled table
    await db.exec('VACUUM ANALYZE memories');
    const buildS = (performance.now() - t) / 1000;
    const doc = { minTs, maxResolved, memories };
    await db.exec('CREATE TABLE bench_meta (complete boolean NOT NULL, doc jsonb NOT NULL)');
    await db.query('INSERT INTO bench_meta VALUES (true, $1::jsonb)', [JSON.stringify(doc)]);
    return { url, name, ...doc, insertS, buildS };
  } finally {
    await db.close();
  }
}

/** Drop the benchmark databases (idempotent). */
export async function dropBenchDbs(): Promise<void> {
  const admin = await adminDb();
  try {
    for (const size of Object.keys(SIZES)) await admin.exec(`DROP DATABASE IF EXISTS meridian_memory_bench_${size.toLowerCase()} WITH (FORCE)`);
  } finally {
    await admin.close();
  }
}

async function adminDb() {
  const { loadConfig } = await import('@meridian/config');
  const { openDb } = await import('@meridian/db');
  return openDb({ kind: 'postgres', url: loadConfig().test.databaseUrl });
}

/** Store variants measured at each size: the default first. */
const VARIANTS: readonly { tag: string; options: Record<string, number> }[] = [
  { tag: "default (exactBelow 'auto', ef_search 100)", options: {} },
  { tag: 'exactBelow 5,000', options: { exactBelow: 5000 } },
  { tag: 'exactBelow 10,000', options: { exactBelow: 10_000 } },
  { tag: 'exactBelow 20,000', options: { exactBelow: 20_000 } },
  { tag: 'ef_search 40', options: { efSearch: 40 } },
  { tag: 'HNSW always (exactBelow 1: no selectivity check, as before 0006)', options: { exactBelow: 1 } },
];

async function server(): Promise<BenchResult[]> {
  const { probePostgres } = await import('@meridian/test/support');
  const { openDb } = await import('@meridian/db');
  const { FEATURE_VERSION, SeededRandom } = await import('@meridian/market');
  const { PgMemoryStore, syntheticSituations, syntheticSymbol } = await import('@meridian/memory');
  const { loadavg } = await import('node:os');
  const probe = await probePostgres();
  if (!probe.ok) return [{ name: 'server Postgres memory recall', value: Number.NaN, unit: '-', notes: `skipped: ${probe.skipNote}` }];
  const load = () => `load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`;
  const out: BenchResult[] = [];
  const queries = [...syntheticSituations({ symbols: 1, barsPerSymbol: 3000, seed: 42 })].flat();
  const sizes = (process.env['MERIDIAN_BENCH_MEMORY_SIZES'] ?? '100k,1M').split(',') as BenchSize[];
  for (const size of sizes) {
    if (!(size in SIZES)) throw new Error(`MERIDIAN_BENCH_MEMORY_SIZES: unknown size "${size}", use 100k and/or 1M`);
    const b = await ensureBenchDb(size);
    if (b.insertS > 0) {
      out.push({ name: `server: bulk insert of ${size} memories`, value: b.insertS, unit: 's', notes: `${b.memories} memories, ${load()}` });
      out.push({ name: `server: HNSW build at ${size} (m 16, ef_construction 64)`, value: b.buildS, unit: 's', notes: load() });
    }
    const db = await openDb({ kind: 'postgres', url: b.url });
    try {
      const rng = new SeededRandom(7);
      const qs = Array.from({ length: QUERIES }, () => {
        const q = queries[Math.floor(rng.uniform() * queries.length)]!;
        return {
          v: q.features,
          o: {
            asOf: Math.round(b.minTs + rng.uniform() * (b.maxResolved - b.minTs)),
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
      for (const q of qs.slice(0, size === '1M' ? 200 : QUERIES)) {
        const t0 = performance.now();
        truth.push(new Set((await exact.recall(q.v, q.o)).neighbours.map((m) => m.memoryId)));
        exactMs.push(performance.now() - t0);
      }
      exactMs.sort((a, c) => a - c);
      out.push({ name: `server: exact recall p50 at ${size}`, value: percentile(exactMs, 50), unit: 'ms', notes: `p99 ${percentile(exactMs, 99).toFixed(1)} ms, ${load()}` });
      // one untimed pass first: the exact reference above evicted the HNSW pages from the cache,
      // which would otherwise be charged to whichever variant runs first
      const warm = new PgMemoryStore(db);
      for (const q of qs) await warm.recall(q.v, q.o);
      for (const v of VARIANTS) {
        const s = new PgMemoryStore(db, v.options);
        for (const q of qs.slice(0, 100)) await s.recall(q.v, q.o); // warm the page cache and the thresholds
        const ms: number[] = [];
        let found = 0;
        let wanted = 0;
        const before = { ...s.paths };
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
        ms.sort((a, c) => a - c);
        const p = s.paths;
        const mix = `exact ${p.exact - before.exact}, hnsw ${p.hnsw - before.hnsw}, fallback ${p.fallback - before.fallback}, SET LOCAL repeats ${p.resets - before.resets}`;
        const tag = `${size}, ${v.tag}`;
        out.push({ name: `server: recall p50 at ${tag}`, value: percentile(ms, 50), unit: 'ms', notes: `p90 ${percentile(ms, 90).toFixed(1)} ms; ${mix}` });
        out.push({ name: `server: recall p99 at ${tag}`, value: percentile(ms, 99), unit: 'ms', target: '≤ 5', notes: load() });
        out.push({ name: `server: recall@10 vs exact at ${tag}`, value: found / wanted, unit: 'fraction', target: '≥ 0.95', notes: `${truth.length} queries` });
      }
    } finally {
      await db.close();
    }
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
  const only = process.env['MERIDIAN_BENCH_MEMORY_ONLY']; // 'server' | 'in-process' while tuning one side
  const out = [...(only === 'server' ? [] : await inProcess()), ...(only === 'in-process' ? [] : await server())];
  if (only !== 'in-process' && process.env['MERIDIAN_BENCH_MEMORY_KEEP'] !== '1') await dropBenchDbs();
  return out;
}
