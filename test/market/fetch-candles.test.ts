import { SimulatedClock } from '@meridian/core';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SYMBOLS, fakeKline, startFakeBinance } from '../fake-binance/index.ts';
import type { FakeServer } from '../fake-binance/index.ts';
import { MemoryCandleStore, createPublicExchange, fetchCandles } from '../../packages/market/src/index.ts';
import type { SeriesKey } from '../../packages/market/src/index.ts';

/**
 * `fetchCandles` with ccxt's real binance client against the local fake Binance
 * (test/fake-binance): pagination, resume, the open candle, retries on 429/503/dropped sockets.
 */
const H = 3_600_000;
const NOW = Date.UTC(2024, 2, 1, 5, 30); // 05:30: the 05:00 1h candle is still open
const KEY: SeriesKey = { exchange: 'binance', symbol: 'BTC/USDT', timeframe: '1h' };
const SINCE = Date.UTC(2024, 0, 1);
const EXPECTED_BARS = (Date.UTC(2024, 2, 1, 5) - SINCE) / H; // closed candles 2024-01-01T00:00 … 2024-03-01T04:00
const fast = { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 };

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup() {
  server = await startFakeBinance({ now: () => NOW });
  const exchange = await createPublicExchange('binance', { baseUrl: server.url });
  return { server, exchange, store: new MemoryCandleStore(), clock: new SimulatedClock(NOW) };
}

const klineRequests = (s: FakeServer) => s.log.filter((l) => l.path === '/api/v3/klines');

describe('fetchCandles against the fake Binance', () => {
  it('paginates 1,000 at a time, stores exactly the closed candles with the exchange’s values, and drops the open one', async () => {
    const { server, exchange, store, clock } = await setup();
    const r = await fetchCandles({ exchange, key: KEY, store, since: SINCE, clock, retry: fast });
    expect(EXPECTED_BARS).toBe(1445); // 60 days (2024 is a leap year) × 24 + 5
    expect(r).toMatchObject({ fetched: EXPECTED_BARS, inserted: EXPECTED_BARS, droppedOpen: 1, retries: 0, gaps: { missingBars: 0 } });
    const ks = klineRequests(server);
    expect(ks.map((k) => k.query['limit'])).toEqual(['1000', '1000']);
    expect(Number(ks[1]!.query['startTime'])).toBe(SINCE + 1000 * H);
    const bars = await store.range(KEY, 0, Infinity);
    expect(bars).toHaveLength(EXPECTED_BARS);
    expect(bars.at(-1)!.ts).toBe(Date.UTC(2024, 2, 1, 4));
    const k = fakeKline(DEFAULT_SYMBOLS[0]!, bars[500]!.ts, H) as string[];
    expect([bars[500]!.open, bars[500]!.high, bars[500]!.low, bars[500]!.close, bars[500]!.volume]).toEqual(k.slice(1, 6).map(Number));
    // only public spot endpoints were called: no sapi/fapi/dapi, no private calls
    expect(new Set(server.log.map((l) => l.path))).toEqual(new Set(['/api/v3/exchangeInfo', '/api/v3/klines']));
  });

  it('retries a 429, a 503 and a dropped connection mid-download with backoff, and still gets every candle once', async () => {
    const { server, exchange, store, clock } = await setup();
    const first = await fetchCandles({ exchange, key: KEY, store, since: SINCE, until: SINCE + 300 * H, clock, retry: fast });
    expect(first.inserted).toBe(300);
    server.inject(
      { kind: 'status', status: 429, retryAfterSec: 1, path: '/api/v3/klines' },
      { kind: 'status', status: 503, path: '/api/v3/klines' },
      { kind: 'drop', path: '/api/v3/klines' },
    );
    const retries: string[] = [];
    const slept: number[] = [];
    const r = await fetchCandles({
      exchange,
      key: KEY,
      store,
      since: SINCE,
      clock,
      retry: fast,
      pageLimit: 500,
      sleep: async (ms) => {
        slept.push(ms);
      },
      onRetry: (x) => retries.push(x.error.split(':')[0]!),
    });
    expect(server.pendingFaults()).toBe(0);
    expect(retries).toEqual(['DDoSProtection', 'ExchangeNotAvailable', 'NetworkError']);
    expect(r.retries).toBe(3);
    // exponential: each wait at least half of base·2^(attempt−1), capped
    expect(slept[0]).toBeGreaterThanOrEqual(2.5);
    expect(slept[1]).toBeGreaterThanOrEqual(5);
    expect(slept[2]).toBeGreaterThanOrEqual(10);
    // resumed after the last stored candle, not from `since`
    expect(r.resumedFrom).toBe(SINCE + 300 * H);
    expect(Number(klineRequests(server).filter((k) => k.status === 200)[1]!.query['startTime'])).toBe(SINCE + 300 * H);
    expect(r.inserted).toBe(EXPECTED_BARS - 300);
    expect(r.unchanged + r.updated).toBe(0);
    expect((await store.range(KEY, 0, Infinity)).length).toBe(EXPECTED_BARS);
  });

  it('a second run with nothing new asks for nothing and stores nothing', async () => {
    const { server, exchange, store, clock } = await setup();
    await fetchCandles({ exchange, key: KEY, store, since: SINCE, clock, retry: fast });
    const before = klineRequests(server).length;
    const r = await fetchCandles({ exchange, key: KEY, store, since: SINCE, clock, retry: fast });
    expect(r).toMatchObject({ fetched: 0, inserted: 0, pages: 0 });
    expect(klineRequests(server).length).toBe(before);
  });

  it('gives up after maxAttempts with EXCHANGE_UNAVAILABLE, keeping what was stored', async () => {
    const { server, exchange, store, clock } = await setup();
    server.inject(...Array.from({ length: 4 }, () => ({ kind: 'status' as const, status: 503, path: '/api/v3/klines' })));
    await expect(fetchCandles({ exchange, key: KEY, store, since: SINCE, clock, retry: fast, sleep: async () => {} })).rejects.toMatchObject({
      code: 'EXCHANGE_UNAVAILABLE',
    });
  });

  it('does not retry a final error (unknown symbol)', async () => {
    const { exchange, store, clock } = await setup();
    await expect(fetchCandles({ exchange, key: { ...KEY, symbol: 'NOPE/USDT' }, store, since: SINCE, clock, retry: fast })).rejects.toMatchObject({
      code: 'EXCHANGE_REJECTED',
    });
  });

  it('keeps to the exchange rate limit (ccxt throttler): kline calls average ≥ their cost apart', async () => {
    const { server, exchange, store, clock } = await setup();
    await fetchCandles({ exchange, key: KEY, store, since: SINCE, clock, retry: fast, pageLimit: 100 });
    const ks = klineRequests(server);
    expect(ks.length).toBe(15);
    expect(exchange.enableRateLimit).toBe(true);
    // ccxt binance: rateLimit 50 ms, spot public klines cost 0.4 → one call per 20 ms sustained;
    // the token bucket (capacity 1) lets up to 3 through at once at the start
    const spacing = (exchange.rateLimit ?? 0) * 0.4;
    expect(spacing).toBe(20);
    expect(ks.at(-1)!.at - ks[0]!.at).toBeGreaterThanOrEqual((ks.length - 4) * spacing);
  });
});

