import type { Db } from '@meridian/db';
import type { Situation } from '@meridian/memory';
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
 *    narrow a run while tuning; MERIDIAN_BENCH_MEMORY_AB_URL=<another server> adds a head-to-head
 *    of the 1M database on both servers (headToHead);
 *  - InProcessMemoryStore: a year of 1m bars (525,600), store + resolve + recall on every bar as
 *    the backtest does, µs per bar and recall@10 of its index against exact.
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
  /** all indexes + VACUUM ANALYZE, of which the global HNSW index and the series indexes */
  readonly buildS: number;
  readonly globalS: number;
  readonly seriesS: number;
  /** the all-symbols time tiers (ensureTimeTiers); also when built for a reused database */
  readonly tiersS: number;
}

/** The comparable set of the benchmark data: every symbol's 5m memories at horizon 12. */
const BENCH_SET = { timeframe: '5m', horizonBars: 12 } as const;

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
          // and the time tiers, for a database built before they existed (nothing to do otherwise)
          const t = performance.now();
          const tiers = await new PgMemoryStore(db).ensureTimeTiers(BENCH_SET);
          const tiersS = tiers.some((x) => x.created) ? (performance.now() - t) / 1000 : 0;
          return { url, name, ...meta.rows[0].doc, insertS: 0, buildS: tiersS, globalS: 0, seriesS: 0, tiersS };
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
    // bulk load without HNSW indexes, then build them once (far faster than growing them row by
    // row): the global one (0003) and one per series (0007; seriesIndexes: false while loading)
    const def = (await db.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE indexname = 'memories_embedding_v1_hnsw'")).rows[0]!.indexdef;
    await db.exec('DROP INDEX memories_embedding_v1_hnsw');
    const store = new PgMemoryStore(db, { batchSize: 5000, seriesIndexes: false });
    let minTs = Infinity;
    let maxResolved = 0;
    let memories = 0;
    const series = new Map<string, Situation>();
    let t = performance.now();
    for (const batch of syntheticSituations({ symbols: 10, barsPerSymbol: SIZES[size], seed: 1 })) {
      memories += (await store.store(batch)).inserted;
      for (const s of batch) {
        minTs = Math.min(minTs, s.ts);
        if (s.outcome) maxResolved = Math.max(maxResolved, s.outcome.resolvedAt);
        series.set(s.symbol, s);
      }
    }
    const insertS = (performance.now() - t) / 1000;
    t = performance.now();
    // session settings in a transaction (SET LOCAL): a pool does not promise the next statement the same connection
    const build = (fn: (tx: Db) => Promise<unknown>) =>
      db.transaction(async (tx) => {
        await tx.exec(`SET LOCAL maintenance_work_mem = '1GB'; SET LOCAL max_parallel_maintenance_workers = 2`);
        await fn(tx);
      });
    await build((tx) => tx.exec(def));
    const globalS = (performance.now() - t) / 1000;
    for (const s of series.values()) await build((tx) => new PgMemoryStore(tx).ensureSeriesIndexes([s]));
    const seriesDone = performance.now();
    // the all-symbols time tiers (docs/memory.md "Time tiers"), as `meridian memory build` makes them
    await new PgMemoryStore(db).ensureTimeTiers(BENCH_SET);
    const tiersS = (performance.now() - seriesDone) / 1000;
    // VACUUM (outside a transaction) sets the visibility map, so index-only scans skip the heap as
    // they would on a settled table, and gives every index its statistics
    await db.exec('VACUUM ANALYZE memories');
    const buildS = (performance.now() - t) / 1000;
    const seriesS = buildS - globalS - tiersS;
    const doc = { minTs, maxResolved, memories };
    await db.exec('CREATE TABLE bench_meta (complete boolean NOT NULL, doc jsonb NOT NULL)');
    await db.query('INSERT INTO bench_meta VALUES (true, $1::jsonb)', [JSON.stringify(doc)]);
    return { url, name, ...doc, insertS, buildS, globalS, seriesS, tiersS };
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
const VARIANTS: readonly { tag: string; options: Record<string, number | boolean> }[] = [
  { tag: "default (series indexes, time tiers, exactBelow 'auto', ef_search 40)", options: {} },
  { tag: 'ef_search 100 (the default before migration 0008; SET LOCAL per recall)', options: { efSearch: 100 } },
  { tag: 'exactBelow 5,000', options: { exactBelow: 5000 } },
  { tag: 'exactBelow 20,000', options: { exactBelow: 20_000 } },
  { tag: 'HNSW always (exactBelow 1)', options: { exactBelow: 1 } },
  { tag: 'global index only (seriesSearch false: as before 0007)', options: { seriesSearch: false } },
];

async function server(): Promise<BenchResult[]> {
  const { probePostgres } = await import('@meridian/test/support');
  const { openDb } = await import('@meridian/db');
  const { PgMemoryStore, syntheticSituations } = await import('@meridian/memory');
  const { loadavg } = await import('node:os');
  const probe = await probePostgres();
  if (!probe.ok) return [{ name: 'server Postgres memory recall', value: Number.NaN, unit: '-', notes: `skipped: ${probe.skipNote}` }];
  const load = () => `load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`;
  const out: BenchResult[] = [];
  const queries = [...syntheticSituations({ symbols: 1, barsPerSymbol: 3000, seed: 42 })].flat();
  // empty: no size (e.g. only the head to head below)
  const sizes = (process.env['MERIDIAN_BENCH_MEMORY_SIZES'] ?? '100k,1M').split(',').filter(Boolean) as BenchSize[];
  for (const size of sizes) {
    if (!(size in SIZES)) throw new Error(`MERIDIAN_BENCH_MEMORY_SIZES: unknown size "${size}", use 100k and/or 1M`);
    const b = await ensureBenchDb(size);
    if (b.insertS === 0 && b.tiersS > 0) {
      out.push({ name: `server: time tiers built for the existing ${size} database`, value: b.tiersS, unit: 's', notes: load() });
    }
    if (b.insertS > 0) {
      out.push({ name: `server: bulk insert of ${size} memories`, value: b.insertS, unit: 's', notes: `${b.memories} memories, ${load()}` });
      out.push({
        name: `server: index build at ${size} (HNSW m 16, ef_construction 64: global + 10 series + all-symbols time tiers; VACUUM ANALYZE)`,
        value: b.buildS,
        unit: 's',
        notes: `global ${b.globalS.toFixed(0)} s, series ${b.seriesS.toFixed(0)} s, time tiers ${b.tiersS.toFixed(0)} s; ${load()}`,
      });
    }
    const db = await openDb({ kind: 'postgres', url: b.url });
    try {
      const qs = await recallQueries(queries, b.minTs, b.maxResolved);
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
      // the variants take turns, 100 queries each, so a change of the machine's load hits them all alike
      const runs = VARIANTS.map((v) => ({ v, s: new PgMemoryStore(db, v.options), ms: [] as { scope: string; ms: number; found: number; wanted: number }[] }));
      for (const r of runs) for (const q of qs.slice(0, 100)) await r.s.recall(q.v, q.o); // warm the page cache and the thresholds
      const befores = runs.map((r) => ({ ...r.s.paths }));
      const loadAtStart = load();
      for (let from = 0; from < qs.length; from += 100) {
        for (const r of runs) {
          for (let i = from; i < Math.min(qs.length, from + 100); i++) {
            const q = qs[i]!;
            const t0 = performance.now();
            const got = await r.s.recall(q.v, q.o);
            const took = performance.now() - t0;
            const want = truth[i];
            const found = want ? got.neighbours.filter((m) => want.has(m.memoryId)).length : 0;
            r.ms.push({ scope: q.o.scope, ms: took, found, wanted: want?.size ?? 0 });
          }
        }
      }
      const loads = `${loadAtStart} → ${load().replace('load ', '')}`;
      for (const [ri, { v, s, ms }] of runs.entries()) {
        const before = befores[ri]!;
        const p = s.paths;
        const mix = `exact ${p.exact - before.exact}, hnsw ${p.hnsw - before.hnsw}, fallback ${p.fallback - before.fallback}, SET LOCAL repeats ${p.resets - before.resets}`;
        const tag = `${size}, ${v.tag}`;
        const stats = (scope: string | null) => {
          const xs = ms.filter((x) => scope === null || x.scope === scope);
          const sorted = xs.map((x) => x.ms).sort((a, c) => a - c);
          const wanted = xs.reduce((a, x) => a + x.wanted, 0);
          return { n: xs.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), recall: xs.reduce((a, x) => a + x.found, 0) / wanted, queries: xs.filter((x) => x.wanted > 0).length };
        };
        const all = stats(null);
        out.push({ name: `server: recall p50 at ${tag}`, value: all.p50, unit: 'ms', notes: `p90 ${all.p90.toFixed(1)} ms; ${mix}` });
        out.push({ name: `server: recall p99 at ${tag}`, value: all.p99, unit: 'ms', target: '≤ 5', notes: loads });
        out.push({ name: `server: recall@10 vs exact at ${tag}`, value: all.recall, unit: 'fraction', target: '≥ 0.95', notes: `${truth.length} queries` });
        for (const scope of ['same-symbol', 'all-symbols']) {
          const x = stats(scope);
          out.push({
            name: `server: ${scope} recall p99 at ${tag}`,
            value: x.p99,
            unit: 'ms',
            target: '≤ 5',
            notes: `p50 ${x.p50.toFixed(2)} ms, p90 ${x.p90.toFixed(1)} ms, ${x.n} queries; recall@10 ${x.recall.toFixed(3)} (${x.queries} checked)`,
          });
        }
      }
    } finally {
      await db.close();
    }
  }
  return out;
}

/**
 * Head to head: the same 1M bench database on the test server and on another one
 * (MERIDIAN_BENCH_MEMORY_AB_URL, a server URL like TEST_DATABASE_URL, e.g. one with more shared
 * buffers, whose `meridian_memory_bench_1m` was built by running this benchmark against it), the
 * default store on both, the same 500 queries, 100 at a time alternating between the servers after
 * one untimed pass, so both see the same machine load.
 */
async function headToHead(otherUrl: string): Promise<BenchResult[]> {
  const { openDb } = await import('@meridian/db');
  const { PgMemoryStore, syntheticSituations } = await import('@meridian/memory');
  const { loadavg } = await import('node:os');
  const here = await ensureBenchDb('1M');
  const there = new URL(otherUrl);
  there.pathname = `/${here.name}`;
  const sides = [
    { tag: 'test server', db: await openDb({ kind: 'postgres', url: here.url }) },
    { tag: `${there.host}`, db: await openDb({ kind: 'postgres', url: there.toString() }) },
  ];
  try {
    const queries = [...syntheticSituations({ symbols: 1, barsPerSymbol: 3000, seed: 42 })].flat();
    const qs = await recallQueries(queries, here.minTs, here.maxResolved);
    const runs = sides.map((x) => ({ ...x, s: new PgMemoryStore(x.db), ms: [] as number[], setting: '' }));
    for (const r of runs) {
      r.setting = (await r.db.query<{ v: string }>('SELECT current_setting($1) AS v', ['shared_buffers'])).rows[0]!.v;
      for (const q of qs) await r.s.recall(q.v, q.o);
    }
    const l0 = loadavg()[0]!.toFixed(1);
    for (let from = 0; from < qs.length; from += 100) {
      for (const r of runs) {
        for (const q of qs.slice(from, from + 100)) {
          const t0 = performance.now();
          await r.s.recall(q.v, q.o);
          r.ms.push(performance.now() - t0);
        }
      }
    }
    const loads = `load ${l0} → ${loadavg()[0]!.toFixed(1)}`;
    return runs.flatMap((r) => {
      const sorted = [...r.ms].sort((a, c) => a - c);
      return [{ name: `server: head to head at 1M, ${r.tag} (shared_buffers ${r.setting}), recall p99`, value: percentile(sorted, 99), unit: 'ms', target: '≤ 5', notes: `p50 ${percentile(sorted, 50).toFixed(2)} ms; ${loads}` }];
    });
  } finally {
    for (const x of sides) await x.db.close();
  }
}

async function inProcess(): Promise<BenchResult[]> {
  const { FEATURE_VERSION, FeatureEngine, generateBars } = await import('@meridian/market');
  const { InProcessMemoryStore, MemoryBuilder } = await import('@meridian/memory');
  const { loadavg } = await import('node:os');
  const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
  const BARS = 525_600;
  const K = 20; // what the backtest recalls
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
  let writeMs = 0;
  const loadBefore = load();
  const c0 = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    // the backtest's order: outcomes known at this close, this bar's situation, then the recall
    const w = performance.now();
    if (s.outcome) store.resolveSync([s.outcome]);
    if (s.situation) store.storeSync([s.situation]);
    writeMs += performance.now() - w;
    if (!s.situation) continue;
    const o = { asOf: s.situation.ts, k: K, scope: 'same-symbol' as const, exchange: 'x', symbol: 'BTC/USDT', timeframe: '1m' as const, featureVersion: FEATURE_VERSION };
    const r = store.recallSync(s.situation.features, o);
    if (i % 1000 === 0 && i > 50_000) {
      const c = performance.now();
      const want = new Set(store.recallExactSync(s.situation.features, o).neighbours.slice(0, 10).map((m) => m.memoryId));
      wanted += want.size;
      found += r.neighbours.slice(0, 10).filter((m) => want.has(m.memoryId)).length;
      checkMs += performance.now() - c;
    }
  }
  const ms = performance.now() - t - checkMs;
  const cpu = process.cpuUsage(c0);
  // the exact checks ran on this thread too: take their wall time off the CPU time (an upper bound of their CPU)
  const cpuMs = (cpu.user + cpu.system) / 1000 - checkMs;
  const st = store.indexStats()[0]!;
  const perBar = (x: number) => (x * 1000) / steps.length;
  return [
    {
      name: `in-process: resolve + store + recall (k ${K}) per 1m bar, 525,600 bars`,
      value: perBar(ms),
      unit: 'µs/bar',
      target: '≤ 40',
      notes: `${Math.round((steps.length / ms) * 1000)} bars/s; CPU ${perBar(cpuMs).toFixed(1)} µs/bar; writes ${perBar(writeMs).toFixed(1)} µs/bar; load ${loadBefore} → ${load()}`,
    },
    {
      name: 'in-process: HNSW recall@10 vs exact (k 20, after 50,000 bars)',
      value: found / wanted,
      unit: 'fraction',
      target: '≥ 0.95',
      notes: `${wanted / 10} sampled bars; ${st.size} memories, graph ${st.graphSize}, top layer ${st.maxLevel}; searches ${JSON.stringify(st.paths)}, warm starts ${st.warmStarts}, inserts from a recall ${st.hintedInserts}`,
    },
  ];
}

/**
 * The timed recall queries (seeded, the same in every run): a stored situation's features, `asOf` uniform over
 * the data's span, half same-symbol, k = 10.
 */
async function recallQueries(queries: readonly { features: ArrayLike<number> }[], minTs: number, maxResolved: number) {
  const { FEATURE_VERSION, SeededRandom } = await import('@meridian/market');
  const { syntheticSymbol } = await import('@meridian/memory');
  const rng = new SeededRandom(7);
  return Array.from({ length: QUERIES }, () => {
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
}

export async function run(): Promise<BenchResult[]> {
  const only = process.env['MERIDIAN_BENCH_MEMORY_ONLY']; // 'server' | 'in-process' while tuning one side
  const out = [...(only === 'server' ? [] : await inProcess()), ...(only === 'in-process' ? [] : await server())];
  const other = process.env['MERIDIAN_BENCH_MEMORY_AB_URL'];
  if (other && only !== 'in-process') out.push(...(await headToHead(other)));
  if (only !== 'in-process' && process.env['MERIDIAN_BENCH_MEMORY_KEEP'] !== '1') await dropBenchDbs();
  return out;
}
