import type { Exchange, Order as CcxtOrder, MarketInterface as CcxtMarket, Trade as CcxtTrade } from 'ccxt';
import { SCHEMA_VERSION, type Fill, type MarketInfo } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { mapCcxtError, type CcxtOperation } from './ccxt-error-map.ts';
import {
  sameOrderParameters,
  type Balances,
  type CreateOrderInput,
  type ExchangeAdapter,
  type ExchangeOrder,
  type ExchangeOrderStatus,
} from './exchange-adapter.ts';
import { FinalExchangeError, RetryableExchangeError } from './exchange-errors.ts';
import { orderRuleViolation } from './order-rules.ts';

export interface CcxtExchangeConfig {
  /** ccxt exchange id, e.g. 'binance' */
  readonly id: string;
  /** credentials are passed in by the executor (from packages/config); never read from the environment here, never logged */
  readonly apiKey?: string;
  readonly secret?: string;
  readonly password?: string;
  /** use the exchange's testnet (ccxt setSandboxMode) */
  readonly sandbox?: boolean;
  /** send every request to this origin instead (tests: the local fake exchange), e.g. http://127.0.0.1:4567 */
  readonly urlOverride?: string;
  /** per-request timeout; default ccxt's 10 000 ms */
  readonly timeoutMs?: number;
  /** see CcxtExchangeOptions */
  readonly lookupBeforeCreate?: boolean;
}

export interface CcxtExchangeOptions {
  /**
   * Look the client order id up before creating (default true). Binance refuses a reused client order id only
   * while the earlier order is open, so without this a retry after a fill could place a second order.
   * Costs one extra request per order.
   */
  readonly lookupBeforeCreate?: boolean;
}

/**
 * Builds a ccxt exchange instance for spot trading and wraps it. ccxt is imported here, lazily, because
 * loading it takes about a second and only the executor needs it.
 */
export async function createCcxtExchange(cfg: CcxtExchangeConfig): Promise<CcxtExchange> {
  // the named export `exchanges` maps id → class
  const { exchanges } = (await import('ccxt')) as unknown as { exchanges: Record<string, new (config: Record<string, unknown>) => Exchange> };
  const Ctor = Object.hasOwn(exchanges, cfg.id) ? exchanges[cfg.id] : undefined;
  if (Ctor === undefined)
    throw new AppError('CONFIG', `unknown ccxt exchange id '${cfg.id}'`, { hint: 'use a ccxt exchange id such as binance, kraken or okx' });
  const ex = new Ctor({
    apiKey: cfg.apiKey,
    secret: cfg.secret,
    password: cfg.password,
    enableRateLimit: true,
    ...(cfg.timeoutMs !== undefined ? { timeout: cfg.timeoutMs } : {}),
  });
  ex.options['defaultType'] = 'spot';
  if (cfg.id === 'binance') {
    // spot only: do not load futures/options markets or margin pairs, and do not call the sapi currency
    // endpoint (it does not exist on the testnet); fetching open orders for all symbols is deliberate
    ex.options['fetchMarkets'] = { types: ['spot'] };
    ex.options['fetchMargins'] = false;
    ex.options['fetchCurrencies'] = false;
    ex.options['warnOnFetchOpenOrdersWithoutSymbol'] = false;
  }
  if (cfg.sandbox) ex.setSandboxMode(true);
  if (cfg.urlOverride !== undefined) overrideUrls(ex, cfg.urlOverride);
  return new CcxtExchange(ex, { lookupBeforeCreate: cfg.lookupBeforeCreate ?? true });
}

function overrideUrls(ex: Exchange, origin: string): void {
  let base: URL;
  try {
    base = new URL(origin);
  } catch {
    throw new AppError('CONFIG', `urlOverride must be an http(s) URL, got '${origin}'`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new AppError('CONFIG', `urlOverride must be an http(s) URL, got '${origin}'`);
  const urls = ex.urls as Record<string, unknown>;
  const api = urls['api'] as Record<string, unknown> | string;
  const rewrite = (u: string) => `${base.origin}${new URL(u).pathname.replace(/\/$/, '')}`;
  if (typeof api === 'string') urls['api'] = rewrite(api);
  else for (const [k, v] of Object.entries(api)) if (typeof v === 'string') api[k] = rewrite(v);
}

const UNIFIED_STATUS: Readonly<Record<string, ExchangeOrderStatus>> = {
  open: 'OPEN',
  canceling: 'OPEN',
  closed: 'FILLED',
  canceled: 'CANCELED',
  cancelled: 'CANCELED',
  rejected: 'REJECTED',
  expired: 'EXPIRED',
};

/**
 * ExchangeAdapter over a ccxt exchange instance. Our order id travels as the client order id (ccxt's unified
 * `clientOrderId` param; binance sends it as `newClientOrderId` and looks it up as `origClientOrderId`).
 * Orders are checked against the market's rules before sending (ccxt would silently truncate an off-step
 * amount). Errors come out as RetryableExchangeError / FinalExchangeError / UnknownOutcomeError (ccxt-error-map.ts).
 * Requests go through ccxt's own rate limiter (enableRateLimit).
 */
export class CcxtExchange implements ExchangeAdapter {
  readonly id: string;
  readonly #ex: Exchange;
  readonly #lookupBeforeCreate: boolean;
  #markets: Promise<void> | undefined;

  constructor(exchange: Exchange, opts: CcxtExchangeOptions = {}) {
    this.#ex = exchange;
    this.id = exchange.id;
    this.#lookupBeforeCreate = opts.lookupBeforeCreate ?? true;
    if (!exchange.enableRateLimit) exchange.enableRateLimit = true;
  }

  /** the wrapped instance (for reconciliation tools); do not log it: it holds the credentials */
  get ccxt(): Exchange {
    return this.#ex;
  }

  /** Load the exchange's markets now (a failed load throws a mapped error; the next call retries). */
  async loadMarkets(): Promise<void> {
    await this.#load();
  }

  async market(symbol: string): Promise<MarketInfo> {
    return toMarketInfo(await this.#market(symbol, 'loadMarkets'), this.id);
  }

  async createOrder(input: CreateOrderInput): Promise<ExchangeOrder> {
    const m = await this.#market(input.symbol, 'createOrder');
    const info = toMarketInfo(m, this.id);
    const violation = orderRuleViolation(input, info, null);
    if (violation !== null) throw new FinalExchangeError('invalid_order', this.id, 'createOrder', `${input.symbol}: ${violation}`);
    if (this.#lookupBeforeCreate) {
      const existing = await this.fetchOrderByClientId(input.orderId, input.symbol);
      if (existing) return this.#sameOrThrow(existing, input);
    }
    try {
      const o = await this.#ex.createOrder(input.symbol, input.type, input.side, input.quantity, input.limitPrice ?? undefined, {
        clientOrderId: input.orderId,
      });
      return toExchangeOrder(o, input.orderId, this.id, input);
    } catch (e) {
      const mapped = mapCcxtError(e, this.id, 'createOrder', input.orderId);
      if (mapped instanceof FinalExchangeError && mapped.reason === 'duplicate_order') {
        // the exchange knows this id already: answer with that order, as a repeated create must
        const existing = await this.fetchOrderByClientId(input.orderId, input.symbol);
        if (existing) return this.#sameOrThrow(existing, input);
      }
      throw mapped;
    }
  }

  async cancelOrder(clientOrderId: string, symbol: string): Promise<ExchangeOrder> {
    await this.#market(symbol, 'cancelOrder');
    try {
      const o = await this.#ex.cancelOrder(undefined as unknown as string, symbol, { clientOrderId });
      return toExchangeOrder(o, clientOrderId, this.id);
    } catch (e) {
      const mapped = mapCcxtError(e, this.id, 'cancelOrder');
      if (mapped instanceof FinalExchangeError && mapped.reason === 'order_not_found') {
        // Binance answers "Unknown order sent." for an order that exists but is no longer open
        const existing = await this.fetchOrderByClientId(clientOrderId, symbol);
        if (existing && existing.status !== 'OPEN' && existing.status !== 'PARTIALLY_FILLED') return existing;
      }
      throw mapped;
    }
  }

  async fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder | null> {
    await this.#market(symbol, 'fetchOrder');
    try {
      const o = await this.#ex.fetchOrder(undefined as unknown as string, symbol, { clientOrderId });
      return toExchangeOrder(o, clientOrderId, this.id);
    } catch (e) {
      const mapped = mapCcxtError(e, this.id, 'fetchOrder');
      if (mapped instanceof FinalExchangeError && mapped.reason === 'order_not_found') return null;
      throw mapped;
    }
  }

  async fetchOpenOrders(symbol?: string): Promise<ExchangeOrder[]> {
    if (symbol !== undefined) await this.#market(symbol, 'fetchOpenOrders');
    else await this.#load();
    try {
      const list = await this.#ex.fetchOpenOrders(symbol);
      return list.map((o) => toExchangeOrder(o, o.clientOrderId ?? '', this.id));
    } catch (e) {
      throw mapCcxtError(e, this.id, 'fetchOpenOrders');
    }
  }

  async fetchBalances(): Promise<Balances> {
    try {
      const b = await this.#ex.fetchBalance();
      const out: Record<string, { free: number; used: number; total: number }> = {};
      const free = (b.free ?? {}) as unknown as Record<string, number | undefined>;
      const used = (b.used ?? {}) as unknown as Record<string, number | undefined>;
      const total = (b.total ?? {}) as unknown as Record<string, number | undefined>;
      for (const cur of Object.keys(total)) {
        const f = free[cur] ?? 0;
        const u = used[cur] ?? 0;
        out[cur] = { free: f, used: u, total: total[cur] ?? f + u };
      }
      return out;
    } catch (e) {
      throw mapCcxtError(e, this.id, 'fetchBalance');
    }
  }

  async close(): Promise<void> {
    await this.#ex.close();
  }

  #sameOrThrow(existing: ExchangeOrder, input: CreateOrderInput): ExchangeOrder {
    if (!sameOrderParameters(existing, input))
      throw new FinalExchangeError('duplicate_order', this.id, 'createOrder', `client order id ${input.orderId} already names a different order`);
    return existing;
  }

  #loadFailed = false;

  /**
   * Loads markets once; a failed load is retried by the next call. ccxt caches the *rejected*
   * promise of a failed loadMarkets() and returns it forever, so a retry must force a reload.
   */
  async #load(): Promise<void> {
    this.#markets ??= this.#ex.loadMarkets(this.#loadFailed).then(
      () => {
        this.#loadFailed = false;
      },
      (e: unknown) => {
        this.#markets = undefined;
        this.#loadFailed = true;
        throw mapCcxtError(e, this.id, 'loadMarkets');
      },
    );
    await this.#markets;
  }

  async #market(symbol: string, op: CcxtOperation): Promise<CcxtMarket> {
    await this.#load();
    const m = (this.#ex.markets as Record<string, CcxtMarket> | undefined)?.[symbol];
    if (!m) throw new FinalExchangeError('bad_symbol', this.id, op, `${this.id} lists no market ${symbol}`);
    return m;
  }
}

function toMarketInfo(m: CcxtMarket, exchange: string): MarketInfo {
  const qtyStep = m.precision.amount;
  const priceStep = m.precision.price;
  if (!(qtyStep !== undefined && qtyStep > 0) || !(priceStep !== undefined && priceStep > 0))
    throw new FinalExchangeError('not_supported', exchange, 'loadMarkets', `market ${m.symbol} has no tick-size precision (precision mode must be TICK_SIZE)`);
  return {
    symbol: m.symbol,
    base: m.base,
    quote: m.quote,
    minQty: m.limits.amount?.min ?? 0,
    qtyStep,
    priceStep,
    minNotional: m.limits.cost?.min ?? 0,
  };
}

function toExchangeOrder(o: CcxtOrder, clientOrderId: string, exchange: string, input?: CreateOrderInput): ExchangeOrder {
  const status = UNIFIED_STATUS[o.status ?? ''];
  if (status === undefined)
    throw new RetryableExchangeError('bad_response', exchange, 'parseOrder', `order ${clientOrderId} has an unknown status '${String(o.status)}'`);
  const filled = o.filled ?? 0;
  const quantity = o.amount ?? input?.quantity ?? 0;
  const quote = o.symbol?.split('/')[1]?.split(':')[0] ?? '';
  const exchangeOrderId = o.id ?? '';
  const fills: Fill[] = (o.trades ?? []).map((t: CcxtTrade, i: number) => ({
    schemaVersion: SCHEMA_VERSION,
    fillId: t.id ?? `${exchangeOrderId}-${i + 1}`,
    orderId: clientOrderId,
    exchange,
    symbol: o.symbol ?? '',
    side: o.side === 'sell' ? 'sell' : 'buy',
    quantity: t.amount ?? 0,
    price: t.price ?? 0,
    fee: t.fee?.cost ?? 0,
    feeCurrency: t.fee?.currency ?? quote,
    liquidity: t.takerOrMaker === 'maker' || t.takerOrMaker === 'taker' ? t.takerOrMaker : null,
    ts: t.timestamp ?? o.timestamp ?? Date.now(),
  }));
  const feeList = (o as CcxtOrder & { fees?: { cost?: number; currency?: string }[] }).fees ?? (o.fee ? [o.fee] : []);
  const fees = feeList.reduce((s, f) => s + (f.currency === quote && f.cost !== undefined ? f.cost : 0), 0);
  return {
    clientOrderId,
    exchangeOrderId,
    symbol: o.symbol ?? input?.symbol ?? '',
    side: o.side === 'sell' ? 'sell' : 'buy',
    type: o.type === 'limit' ? 'limit' : 'market',
    quantity,
    limitPrice: o.type === 'limit' ? (o.price ?? null) : null,
    status: status === 'OPEN' && filled > 0 ? 'PARTIALLY_FILLED' : status,
    filledQuantity: filled,
    avgFillPrice: filled > 0 ? (o.average ?? null) : null,
    fees,
    fills,
    updatedAt: o.lastUpdateTimestamp ?? o.timestamp ?? Date.now(),
  };
}
