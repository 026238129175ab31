import type { Candle } from '@meridian/contracts';
import { SimulatedClock } from '@meridian/core';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSpeed, runLiveFeed } from '../../apps/cli/src/commands/feed.ts';
import { MemoryCandleStore, createPublicExchange, fetchCandles, replayCandles, type Sleep } from '../../packages/market/src/index.ts';
import { DEFAULT_SYMBOLS, fakeKline, startFakeBinance, type FakeServer } from '../fake-binance/index.ts';
import { ETH_BTC_CANDLES } from './worker-fixtures.ts';

const M = 60_000;

describe('feed replay', () => {
  const candles = ETH_BTC_CANDLES().slice(0, 30);

  it('publishes every candle once, in time order, without pausing at max speed; a queued duplicate is counted', async () => {
    const seen: Candle[] = [];
    const sleeps: number[] = [];
    const ids = new Set<number>();
    const r = await replayCandles({
      candles: [...candles, candles[3]!],
      publish: async (c) => {
        seen.push(c);
        const added = !ids.has(c.ts);
        ids.add(c.ts);
        return { added };
      },
      speed: null,
      sleep: async (ms) => void sleeps.push(ms),
    });
    expect(r).toEqual({ published: 30, duplicates: 1 });
    expect(seen.slice(0, 30).map((c) => c.ts)).toEqual(candles.map((c) => c.ts));
    expect(sleeps).toEqual([]);
  });

  it('--speed 60x waits bar time / 60 between candles (5m bars → 5 s)', async () => {
    const sleeps: number[] = [];
    await replayCandles({ candles: candles.slice(0, 4), publish: async () => ({ added: true }), speed: 60, sleep: async (ms) => void sleeps.push(ms) });
    expect(sleeps).toEqual([5000, 5000, 5000]);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    let n = 0;
    const r = await replayCandles({
      candles,
      publish: async () => {
        if (++n === 5) ac.abort();
        return { added: true };
      },
      speed: null,
      signal: ac.signal,
    });
    expect(r.published).toBe(5);
  });

  it.each([
    ['60x', 60],
    ['2.5', 2.5],
    ['max', null],
    [undefined, null],
  ])('parses --speed %s', (s, v) => expect(parseSpeed(s)).toBe(v));

  it.each(['0x', '-3x', 'fast', 'x60', 'NaNx'])('refuses --speed %s', (s) => expect(() => parseSpeed(s)).toThrow(/--speed must be like 60x/));
});

describe('feed live against the fake Binance', () => {
  let server: FakeServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('at each 1m boundary stores and publishes only the newly closed candles, resuming after the last stored one', async () => {
    const start = Date.UTC(2024, 2, 1, 5, 30, 20); // 20 s into the 05:30 bar
    const clock = new SimulatedClock(start);
    server = await startFakeBinance({ now: () => clock.now() });
    const exchange = await createPublicExchange('binance', { baseUrl: server.url });
    const store = new MemoryCandleStore();
    const published: { c: Candle; at: number }[] = [];
    // the sleeping loop moves simulated time: nothing waits for real
    const sleep: Sleep = async (ms) => clock.advance(Math.max(0, ms));
    const r = await runLiveFeed({
      exchange,
      exchangeId: 'binance',
      symbols: ['BTC/USDT', 'ETH/BTC'],
      timeframe: '1m',
      timeframeMs: M,
      store,
      publish: async (c) => {
        published.push({ c, at: clock.now() });
        return { added: true };
      },
      fetchCandles: (o) => fetchCandles({ ...o, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }),
      clock,
      sleep,
      historyBars: 50,
      settleMs: 1500,
      rounds: 4,
      onError: (s, e) => {
        throw new Error(`${s}: ${e.message}`);
      },
    });
    const first = Date.UTC(2024, 2, 1, 5, 29); // the newest closed bar at the start
    for (const symbol of ['BTC/USDT', 'ETH/BTC']) {
      const mine = published.filter((p) => p.c.symbol === symbol);
      // round 1: history stored, only the newest closed bar published; then one bar per boundary
      expect(mine.map((p) => p.c.ts)).toEqual([first, first + M, first + 2 * M, first + 3 * M]);
      for (const p of mine) expect(p.c.ts + M).toBeLessThanOrEqual(p.at);
      const sym = DEFAULT_SYMBOLS.find((s) => `${s.base}/${s.quote}` === symbol)!;
      for (const p of mine) {
        const k = fakeKline(sym, p.c.ts, M) as (string | number)[];
        expect([p.c.open, p.c.high, p.c.low, p.c.close]).toEqual([Number(k[1]), Number(k[2]), Number(k[3]), Number(k[4])]);
      }
      expect((await store.range({ exchange: 'binance', symbol, timeframe: '1m' }, 0, 8.64e15)).length).toBe(50 + 3);
    }
    expect(r).toEqual({ published: 8, duplicates: 0 });
    // after the first round every request resumes right after the last stored bar
    const starts = server.log.filter((l) => l.path === '/api/v3/klines' && l.query['symbol'] === 'BTCUSDT').map((l) => Number(l.query['startTime']));
    expect(starts).toEqual([first - 49 * M, first + M, first + 2 * M, first + 3 * M]);
  });
});
