import type { MemoryRecall } from '@meridian/contracts';
import { exampleMemoryRecall } from '@meridian/contracts/fixtures';
import type { MemoryRecallOptions } from '@meridian/orchestrator';
import { describe, expect, it } from 'vitest';
import { RecallPrefetch } from './recall-prefetch.ts';

const OPTIONS: MemoryRecallOptions = { asOf: 1_700_000_300_000, k: 20, scope: 'same-symbol', exchange: 'binance', symbol: 'ETH/BTC', timeframe: '5m', featureVersion: 3, horizonBars: 12 };

/** a store that answers each recall with a recall stamped by its call number, and keeps the calls */
function countingStore(fail?: Error) {
  const calls: { vector: number[]; options: MemoryRecallOptions }[] = [];
  return {
    calls,
    recall: (vector: ArrayLike<number>, options: MemoryRecallOptions): Promise<MemoryRecall> => {
      calls.push({ vector: Array.from(vector), options });
      return fail ? Promise.reject(fail) : Promise.resolve(exampleMemoryRecall({ k: calls.length }));
    },
  };
}

describe('RecallPrefetch', () => {
  it('answers the recall of exactly the prefetched request with the prefetched query, without a second query', async () => {
    const store = countingStore();
    const r = new RecallPrefetch(store);
    const release = r.prefetch(new Float64Array([0.5, -1, 2]), OPTIONS);
    const got = await r.recall([0.5, -1, 2], { ...OPTIONS });
    expect(got.k).toBe(1);
    expect(store.calls).toHaveLength(1);
    expect(r.counts).toEqual({ hits: 1, misses: 0 });
    expect(r.pending).toBe(0);
    release(); // nothing left to drop
    expect(r.pending).toBe(0);
  });

  it.each([
    ['another vector', [0.5, -1, 2.000001], OPTIONS],
    ['a shorter vector', [0.5, -1], OPTIONS],
    ['-0 for 0 (Object.is)', [0.5, -1, -0], OPTIONS],
    ['another k', [0.5, -1, 0], { ...OPTIONS, k: 10 }],
    ['another scope', [0.5, -1, 0], { ...OPTIONS, scope: 'all-symbols' as const }],
    ['another horizon', [0.5, -1, 0], { ...OPTIONS, horizonBars: 24 }],
    ['no horizon', [0.5, -1, 0], { ...OPTIONS, horizonBars: undefined }],
    ['another feature version', [0.5, -1, 0], { ...OPTIONS, featureVersion: 4 }],
  ])('sends a request that differs (%s) to the store, and drops the prefetched answer', async (_what, vector, options) => {
    const store = countingStore();
    const r = new RecallPrefetch(store);
    r.prefetch([0.5, -1, 0], OPTIONS);
    const got = await r.recall(vector, options);
    expect(got.k).toBe(2);
    expect(store.calls[1]).toEqual({ vector, options });
    expect(r.counts).toEqual({ hits: 0, misses: 1 });
    expect(r.pending).toBe(0);
  });

  it('keeps the prefetches of different bars apart (events of several series run at once) and release drops only its own', async () => {
    const store = countingStore();
    const r = new RecallPrefetch(store);
    const releaseEth = r.prefetch([1], OPTIONS);
    r.prefetch([2], { ...OPTIONS, symbol: 'LTC/BTC' });
    expect(r.pending).toBe(2);
    releaseEth();
    expect(r.pending).toBe(1);
    expect((await r.recall([2], { ...OPTIONS, symbol: 'LTC/BTC' })).k).toBe(2);
    expect((await r.recall([1], OPTIONS)).k).toBe(3); // dropped: queried again
    expect(r.counts).toEqual({ hits: 1, misses: 1 });
  });

  it('a release after a newer prefetch of the same bar leaves the newer one', async () => {
    const store = countingStore();
    const r = new RecallPrefetch(store);
    const first = r.prefetch([1], OPTIONS);
    r.prefetch([1], OPTIONS);
    first();
    expect(r.pending).toBe(1);
    expect((await r.recall([1], OPTIONS)).k).toBe(2);
  });

  it("sends the recall only once `after` (the bar's outcome write) is done — a differing request of the bar too — and none if it fails", async () => {
    const store = countingStore();
    const r = new RecallPrefetch(store);
    let write!: () => void;
    const after = new Promise<void>((resolve) => (write = resolve));
    r.prefetch([1], OPTIONS, after);
    const other = r.recall([2], OPTIONS); // same bar, another vector
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.calls).toEqual([]);
    write();
    expect((await other).k).toBe(2);
    expect(store.calls.map((c) => c.vector)).toEqual([[1], [2]]);

    const failed = Promise.reject(new Error('memory write refused'));
    r.prefetch([3], { ...OPTIONS, asOf: OPTIONS.asOf + 300_000 }, failed);
    await expect(r.recall([3], { ...OPTIONS, asOf: OPTIONS.asOf + 300_000 })).rejects.toThrow('memory write refused');
    expect(store.calls).toHaveLength(2);
  });

  it("gives a failed prefetched query's error to the recall that asks, and an unused failure is never an unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const r = new RecallPrefetch(countingStore(new Error('database gone')));
      r.prefetch([1], OPTIONS);
      await expect(r.recall([1], OPTIONS)).rejects.toThrow('database gone');
      const release = r.prefetch([1], { ...OPTIONS, asOf: OPTIONS.asOf + 300_000 });
      release();
      // let the rejection's microtasks and the unhandled-rejection check run
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
