import { MemoryRecallSchema, type MemoryRecall, type Timeframe } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { FEATURE_DIM, FEATURE_VERSION, SeededRandom } from '@meridian/market';
import { describe, expect, it } from 'vitest';
import type { MemoryStore, RecallOptions, Situation } from './memory-store.ts';
import { memoryId } from './memory-validation.ts';

/**
 * The one behaviour every MemoryStore must have. Run by in-process-memory-store.test.ts,
 * pg-memory-store.test.ts (PGlite) and pg-memory-store.int.test.ts (server Postgres).
 * `open` gives an empty store and its clean-up.
 */
export type OpenMemoryStore = () => Promise<{ store: MemoryStore; close(): Promise<void> }>;

const T0 = Date.UTC(2024, 0, 1);
const FAR = Date.UTC(2100, 0, 1);
const TF: Timeframe = '5m';
const TF_MS = 300_000;
const H = 12;

function vec(rng: SeededRandom, dim = FEATURE_DIM): number[] {
  // rounded to float32-exact values so every engine computes the same distances
  return Array.from({ length: dim }, () => Math.fround(rng.uniform() * 2 - 1));
}

interface Fixture {
  readonly s: Situation;
  readonly resolvedAt: number;
}

/** n resolved memories of one series, bar i closing at T0 + (i+1)·tf, resolved h bars later. */
function series(rng: SeededRandom, n: number, over: Partial<Situation> = {}): Fixture[] {
  return Array.from({ length: n }, (_, i) => {
    const ts = T0 + (i + 1) * TF_MS;
    const resolvedAt = ts + H * TF_MS;
    const s: Situation = {
      exchange: 'binance',
      symbol: 'BTC/USDT',
      timeframe: TF,
      ts,
      featureVersion: FEATURE_VERSION,
      horizonBars: H,
      features: vec(rng),
      outcome: { forwardReturn: Math.round((rng.uniform() - 0.5) * 2000) / 1e5, mfe: 0.01, mae: -0.01, resolvedAt },
      ...over,
    };
    return { s, resolvedAt: s.outcome?.resolvedAt ?? resolvedAt };
  });
}

function dist(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

/** The exact answer computed here from the fixtures: what every store must return. */
function expected(fx: readonly Fixture[], q: number[], o: RecallOptions): { id: string; distance: number }[] {
  return fx
    .filter(({ s }) => s.outcome && s.outcome.resolvedAt <= o.asOf && s.featureVersion === o.featureVersion && s.timeframe === o.timeframe)
    .filter(({ s }) => s.horizonBars === (o.horizonBars ?? H))
    .filter(({ s }) => o.scope === 'all-symbols' || (s.exchange === o.exchange && s.symbol === o.symbol))
    .map(({ s }) => ({ id: memoryId(s), distance: dist(s.features, q) }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, o.k);
}

function base(asOf: number, k = 10): RecallOptions {
  return { asOf, k, scope: 'same-symbol', exchange: 'binance', symbol: 'BTC/USDT', timeframe: TF, featureVersion: FEATURE_VERSION };
}

function expectSame(r: MemoryRecall, want: { id: string; distance: number }[]): void {
  expect(() => MemoryRecallSchema.parse(r)).not.toThrow();
  expect(r.neighbours.map((m) => m.memoryId)).toEqual(want.map((w) => w.id));
  r.neighbours.forEach((m, i) => expect(m.distance).toBeCloseTo(want[i]!.distance, 5));
}

export function memoryStoreSpec(label: string, open: OpenMemoryStore): void {
  const withStore = async (fn: (store: MemoryStore) => Promise<void>): Promise<void> => {
    const h = await open();
    try {
      await fn(h.store);
    } finally {
      await h.close();
    }
  };

  describe(`MemoryStore spec: ${label}`, () => {
    it('point-in-time: never returns a memory resolved after asOf, and returns exactly the nearest resolved by then', () =>
      withStore(async (store) => {
        const rng = new SeededRandom(1);
        const fx = series(rng, 300);
        await store.store(fx.map((f) => f.s));
        const last = fx.at(-1)!.resolvedAt;
        for (let t = 0; t < 12; t++) {
          const q = vec(rng);
          const asOf = T0 + Math.floor(rng.uniform() * (last - T0 + TF_MS));
          const r = await store.recall(q, base(asOf));
          for (const m of r.neighbours) expect(m.resolvedAt).toBeLessThanOrEqual(asOf);
          expectSame(r, expected(fx, q, base(asOf)));
        }
      }));

    it('point-in-time boundary: resolved exactly at asOf is visible, one millisecond later is not', () =>
      withStore(async (store) => {
        const rng = new SeededRandom(2);
        const fx = series(rng, 3);
        await store.store(fx.map((f) => f.s));
        const t1 = fx[1]!.resolvedAt;
        const at = await store.recall(fx[1]!.s.features, base(t1));
        expect(at.neighbours.map((m) => m.ts)).toContain(fx[1]!.s.ts);
        const before = await store.recall(fx[1]!.s.features, base(t1 - 1));
        expect(before.neighbours.map((m) => m.ts)).toEqual([fx[0]!.s.ts]);
        const none = await store.recall(fx[1]!.s.features, base(fx[0]!.resolvedAt - 1));
        expect(none.neighbours).toEqual([]);
        expect(none.stats).toEqual({ n: 0, meanReturn: 0, medianReturn: 0, hitRate: 0, dispersion: 0 });
      }));

    it('an unresolved situation is never recalled; after resolve() it is, from its resolvedAt on', () =>
      withStore(async (store) => {
        const rng = new SeededRandom(3);
        const [f] = series(rng, 1);
        const { outcome, ...situation } = f!.s;
        expect(await store.store([situation])).toEqual({ inserted: 1, resolved: 0 });
        expect((await store.recall(situation.features, base(FAR))).neighbours).toEqual([]);
        const o = { ...situation, ...outcome! };
        expect(await store.resolve([o])).toBe(1);
        expect((await store.recall(situation.features, base(o.resolvedAt - 1))).neighbours).toEqual([]);
        const r = await store.recall(situation.features, base(o.resolvedAt));
        expect(r.neighbours).toHaveLength(1);
        expect(r.neighbours[0]).toMatchObject({ memoryId: memoryId(situation), forwardReturn: o.forwardReturn, mfe: 0.01, mae: -0.01, resolvedAt: o.resolvedAt });
        expect(r.neighbours[0]!.distance).toBeCloseTo(0, 6);
      }));

    it('is idempotent: a situation stored twice is one memory, and the first outcome wins', () =>
      withStore(async (store) => {
        const rng = new SeededRandom(4);
        const [f] = series(rng, 1);
        const { outcome, ...situation } = f!.s;
        expect(await store.store([situation, situation])).toEqual({ inserted: 1, resolved: 0 });
        expect(await store.store([situation])).toEqual({ inserted: 0, resolved: 0 });
        expect(await store.resolve([{ ...situation, ...outcome! }])).toBe(1);
        expect(await store.resolve([{ ...situation, ...outcome!, forwardReturn: 0.5 }])).toBe(0);
        // a rebuild that brings the outcome along changes nothing either
        expect(await store.store([{ ...situation, outcome: { ...outcome!, forwardReturn: 0.7 } }])).toEqual({ inserted: 0, resolved: 0 });
        const r = await store.recall(situation.features, base(FAR));
        expect(r.neighbours.map((m) => m.forwardReturn)).toEqual([outcome!.forwardReturn]);
      }));

    it('store() with an outcome fills in a situation stored earlier without one', () =>
      withStore(async (store) => {
        const rng = new SeededRandom(5);
        const [f] = series(rng, 1);
        const { outcome, ...situation } = f!.s;
        await store.store([situation]);
        expect(await store.store([f!.s])).toEqual({ inserted: 0, resolved: 1 });
        expect((await store.recall(situation.features, base(outcome!.resolvedAt))).neighbours).toHaveLength(1);
      }));

    it('scope: same-symbol sees one exchange and symbol, all-symbols sees every series', () =>
      withStore(async (store) => {
        const rng = new SeededRandom(6);
        const fx = [
          ...series(rng, 40),
          ...series(rng, 40, { symbol: 'ETH/USDT' }),
          ...series(rng, 40, { exchange: 'kraken' }), // same symbol, other exchange
        ];
        await store.store(fx.map((f) => f.s));
        const asOf = FAR;
        for (let t = 0; t < 5; t++) {
          const q = vec(rng);
          const same = await store.recall(q, base(asOf, 15));
          expect(new Set(same.neighbours.map((m) => `${m.exchange} ${m.symbol}`))).toEqual(new Set(['binance BTC/USDT']));
          expectSame(same, expected(fx, q, base(asOf, 15)));
          const eth = { ...base(asOf, 15), symbol: 'ETH/USDT' };
          expectSame(await store.recall(q, eth), expected(fx, q, eth));
          const all = { ...base(asOf, 15), scope: 'all-symbols' as const };
          const r = await store.recall(q, all);
          expectSame(r, expected(fx, q, all));
          expect(r.scope).toBe('all-symbols');
        }
        const unknown = await store.recall(vec(rng), { ...base(asOf), symbol: 'XRP/USDT' });
        expect(unknown.neighbours).toEqual([]);
      }));

    it('isolation: other feature versions, timeframes and horizons are never compared', () =>
      withStore(async (store) => {
        const rng = new SeededRandom(7);
        const mine = series(rng, 20);
        const v2 = series(rng, 20, { featureVersion: FEATURE_VERSION + 1 }).map((f) => ({ ...f, s: { ...f.s, features: vec(rng, 4) } }));
        const tf1h = series(rng, 20, { timeframe: '1h' });
        const h24 = series(rng, 20, { horizonBars: 24 });
        await store.store([...mine, ...v2, ...tf1h, ...h24].map((f) => f.s));
        const q = vec(rng);
        const asOf = FAR;
        const r = await store.recall(q, { ...base(asOf, 100), scope: 'all-symbols' });
        expect(r.neighbours).toHaveLength(20);
        expectSame(r, expected(mine, q, { ...base(asOf, 100), scope: 'all-symbols' }));
        const o2 = { ...base(asOf, 100), featureVersion: FEATURE_VERSION + 1 };
        const q2 = vec(rng, 4);
        const r2 = await store.recall(q2, o2);
        expectSame(r2, expected(v2, q2, o2));
        expect(r2.featureVersion).toBe(FEATURE_VERSION + 1);
        const r24 = await store.recall(q, { ...base(asOf, 100), horizonBars: 24 });
        expect(r24.neighbours.every((m) => m.horizonBars === 24)).toBe(true);
        expect(r24.neighbours).toHaveLength(20);
        await expect(store.recall(vec(rng, 4), base(asOf))).rejects.toThrow(AppError);
      }));

    it('stats: n, mean, median, hit rate and dispersion of the neighbours forward returns', () =>
      withStore(async (store) => {
        const rng = new SeededRandom(8);
        const returns = [0.02, -0.01, 0.03, 0, 0.01];
        const fx = series(rng, returns.length).map((f, i) => ({ ...f, s: { ...f.s, outcome: { ...f.s.outcome!, forwardReturn: returns[i]! } } }));
        await store.store(fx.map((f) => f.s));
        const r = await store.recall(vec(rng), base(FAR));
        const mean = 0.01;
        const sd = Math.sqrt(returns.reduce((a, x) => a + (x - mean) ** 2, 0) / returns.length);
        expect(r.stats.n).toBe(5);
        expect(r.stats.meanReturn).toBeCloseTo(mean, 12);
        expect(r.stats.medianReturn).toBeCloseTo(0.01, 12);
        expect(r.stats.hitRate).toBeCloseTo(0.6, 12);
        expect(r.stats.dispersion).toBeCloseTo(sd, 12);
      }));

    it('k larger than what is available returns everything available, nearest first', () =>
      withStore(async (store) => {
        const rng = new SeededRandom(9);
        const fx = series(rng, 7);
        await store.store(fx.map((f) => f.s));
        const q = vec(rng);
        const r = await store.recall(q, base(FAR, 50));
        expect(r.k).toBe(50);
        expectSame(r, expected(fx, q, base(FAR, 50)));
        expect(r.neighbours).toHaveLength(7);
      }));

    it('rejects bad input with a validation error naming it', () =>
      withStore(async (store) => {
        const rng = new SeededRandom(10);
        const [f] = series(rng, 1);
        const nan = Array.from(f!.s.features);
        nan[3] = Number.NaN;
        await expect(store.store([{ ...f!.s, features: nan }])).rejects.toThrow(/feature 3 is NaN/);
        await expect(store.store([{ ...f!.s, features: vec(rng, 31) }])).rejects.toThrow(/31 values/);
        await expect(store.store([{ ...f!.s, outcome: { ...f!.s.outcome!, resolvedAt: f!.s.ts } }])).rejects.toThrow(/resolvedAt/);
        await expect(store.recall(vec(rng), base(T0, 0))).rejects.toThrow(/k must be/);
        await expect(store.recall(vec(rng), { ...base(T0), scope: 'nearby' as never })).rejects.toThrow(/scope/);
      }));
  });
}
