import { FEATURE_VERSION } from '@meridian/market';
import { describe, expect, it } from 'vitest';
import { InProcessMemoryStore } from './in-process-memory-store.ts';
import { memoryStoreSpec } from './memory-store-spec.ts';
import { memoryId } from './memory-validation.ts';
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

  it('keeps series apart whose names would run together (exchange and symbol may contain the separator)', () => {
    const store = new InProcessMemoryStore({ index: false });
    const base = { timeframe: '1m' as const, featureVersion: FEATURE_VERSION, horizonBars: 12 };
    const f = Array.from({ length: 32 }, () => 0.1);
    const a = { ...base, exchange: 'x|y', symbol: 'Z', ts: 60_000, features: f, outcome: { forwardReturn: 0.01, mfe: 0.02, mae: -0.01, resolvedAt: 780_000 } };
    const b = { ...base, exchange: 'x', symbol: 'y|Z', ts: 60_000, features: f, outcome: { forwardReturn: -0.03, mfe: 0.01, mae: -0.04, resolvedAt: 780_000 } };
    expect(store.storeSync([a, b])).toEqual({ inserted: 2, resolved: 0 });
    expect(store.size).toBe(2);
    const o = { asOf: 1e6, k: 5, scope: 'same-symbol' as const, timeframe: '1m' as const, featureVersion: FEATURE_VERSION, horizonBars: 12 };
    const ra = store.recallSync(f, { ...o, exchange: 'x|y', symbol: 'Z' });
    const rb = store.recallSync(f, { ...o, exchange: 'x', symbol: 'y|Z' });
    expect(ra.neighbours.map((m) => [m.exchange, m.symbol, m.forwardReturn, m.memoryId])).toEqual([['x|y', 'Z', 0.01, memoryId(a)]]);
    expect(rb.neighbours.map((m) => [m.exchange, m.symbol, m.forwardReturn, m.memoryId])).toEqual([['x', 'y|Z', -0.03, memoryId(b)]]);
    expect(store.recallSync(f, { ...o, scope: 'all-symbols', exchange: 'x', symbol: 'y|Z' }).neighbours).toHaveLength(2);
  });

  it('stores, resolves and recalls across books in any order: ids are memoryId(key), duplicates are ignored', () => {
    const store = new InProcessMemoryStore({ index: false });
    const key = (symbol: string, ts: number) => ({ exchange: 'e', symbol, timeframe: '1m' as const, ts, featureVersion: FEATURE_VERSION, horizonBars: 12 });
    const f = (x: number) => Array.from({ length: 32 }, () => x);
    const out = (ts: number, r: number) => ({ forwardReturn: r, mfe: 0.05, mae: -0.05, resolvedAt: ts + 720_000 });
    // interleaved series: the store's last-book shortcut must not leak one series into another
    expect(store.storeSync([{ ...key('A', 60_000), features: f(0.1) }, { ...key('B', 60_000), features: f(0.2) }, { ...key('A', 120_000), features: f(0.3) }])).toEqual({ inserted: 3, resolved: 0 });
    expect(store.storeSync([{ ...key('A', 60_000), features: f(0.9) }])).toEqual({ inserted: 0, resolved: 0 });
    expect(store.resolveSync([{ ...key('B', 60_000), ...out(60_000, 0.2) }, { ...key('A', 120_000), ...out(120_000, 0.3) }, { ...key('C', 60_000), ...out(60_000, 0.4) }])).toBe(2);
    expect(store.resolveSync([{ ...key('B', 60_000), ...out(60_000, 0.7) }])).toBe(0); // the first outcome wins
    expect(store.storeSync([{ ...key('A', 60_000), features: f(0.1), outcome: out(60_000, 0.1) }])).toEqual({ inserted: 0, resolved: 1 });
    expect(store.size).toBe(3);
    const o = { asOf: 1e7, k: 5, scope: 'same-symbol' as const, timeframe: '1m' as const, featureVersion: FEATURE_VERSION, horizonBars: 12, exchange: 'e' };
    const a = store.recallSync(f(0.1), { ...o, symbol: 'A' });
    expect(a.neighbours.map((m) => [m.ts, m.forwardReturn, m.memoryId])).toEqual([
      [60_000, 0.1, memoryId(key('A', 60_000))],
      [120_000, 0.3, memoryId(key('A', 120_000))],
    ]);
    expect(store.recallSync(f(0.1), { ...o, symbol: 'B' }).neighbours.map((m) => [m.forwardReturn, m.memoryId])).toEqual([[0.2, memoryId(key('B', 60_000))]]);
    // the same series again, then another horizon of it: a different comparable set, empty
    expect(store.recallSync(f(0.1), { ...o, symbol: 'A' })).toEqual(a);
    expect(store.recallSync(f(0.1), { ...o, symbol: 'A', horizonBars: 6 }).neighbours).toEqual([]);
  });
});

describe('InProcessMemoryStore.reserve', () => {
  it('is a capacity hint only: the same answers with and without it; a non-positive or fractional count is refused', () => {
    const fill = (reserve: boolean) => {
      const store = new InProcessMemoryStore({ index: { exactBelow: 256 } });
      if (reserve) store.reserve({ exchange: 'synthetic', symbol: 'S0/USDT', timeframe: '5m', featureVersion: FEATURE_VERSION, horizonBars: 12 }, 1500);
      for (const b of syntheticSituations({ symbols: 1, barsPerSymbol: 1200, seed: 5, horizonBars: 12 })) store.storeSync(b);
      return store;
    };
    const a = fill(false);
    const b = fill(true);
    const q = [...syntheticSituations({ symbols: 1, barsPerSymbol: 300, seed: 9 })].flat();
    const o = { asOf: 8e15, k: 10, scope: 'same-symbol' as const, exchange: 'synthetic', symbol: 'S0/USDT', timeframe: '5m' as const, featureVersion: FEATURE_VERSION, horizonBars: 12 };
    for (let i = 0; i < q.length; i += 20) expect(b.recallSync(q[i]!.features, o)).toEqual(a.recallSync(q[i]!.features, o));
    expect(b.indexStats()[0]!.graphSize).toBe(a.indexStats()[0]!.graphSize);
    const key = { exchange: 'synthetic', symbol: 'S0/USDT', timeframe: '5m' as const, featureVersion: FEATURE_VERSION, horizonBars: 12 };
    expect(() => a.reserve(key, 0)).toThrow(/positive integer/);
    expect(() => a.reserve(key, 2.5)).toThrow(/positive integer/);
  });
});

describe('InProcessMemoryStore.nearestColumns', () => {
  it('answers with the neighbours of recallSync, in its order, as columns: one series object per series, entries in resolution order', () => {
    const store = new InProcessMemoryStore({ index: { exactBelow: 512 } });
    for (const b of syntheticSituations({ symbols: 3, barsPerSymbol: 1500, seed: 11, horizonBars: 12 })) store.storeSync(b);
    const queries = [...syntheticSituations({ symbols: 1, barsPerSymbol: 400, seed: 4 })].flat();
    const seen = new Map<string, object>();
    let compared = 0;
    for (const [i, q] of queries.entries()) {
      const o = { asOf: 8e15, k: 20, scope: i % 2 ? ('same-symbol' as const) : ('all-symbols' as const), exchange: 'synthetic', symbol: 'S1/USDT', timeframe: '5m' as const, featureVersion: FEATURE_VERSION, horizonBars: 12 };
      const want = store.recallSync(q.features, o).neighbours;
      const c = store.nearestColumns(q.features, o);
      expect(c.size).toBe(want.length);
      for (let j = 0; j < c.size; j++) {
        const m = want[j]!;
        expect(c.recalled(j)).toEqual(m);
        expect([c.ts[j], c.distance[j], c.forwardReturn[j], c.mfe[j], c.mae[j], c.resolvedAt[j]]).toEqual([m.ts, m.distance, m.forwardReturn, m.mfe, m.mae, m.resolvedAt]);
        const s = c.series(j);
        expect([s.exchange, s.symbol, s.timeframe, s.featureVersion, s.horizonBars]).toEqual([m.exchange, m.symbol, m.timeframe, FEATURE_VERSION, 12]);
        // one object per series, for the store's life: a caller may key a table by it
        const key = `${s.exchange}|${s.symbol}`;
        if (!seen.has(key)) seen.set(key, s);
        expect(seen.get(key)).toBe(s);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(3000);
    expect(seen.size).toBe(3); // all-symbols recalls reached every series
    // entry = the memory's position in its series in resolution order: the synthetic series resolve in ts order
    const c = store.nearestColumns(queries[0]!.features, { asOf: 8e15, k: 20, scope: 'same-symbol', exchange: 'synthetic', symbol: 'S0/USDT', timeframe: '5m', featureVersion: FEATURE_VERSION, horizonBars: 12 });
    const byTs = [...syntheticSituations({ symbols: 3, barsPerSymbol: 1500, seed: 11, horizonBars: 12 })].flat().filter((s) => s.symbol === 'S0/USDT' && s.outcome !== undefined).map((s) => s.ts).sort((a, b) => a - b);
    for (let j = 0; j < c.size; j++) expect(byTs[c.entry[j]!]).toBe(c.ts[j]);
    expect(() => c.recalled(c.size)).toThrow(RangeError);
    expect(() => c.series(-1)).toThrow(RangeError);
  });
});
