import type { FakeRequest, FakeResponse, FakeRoute } from './fake-server.ts';
import { TIMEFRAME_MS } from '@meridian/contracts';

/**
 * Public market-data endpoints of Binance spot, as ccxt's `binance` class calls them:
 * ping, time, exchangeInfo and klines. Candles are a deterministic function of (symbol, time),
 * so any page asked for gives the same numbers; the candle containing `now()` is returned
 * still open, as Binance does.
 */
export interface FakeSymbol {
  readonly base: string;
  readonly quote: string;
  /** open time of the first candle the exchange has */
  readonly listedAt: number;
  readonly basePrice: number;
  readonly tickSize: string;
  readonly stepSize: string;
  readonly minNotional: string;
}

export interface MarketDataOptions {
  readonly now?: () => number;
  readonly symbols?: readonly FakeSymbol[];
}

export const DEFAULT_SYMBOLS: readonly FakeSymbol[] = [
  { base: 'BTC', quote: 'USDT', listedAt: Date.UTC(2017, 7, 17), basePrice: 40_000, tickSize: '0.01000000', stepSize: '0.00001000', minNotional: '5.00000000' },
  { base: 'ETH', quote: 'BTC', listedAt: Date.UTC(2017, 6, 14), basePrice: 0.05, tickSize: '0.00001000', stepSize: '0.00010000', minNotional: '0.00010000' },
];

// Binance's kline intervals are named like our timeframes
const INTERVAL_MS: Readonly<Record<string, number>> = TIMEFRAME_MS;

/** deterministic hash of (seed, t) to [0, 1) */
function hash01(seed: number, t: number): number {
  let h = (seed ^ Math.imul(Math.floor(t / 60_000) | 0, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

function seedOf(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The price at time t: a smooth wave plus minute-level noise, always > 0. */
export function fakePrice(sym: FakeSymbol, t: number): number {
  const seed = seedOf(sym.base + sym.quote);
  const day = t / 86_400_000;
  return sym.basePrice * (1 + 0.2 * Math.sin(day / 7) + 0.05 * Math.sin(day * 3.1) + 0.004 * (hash01(seed, t) - 0.5));
}

function fmt(x: number, sym: FakeSymbol): string {
  const dec = Math.max(0, sym.tickSize.replace(/0+$/, '').split('.')[1]?.length ?? 0);
  return x.toFixed(dec);
}

/** One Binance kline array for the candle opening at `ts` (closing at `until` if still open). */
export function fakeKline(sym: FakeSymbol, ts: number, tf: number, until = ts + tf): unknown[] {
  const seed = seedOf(sym.base + sym.quote);
  const open = fakePrice(sym, ts);
  const close = fakePrice(sym, until);
  const high = Math.max(open, close) * (1 + 0.002 * hash01(seed ^ 1, ts));
  const low = Math.min(open, close) * (1 - 0.002 * hash01(seed ^ 2, ts));
  const volume = (10 + 100 * hash01(seed ^ 3, ts)) * ((until - ts) / tf);
  const trades = Math.floor(50 + 500 * hash01(seed ^ 4, ts));
  return [
    ts,
    fmt(open, sym),
    fmt(Math.max(high, open, close), sym),
    fmt(Math.min(low, open, close), sym),
    fmt(close, sym),
    volume.toFixed(8),
    ts + tf - 1,
    (volume * close).toFixed(8),
    trades,
    (volume / 2).toFixed(8),
    ((volume / 2) * close).toFixed(8),
    '0',
  ];
}

function err(status: number, code: number, msg: string): FakeResponse {
  return { status, body: { code, msg } };
}

export function marketDataRoutes(opts: MarketDataOptions = {}): FakeRoute[] {
  const now = opts.now ?? (() => Date.now());
  const symbols = opts.symbols ?? DEFAULT_SYMBOLS;
  const bySymbol = new Map(symbols.map((s) => [s.base + s.quote, s]));
  let weight = 0;
  const weightHeaders = (w: number): Record<string, string> => {
    weight += w;
    return { 'x-mbx-used-weight': String(weight), 'x-mbx-used-weight-1m': String(weight) };
  };

  const exchangeInfo = (): FakeResponse => ({
    status: 200,
    headers: weightHeaders(20),
    body: {
      timezone: 'UTC',
      serverTime: now(),
      rateLimits: [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
        { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
      ],
      exchangeFilters: [],
      symbols: symbols.map((s) => ({
        symbol: s.base + s.quote,
        status: 'TRADING',
        baseAsset: s.base,
        baseAssetPrecision: 8,
        quoteAsset: s.quote,
        quotePrecision: 8,
        quoteAssetPrecision: 8,
        baseCommissionPrecision: 8,
        quoteCommissionPrecision: 8,
        orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
        icebergAllowed: true,
        ocoAllowed: true,
        otoAllowed: true,
        quoteOrderQtyMarketAllowed: true,
        allowTrailingStop: true,
        cancelReplaceAllowed: true,
        isSpotTradingAllowed: true,
        isMarginTradingAllowed: false,
        filters: [
          { filterType: 'PRICE_FILTER', minPrice: s.tickSize, maxPrice: '1000000.00000000', tickSize: s.tickSize },
          { filterType: 'LOT_SIZE', minQty: s.stepSize, maxQty: '9000.00000000', stepSize: s.stepSize },
          { filterType: 'NOTIONAL', minNotional: s.minNotional, applyMinToMarket: true, maxNotional: '9000000.00000000', applyMaxToMarket: false, avgPriceMins: 5 },
          { filterType: 'MARKET_LOT_SIZE', minQty: '0.00000000', maxQty: '100.00000000', stepSize: '0.00000000' },
        ],
        permissions: [],
        permissionSets: [['SPOT']],
        defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
        allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
      })),
    },
  });

  const klines = (req: FakeRequest): FakeResponse => {
    const q = req.query;
    const sym = bySymbol.get(q.get('symbol') ?? '');
    if (!sym) return err(400, -1121, 'Invalid symbol.');
    const tf = INTERVAL_MS[q.get('interval') ?? ''];
    if (!tf) return err(400, -1120, 'Invalid interval.');
    const limitRaw = q.get('limit');
    const limit = limitRaw === null ? 500 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return err(400, -1100, "Illegal characters found in parameter 'limit'; legal range is '1-1000'.");
    const t = now();
    const openNow = t - (t % tf); // the candle still forming
    const first = sym.listedAt - (sym.listedAt % tf);
    const startTime = q.get('startTime');
    const endTime = q.get('endTime');
    const end = Math.min(openNow, endTime === null ? Infinity : Number(endTime) - (Number(endTime) % tf));
    let from: number;
    if (startTime !== null) {
      const s = Number(startTime);
      from = Math.max(first, s % tf === 0 ? s : s - (s % tf) + tf);
    } else from = Math.max(first, end - (limit - 1) * tf);
    const rows: unknown[] = [];
    for (let ts = from; ts <= end && rows.length < limit; ts += tf) rows.push(fakeKline(sym, ts, tf, ts === openNow ? t : ts + tf));
    return { status: 200, body: rows, headers: weightHeaders(2) };
  };

  return [
    { method: 'GET', path: '/api/v3/ping', handler: () => ({ status: 200, body: {}, headers: weightHeaders(1) }) },
    { method: 'GET', path: '/api/v3/time', handler: () => ({ status: 200, body: { serverTime: now() }, headers: weightHeaders(1) }) },
    { method: 'GET', path: '/api/v3/exchangeInfo', handler: exchangeInfo },
    { method: 'GET', path: '/api/v3/klines', handler: klines },
  ];
}
