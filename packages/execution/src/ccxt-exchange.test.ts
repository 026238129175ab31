import { randomUUID } from 'node:crypto';
import * as ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';
import type { FakeServer } from '../../../test/fake-binance/fake-server.ts';
import { FAKE_BINANCE_API_KEY, FAKE_BINANCE_SECRET, startFakeBinanceWithTrading, type FakeTrading } from '../../../test/fake-binance/trading.ts';
import { CCXT_ERROR_TABLE, mapCcxtError } from './ccxt-error-map.ts';
import { createCcxtExchange, type CcxtExchange, type CcxtExchangeConfig } from './ccxt-exchange.ts';
import { runExchangeAdapterSpec } from './exchange-adapter-spec.ts';
import { FinalExchangeError, RetryableExchangeError, UnknownOutcomeError } from './exchange-errors.ts';

const PRICE = 40_000;
const QUOTE = 10_000;
const BTC = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', minQty: 0.00001, qtyStep: 0.00001, priceStep: 0.01, minNotional: 5 };

interface Env {
  server: FakeServer;
  trading: FakeTrading;
  adapter: CcxtExchange;
  [Symbol.asyncDispose](): Promise<void>;
}

async function env(over: Partial<CcxtExchangeConfig> = {}): Promise<Env> {
  const { server, trading } = await startFakeBinanceWithTrading({ balances: { USDT: QUOTE } });
  trading.setPrice('BTC/USDT', PRICE);
  const adapter = await createCcxtExchange({ id: 'binance', apiKey: FAKE_BINANCE_API_KEY, secret: FAKE_BINANCE_SECRET, urlOverride: server.url, timeoutMs: 2_000, ...over });
  return {
    server,
    trading,
    adapter,
    async [Symbol.asyncDispose]() {
      await adapter.close();
      await server.close();
    },
  };
}

runExchangeAdapterSpec('CcxtExchange (binance) against the fake exchange', async () => {
  const e = await env();
  return {
    adapter: e.adapter,
    market: BTC,
    price: PRICE,
    quoteBalance: QUOTE,
    settle: async () => {}, // the fake fills market orders in the create response
    [Symbol.asyncDispose]: () => e[Symbol.asyncDispose](),
  };
});

const marketBuy = (quantity = 0.001) => ({ orderId: randomUUID(), symbol: 'BTC/USDT', side: 'buy' as const, type: 'market' as const, quantity, limitPrice: null });
const ordersPosted = (s: FakeServer) => s.log.filter((r) => r.method === 'POST' && r.path === '/api/v3/order').length;

describe('CcxtExchange against the fake Binance', () => {
  it('sends our order id as newClientOrderId and reports the fills of a market order', async () => {
    await using e = await env();
    const req = marketBuy();
    const o = await e.adapter.createOrder(req);
    expect(e.trading.orders.map((x) => x.clientOrderId)).toEqual([req.orderId]);
    expect(o).toMatchObject({ clientOrderId: req.orderId, status: 'FILLED', filledQuantity: 0.001, avgFillPrice: PRICE });
    expect(o.fills).toHaveLength(1);
    expect(o.fills[0]).toMatchObject({ orderId: req.orderId, quantity: 0.001, price: PRICE, feeCurrency: 'USDT', exchange: 'binance' });
    expect(o.fills[0]?.fee).toBeCloseTo(0.001 * PRICE * 0.001, 9);
    expect(o.fees).toBeCloseTo(0.04, 9);
  });

  it('a dropped response makes create throw UnknownOutcomeError, and the order is then found by client order id', async () => {
    await using e = await env();
    const req = marketBuy();
    e.trading.inject({ kind: 'accept-and-drop' });
    const err = await e.adapter.createOrder(req).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(UnknownOutcomeError);
    expect((err as UnknownOutcomeError).clientOrderId).toBe(req.orderId);
    expect(e.trading.orders).toHaveLength(1); // it did reach the exchange
    const found = await e.adapter.fetchOrderByClientId(req.orderId, req.symbol);
    expect(found).toMatchObject({ clientOrderId: req.orderId, status: 'FILLED' });
    // retrying the create is safe: it returns the same order and places nothing new
    const again = await e.adapter.createOrder(req);
    expect(again.exchangeOrderId).toBe(found?.exchangeOrderId);
    expect(e.trading.orders).toHaveLength(1);
  });

  it('an answer held past the timeout is an UnknownOutcomeError, not a retryable error', async () => {
    await using e = await env({ timeoutMs: 300 });
    e.trading.inject({ kind: 'accept-and-hold', ms: 1_000 });
    const req = marketBuy();
    const err = await e.adapter.createOrder(req).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(UnknownOutcomeError);
    expect((err as UnknownOutcomeError).reason).toBe('timeout');
    expect((await e.adapter.fetchOrderByClientId(req.orderId, req.symbol))?.status).toBe('FILLED');
  });

  it('a duplicate create does not produce a second order, with or without the lookup before create', async () => {
    for (const lookupBeforeCreate of [true, false]) {
      await using e = await env({ lookupBeforeCreate });
      const req = marketBuy();
      const a = await e.adapter.createOrder(req);
      const b = await e.adapter.createOrder(req);
      expect(b.exchangeOrderId).toBe(a.exchangeOrderId);
      expect(e.trading.orders).toHaveLength(1);
      // without the lookup the second POST reached the exchange and was refused as a duplicate
      expect(ordersPosted(e.server)).toBe(lookupBeforeCreate ? 1 : 2);
    }
  });

  it('429 on create is retryable (the exchange refused it unprocessed); 5xx on create is an unknown outcome', async () => {
    // no lookup before create, so the path-matched faults hit the POST itself
    await using e = await env({ lookupBeforeCreate: false });
    await e.adapter.market('BTC/USDT'); // load markets first
    e.server.inject({ kind: 'status', status: 429, path: '/api/v3/order' });
    const rate = await e.adapter.createOrder({ ...marketBuy(), orderId: randomUUID() }).catch((x: unknown) => x);
    expect(rate).toBeInstanceOf(RetryableExchangeError);
    expect(rate).toMatchObject({ reason: 'rate_limited', operation: 'createOrder' });

    e.server.inject({ kind: 'status', status: 503, path: '/api/v3/order' });
    const gone = await e.adapter.createOrder({ ...marketBuy(), orderId: randomUUID() }).catch((x: unknown) => x);
    expect(gone).toBeInstanceOf(UnknownOutcomeError);
    expect(e.server.log.filter((r) => r.method === 'POST').map((r) => r.status)).toEqual([429, 503]);
  });

  it('5xx, 429 and latency past the timeout on reads are retryable', async () => {
    await using e = await env({ timeoutMs: 300 });
    await e.adapter.market('BTC/USDT');
    for (const fault of [
      { kind: 'status', status: 503, path: '/api/v3/account' },
      { kind: 'status', status: 429, path: '/api/v3/account' },
      { kind: 'latency', ms: 800, path: '/api/v3/account' },
      { kind: 'drop', path: '/api/v3/account' },
    ] as const) {
      e.server.inject(fault);
      const err = await e.adapter.fetchBalances().catch((x: unknown) => x);
      expect(err, JSON.stringify(fault)).toBeInstanceOf(RetryableExchangeError);
    }
    expect((await e.adapter.fetchBalances()).USDT?.total).toBe(QUOTE);
  });

  it('a failed market load at start-up is retried by the next call (ccxt caches the rejected load)', async () => {
    await using e = await env();
    e.server.inject({ kind: 'status', status: 503, path: '/api/v3/exchangeInfo' });
    const first = await e.adapter.market('BTC/USDT').catch((x: unknown) => x);
    expect(first).toBeInstanceOf(RetryableExchangeError);
    expect(await e.adapter.market('BTC/USDT')).toMatchObject({ symbol: 'BTC/USDT', minQty: BTC.minQty });
    expect(e.server.log.filter((r) => r.path === '/api/v3/exchangeInfo').length).toBeGreaterThanOrEqual(2);
  });

  it('wrong credentials are a final authentication error', async () => {
    await using e = await env({ secret: 'not-the-secret' });
    const err = await e.adapter.fetchBalances().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(FinalExchangeError);
    expect((err as FinalExchangeError).reason).toBe('authentication');
    expect(String((err as Error).message)).not.toContain('not-the-secret');
  });

  it('a limit order filled on the exchange later is reported FILLED by fetch, and cancel then returns it unchanged', async () => {
    await using e = await env();
    const req = { orderId: randomUUID(), symbol: 'BTC/USDT', side: 'buy' as const, type: 'limit' as const, quantity: 0.001, limitPrice: 39_000 };
    expect((await e.adapter.createOrder(req)).status).toBe('OPEN');
    e.trading.fillOpenOrder(req.orderId);
    expect(await e.adapter.fetchOrderByClientId(req.orderId, req.symbol)).toMatchObject({ status: 'FILLED', filledQuantity: 0.001, avgFillPrice: 39_000 });
    expect((await e.adapter.cancelOrder(req.orderId, req.symbol)).status).toBe('FILLED');
  });

  it('refuses an unknown ccxt exchange id and a bad urlOverride at construction', async () => {
    await expect(createCcxtExchange({ id: 'nosuchexchange' })).rejects.toMatchObject({ code: 'CONFIG' });
    await expect(createCcxtExchange({ id: 'binance', urlOverride: 'ftp://x' })).rejects.toMatchObject({ code: 'CONFIG' });
  });

  it('sandbox mode points binance at its testnet', async () => {
    const a = await createCcxtExchange({ id: 'binance', sandbox: true });
    expect((a.ccxt.urls['api'] as Record<string, string>)['private']).toContain('testnet');
    await a.close();
  });
});

describe('ccxt error mapping', () => {
  const E = ccxt as unknown as Record<string, new (m: string) => Error>;
  const table: [string, 'retryable' | 'final', string][] = [
    ['NetworkError', 'retryable', 'network'],
    ['RequestTimeout', 'retryable', 'timeout'],
    ['RateLimitExceeded', 'retryable', 'rate_limited'],
    ['DDoSProtection', 'retryable', 'rate_limited'],
    ['ExchangeNotAvailable', 'retryable', 'unavailable'],
    ['OnMaintenance', 'retryable', 'maintenance'],
    ['InvalidNonce', 'retryable', 'network'],
    ['BadResponse', 'retryable', 'bad_response'],
    ['NullResponse', 'retryable', 'bad_response'],
    ['InsufficientFunds', 'final', 'insufficient_funds'],
    ['InvalidOrder', 'final', 'invalid_order'],
    ['OrderNotFound', 'final', 'order_not_found'],
    ['DuplicateOrderId', 'final', 'duplicate_order'],
    ['OrderImmediatelyFillable', 'final', 'invalid_order'],
    ['AuthenticationError', 'final', 'authentication'],
    ['PermissionDenied', 'final', 'permission_denied'],
    ['AccountSuspended', 'final', 'permission_denied'],
    ['BadSymbol', 'final', 'bad_symbol'],
    ['BadRequest', 'final', 'bad_request'],
    ['ArgumentsRequired', 'final', 'bad_request'],
    ['NotSupported', 'final', 'not_supported'],
    ['OperationRejected', 'final', 'rejected'],
    ['MarketClosed', 'final', 'rejected'],
    ['ExchangeError', 'final', 'rejected'],
  ];

  it.each(table)('%s → %s (%s)', (cls, kind, reason) => {
    const Ctor = E[cls];
    expect(Ctor, `ccxt exports ${cls}`).toBeTypeOf('function');
    const mapped = mapCcxtError(new Ctor!(`binance ${cls} happened`), 'binance', 'fetchOrder');
    expect(mapped).toBeInstanceOf(kind === 'retryable' ? RetryableExchangeError : FinalExchangeError);
    expect((mapped as RetryableExchangeError | FinalExchangeError).reason).toBe(reason);
    expect(mapped.retryable).toBe(kind === 'retryable');
  });

  it('every ccxt error class is covered by the table (a new ccxt class must be classified on purpose)', () => {
    const classes = Object.keys(E).filter((k) => {
      const v = E[k];
      return typeof v === 'function' && v.prototype instanceof Error && k !== 'BaseError' && k !== 'UnsubscribeError';
    });
    expect(classes.length).toBeGreaterThan(30);
    expect(classes.filter((c) => !(c in CCXT_ERROR_TABLE))).toEqual([]);
  });

  it('on createOrder, retryable failures become UnknownOutcomeError except rate limits', () => {
    const on = (cls: string) => mapCcxtError(new E[cls]!('x'), 'binance', 'createOrder', 'cid-1');
    for (const c of ['NetworkError', 'RequestTimeout', 'ExchangeNotAvailable', 'OnMaintenance', 'BadResponse']) expect(on(c), c).toBeInstanceOf(UnknownOutcomeError);
    for (const c of ['RateLimitExceeded', 'DDoSProtection']) expect(on(c), c).toBeInstanceOf(RetryableExchangeError);
    expect(on('InsufficientFunds')).toBeInstanceOf(FinalExchangeError);
    expect(mapCcxtError(new TypeError('boom'), 'binance', 'createOrder', 'cid-1')).toBeInstanceOf(UnknownOutcomeError);
    expect(mapCcxtError(new TypeError('boom'), 'binance', 'fetchOrder').code).toBe('INTERNAL');
  });

  it('refines Binance messages: duplicate order and filter failures; strips request signatures', () => {
    expect(mapCcxtError(new E.InvalidOrder!('binance {"code":-2010,"msg":"Duplicate order sent."}'), 'binance', 'createOrder', 'c')).toMatchObject({ reason: 'duplicate_order' });
    expect(mapCcxtError(new E.BadRequest!('binance {"code":-1013,"msg":"Filter failure: NOTIONAL"}'), 'binance', 'createOrder', 'c')).toMatchObject({ reason: 'invalid_order' });
    const m = mapCcxtError(new E.RequestTimeout!('GET https://x/api/v3/order?symbol=BTCUSDT&signature=abcdef0123 timed out'), 'binance', 'fetchOrder');
    expect(m.message).not.toContain('abcdef0123');
  });
});
