import { FEATURE_VERSION } from '@meridian/market';
import { describe, expect, it } from 'vitest';
import { InProcessMemoryStore } from './in-process-memory-store.ts';
import { memoryStoreSpec } from './memory-store-spec.ts';
import { syntheticSituations } from './synthetic-memories.ts';

memoryStoreSpec('InProcessMemoryStore (exact)', async () => ({ store: new InProcessMemoryStore({ ivf: false }), close: async () => undefined }));
// the IVF index trains at 64 memories here, so the spec's larger sets go through the approximate path
// with every list probed (nprobe = nlist): it must then agree exactly with brute force
memoryStoreSpec('InProcessMemoryStore (IVF, all lists probed)', async () => ({
  store: new InProcessMemoryStore({ ivf: { trainAt: 64, nlist: 8, nprobe: 16, retrainAt: 200, nlistLarge: 16 } }),
  close: async () => undefined,
}));

describe('InProcessMemoryStore IVF', () => {
  it('keeps point-in-time and scope filters exact while approximating the distance order, and is deterministic', () => {
    const run = () => {
      const store = new InProcessMemoryStore({ ivf: { trainAt: 1024, nlist: 32, nprobe: 4, retrainAt: 8192, nlistLarge: 64 } });
      for (const b of syntheticSituations({ symbols: 3, barsPerSymbol: 4000, seed: 3, horizonBars: 12 })) store.storeSync(b);
      return store;
    };
    const a = run();
    const b = run();
    expect(a.indexStats()[0]).toMatchObject({ lists: 64, trainings: 2 });
    const queries = [...syntheticSituations({ symbols: 1, barsPerSymbol: 600, seed: 77 })].flat().slice(0, 60);
    const tsAll = [...syntheticSituations({ symbols: 1, barsPerSymbol: 4000, seed: 3 })].flat().map((s) => s.ts);
    let hits = 0;
    let total = 0;
    queries.forEach((q, i) => {
      const asOf = tsAll[Math.floor((i / queries.length) * tsAll.length)]!;
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
    // approximate, but not arbitrary: most true neighbours are found (the bench measures the full-scale figure)
    expect(hits / total).toBeGreaterThan(0.8);
  });
});
