import { FEATURE_WARMUP_BARS, MemoryCandleStore, emptyColumns, generateBars, pushBar } from '@meridian/market';
import { describe, expect, it } from 'vitest';
import { buildMemories } from './build-memories.ts';
import { InProcessMemoryStore } from './in-process-memory-store.ts';

// FeatureEngine.ready turns true on the warm-up's last bar, so that bar already has a situation
const WARMUP = FEATURE_WARMUP_BARS - 1;
const key = { exchange: 'binance', symbol: 'BTC/USDT', timeframe: '5m' as const };

async function candles(n: number): Promise<MemoryCandleStore> {
  const store = new MemoryCandleStore();
  const cols = emptyColumns();
  for (const b of generateBars({ bars: n, seed: 5, timeframeMs: 300_000 })) pushBar(cols, b);
  await store.upsert(key, cols);
  return store;
}

describe('buildMemories', () => {
  it('stores one memory per bar after the warm-up, the last h unresolved; a re-run changes nothing; new candles resolve them', async () => {
    const memory = new InProcessMemoryStore({ index: false });
    const h = 12;
    const first = await buildMemories({ candles: await candles(1000), memory, key, horizonBars: h, batchBars: 300 });
    expect(first).toMatchObject({ bars: 1000, warmupBars: WARMUP, situations: 1000 - WARMUP, inserted: 1000 - WARMUP, resolved: 0, unresolved: h });
    expect(memory.size).toBe(1000 - WARMUP);

    const again = await buildMemories({ candles: await candles(1000), memory, key, horizonBars: h, batchBars: 450 });
    expect(again).toMatchObject({ inserted: 0, resolved: 0, unresolved: h });

    const more = await buildMemories({ candles: await candles(1005), memory, key, horizonBars: h });
    expect(more).toMatchObject({ inserted: 5, resolved: 5, unresolved: h });
    expect(memory.size).toBe(1005 - WARMUP);
  });

  it('says what to do when no candles are stored', async () => {
    await expect(buildMemories({ candles: new MemoryCandleStore(), memory: new InProcessMemoryStore(), key, horizonBars: 12 })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      hint: expect.stringMatching(/meridian data import/),
    });
  });
});
