import { FEATURE_VERSION } from '@meridian/market';
import { describe, expect, it } from 'vitest';
import { InProcessMemoryStore } from './in-process-memory-store.ts';
import { memoryStoreSpec } from './memory-store-spec.ts';
import { syntheticSituations } from './synthetic-memories.ts';

memoryStoreSpec('InProcessMemoryStore (exact)', async () => ({ store: new InProcessMemoryStore({ index: false }), close: async () => undefined }));
// the default HNSW settings: the spec's sets are below exactBelow, so this checks that small sets stay exact
memoryStoreSpec('InProcessMemoryStore (HNSW defaults)', async () => ({ store: new InProcessMemoryStore(), close: async () => undefined }));

describe('InProcessMemoryStore HNSW', () => {
  it('keeps point-in-time and scope filters exact while approximating the distance order, and is deterministic', () => {
    const run = () => {
      const store = new InProcessMemoryStore({ index: { exactBelow: 1024 } });
      for (const b of syntheticSituations({ symbols: 3, barsPerSymbol: 6000, seed: 3, horizonBars: 12 })) store.storeSync(b);
      return store;
    };
    const a = run();
    const b = run();
    const stats = a.indexStats();
    expect(stats.map((s) => s.series)).toEqual(['synthetic|S0/USDT', 'synthetic|S1/USDT', 'synthetic|S2/USDT']);
    for (const s of stats) expect(s.graphSize).toBe(s.size); // above exactBelow every memory is in the graph
    const queries = [...syntheticSituations({ symbols: 1, barsPerSymbol: 800, seed: 77 })].flat().slice(0, 80);
    const tsAll = [...syntheticSituations({ symbols: 1, barsPerSymbol: 6000, seed: 3 })].flat().map((s) => s.ts);
    let hits = 0;
    let total = 0;
    queries.forEach((q, i) => {
      // late asOf (most memories visible: the graph answers) for most queries, early ones (exact) for some
      const asOf = tsAll[Math.floor(((i % 4 === 0 ? 0.3 : 0.95) + (i % 7) * 0.007) * tsAll.length)]!;
      const o = { asOf, k: 10, scope: i % 2 ? ('same-symbol' as const) : ('all-symbols' as const), exchange: 'synthetic', symbol: 'S1/USDT', timeframe: '5m' as const, featureVersion: FEATURE_VERSION };
      const r = a.recallSync(q.features, o);
      expect(b.recallSync(q.features, o)).toEqual(r);
      for (const m of r.neighbours) {
        expect(m.resolvedAt).toBeLessThanOrEqual(asOf);
        if (o.scope === 'same-symbol') expect(m.symbol).toBe('S1/USDT');
      }
      const exact = a.recallExactSync(q.features, o);
      expect(r.neighbours.length).toBe(exact.neighbours.length);
      const want = new Set(exact.neighbours.map((m) => m.memoryId));
      total += want.size;
      hits += r.neighbours.filter((m) => want.has(m.memoryId)).length;
    });
    const paths = a.indexStats().reduce((acc, s) => ({ exact: acc.exact + s.paths.exact, hnsw: acc.hnsw + s.paths.hnsw }), { exact: 0, hnsw: 0 });
    expect(paths.hnsw).toBeGreaterThan(50);
    expect(paths.exact).toBeGreaterThan(10);
    expect(hits / total).toBeGreaterThanOrEqual(0.95);
  });

  it('gives the same answers as exact search while a series is below exactBelow', () => {
    const hnsw = new InProcessMemoryStore();
    const exact = new InProcessMemoryStore({ index: false });
    for (const b of syntheticSituations({ symbols: 2, barsPerSymbol: 2500, seed: 5 })) {
      hnsw.storeSync(b);
      exact.storeSync(b);
    }
    const queries = [...syntheticSituations({ symbols: 1, barsPerSymbol: 400, seed: 9 })].flat();
    for (const [i, q] of queries.entries()) {
      const o = { asOf: q.ts + 1e9, k: 20, scope: i % 2 ? ('same-symbol' as const) : ('all-symbols' as const), exchange: 'synthetic', symbol: 'S0/USDT', timeframe: '5m' as const, featureVersion: FEATURE_VERSION };
      expect(hnsw.recallSync(q.features, o)).toEqual(exact.recallSync(q.features, o));
    }
    expect(hnsw.indexStats().every((s) => s.graphSize === 0)).toBe(true);
  });

  it('a backtest-shaped run (resolve, store, recall every bar) reuses recalls for inserts and stays accurate', () => {
    const bars = [...syntheticSituations({ symbols: 1, barsPerSymbol: 9000, seed: 11, timeframe: '1m' })].flat().sort((x, y) => x.ts - y.ts);
    const store = new InProcessMemoryStore({ index: { exactBelow: 1000 } });
    const byResolve = [...bars].filter((s) => s.outcome).sort((x, y) => x.outcome!.resolvedAt - y.outcome!.resolvedAt);
    let next = 0;
    let hits = 0;
    let total = 0;
    for (const [i, s] of bars.entries()) {
      // the outcomes known by this bar's close, then this bar's situation, then the recall, as the backtest does
      while (next < byResolve.length && byResolve[next]!.outcome!.resolvedAt <= s.ts) {
        const r = byResolve[next++]!;
        store.resolveSync([{ exchange: r.exchange, symbol: r.symbol, timeframe: r.timeframe, ts: r.ts, featureVersion: r.featureVersion, horizonBars: r.horizonBars, ...r.outcome! }]);
      }
      store.storeSync([{ exchange: s.exchange, symbol: s.symbol, timeframe: s.timeframe, ts: s.ts, featureVersion: s.featureVersion, horizonBars: s.horizonBars, features: s.features }]);
      const o = { asOf: s.ts, k: 20, scope: 'same-symbol' as const, exchange: s.exchange, symbol: s.symbol, timeframe: s.timeframe, featureVersion: s.featureVersion };
      const r = store.recallSync(s.features, o);
      for (const m of r.neighbours) expect(m.resolvedAt).toBeLessThanOrEqual(s.ts);
      if (i % 50 === 0 && i > 2000) {
        const want = new Set(store.recallExactSync(s.features, o).neighbours.slice(0, 10).map((m) => m.memoryId));
        total += want.size;
        hits += r.neighbours.slice(0, 10).filter((m) => want.has(m.memoryId)).length;
      }
    }
    const [st] = store.indexStats();
    expect(st!.size).toBe(byResolve.length);
    // most inserts took their candidates from the recall made with the same features `horizon` bars earlier
    expect(st!.hintedInserts).toBeGreaterThan(0.8 * (st!.graphSize - 1000));
    expect(hits / total).toBeGreaterThanOrEqual(0.95);
  });
});
