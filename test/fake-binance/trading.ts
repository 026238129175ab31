import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FakeRequest, FakeResponse, FakeRoute, FakeServer } from './fake-server.ts';
import { DEFAULT_SYMBOLS, fakePrice, marketDataRoutes, type FakeSymbol, type MarketDataOptions } from './market-data-routes.ts';
import { startFakeServer } from './fake-server.ts';

/**
 * Signed spot trading endpoints of Binance, as ccxt's `binance` class calls them: account, order
 * create/query/cancel, openOrders, myTrades. Requests must carry the test API key and an HMAC-SHA256 signature
 * made with the test secret. Market orders fill at once at the symbol's configured price; limit orders rest
 * (funds locked) until cancelled or `fillOpenOrder` is called. A client order id can be used once: a
 * duplicate `newClientOrderId` gets -2010 "Duplicate order sent." (stricter than Binance, which only refuses it
 * among open orders — our adapter looks an id up before creating, so it does not rely on either).
 *
 * Trading faults (queued, one-shot, consumed by the next POST /api/v3/order), on top of the core's
 * status/latency/drop faults:
 * - `accept-and-drop`: the order is stored and filled as usual, then the connection is destroyed unanswered;
 * - `accept-and-hold`: the order is stored, then the answer is held `ms` (past the client's timeout).
 */
export const FAKE_BINANCE_API_KEY = 'meridian-fake-binance-api-key-0001';
export const FAKE_BINANCE_SECRET = 'meridian-fake-binance-secret-0001-do-not-use';

export type TradingFault = { readonly kind: 'accept-and-drop' } | { readonly kind: 'accept-and-hold'; readonly ms: number };

export interface TradingOptions {
  readonly apiKey?: string;
  readonly secret?: string;
  /** starting free balances; default { USDT: 100_000 } */
  readonly balances?: Readonly<Record<string, number>>;
  readonly symbols?: readonly FakeSymbol[];
  readonly now?: () => number;
  /** taker/maker fee rate charged in the quote asset; default 0.001 */
  readonly feeRate?: number;
}

export interface FakeOrder {
  readonly symbol: string;
  readonly orderId: number;
  readonly clientOrderId: string;
  readonly side: 'BUY' | 'SELL';
  readonly type: 'LIMIT' | 'MARKET';
  readonly price: number;
  readonly origQty: number;
  executedQty: number;
  cummulativeQuoteQty: number;
  status: 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED' | 'REJECTED';
  readonly time: number;
  updateTime: number;
  /** quote locked for a resting buy, base locked for a resting sell */
  locked: number;
  readonly fills: FakeTrade[];
}

export interface FakeTrade {
  readonly id: number;
  readonly orderId: number;
  readonly price: number;
  readonly qty: number;
  readonly commission: number;
  readonly commissionAsset: string;
  readonly time: number;
  readonly isMaker: boolean;
}

export interface FakeTrading {
  readonly routes: FakeRoute[];
  /** every order the exchange accepted, in order */
  readonly orders: readonly FakeOrder[];
  /** the price market orders fill at (default: the market-data price at now()) */
  setPrice(symbol: string, price: number): void;
  /** fill a resting order in full at its limit price (as if the market traded through it) */
  fillOpenOrder(clientOrderId: string): void;
  inject(...faults: TradingFault[]): void;
  balance(asset: string): { free: number; locked: number };
}

const CLIENT_ID_RE = /^[.A-Z:/a-z0-9_-]{1,36}$/;

function fail(status: number, code: number, msg: string): FakeResponse {
  return { status, body: { code, msg } };
}

const n8 = (x: number): string => x.toFixed(8);

export function tradingRoutes(opts: TradingOptions = {}): FakeTrading {
  const apiKey = opts.apiKey ?? FAKE_BINANCE_API_KEY;
  const secret = opts.secret ?? FAKE_BINANCE_SECRET;
  const now = opts.now ?? (() => Date.now());
  const feeRate = opts.feeRate ?? 0.001;
  const symbols = new Map((opts.symbols ?? DEFAULT_SYMBOLS).map((s) => [s.base + s.quote, s]));
  const free = new Map<string, number>(Object.entries(opts.balances ?? { USDT: 100_000 }));
  const locked = new Map<string, number>();
  const prices = new Map<string, number>();
  const orders: FakeOrder[] = [];
  const byClientId = new Map<string, FakeOrder>();
  const faults: TradingFault[] = [];
  let nextOrderId = 1000;
  let nextTradeId = 5000;

  const add = (m: Map<string, number>, asset: string, x: number) => m.set(asset, (m.get(asset) ?? 0) + x);
  const priceOf = (s: FakeSymbol): number => prices.get(s.base + s.quote) ?? Number(fakePrice(s, now()).toFixed(decimals(s.tickSize)));

  /** Verifies key and signature; returns the signed parameters or an error response. */
  function authenticate(req: FakeRequest): URLSearchParams | FakeResponse {
    if (req.headers['x-mbx-apikey'] !== apiKey) return fail(401, -2014, 'API-key format invalid.');
    const raw = req.method === 'GET' || req.method === 'DELETE' ? req.query.toString() : req.body;
    const i = raw.lastIndexOf('&signature=');
    if (i < 0) return fail(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
    const payload = raw.slice(0, i);
    const given = Buffer.from(raw.slice(i + '&signature='.length), 'utf8');
    const want = Buffer.from(createHmac('sha256', secret).update(payload).digest('hex'), 'utf8');
    if (given.length !== want.length || !timingSafeEqual(given, want)) return fail(400, -1022, 'Signature for this request is not valid.');
    const params = new URLSearchParams(payload);
    if (!params.get('timestamp')) return fail(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.");
    return params;
  }

  const signed =
    (h: (p: URLSearchParams) => FakeResponse | Promise<FakeResponse>) =>
    (req: FakeRequest): FakeResponse | Promise<FakeResponse> => {
      const p = authenticate(req);
      return p instanceof URLSearchParams ? h(p) : p;
    };

  function orderJson(o: FakeOrder): Record<string, unknown> {
    return {
      symbol: o.symbol,
      orderId: o.orderId,
      orderListId: -1,
      clientOrderId: o.clientOrderId,
      price: n8(o.price),
      origQty: n8(o.origQty),
      executedQty: n8(o.executedQty),
      cummulativeQuoteQty: n8(o.cummulativeQuoteQty),
      status: o.status,
      timeInForce: o.type === 'LIMIT' ? 'GTC' : 'GTC',
      type: o.type,
      side: o.side,
      stopPrice: '0.00000000',
      icebergQty: '0.00000000',
      time: o.time,
      updateTime: o.updateTime,
      isWorking: true,
      workingTime: o.time,
      origQuoteOrderQty: '0.00000000',
      selfTradePreventionMode: 'EXPIRE_MAKER',
    };
  }

  function fillsJson(o: FakeOrder): unknown[] {
    return o.fills.map((t) => ({ price: n8(t.price), qty: n8(t.qty), commission: n8(t.commission), commissionAsset: t.commissionAsset, tradeId: t.id }));
  }

  function execute(o: FakeOrder, s: FakeSymbol, price: number, isMaker: boolean): void {
    const notional = o.origQty * price;
    const fee = notional * feeRate;
    // release any lock, then settle
    if (o.locked > 0) {
      const lockedAsset = o.side === 'BUY' ? s.quote : s.base;
      add(locked, lockedAsset, -o.locked);
      add(free, lockedAsset, o.locked);
      o.locked = 0;
    }
    if (o.side === 'BUY') {
      add(free, s.quote, -(notional + fee));
      add(free, s.base, o.origQty);
    } else {
      add(free, s.base, -o.origQty);
      add(free, s.quote, notional - fee);
    }
    const t = now();
    o.fills.push({ id: nextTradeId++, orderId: o.orderId, price, qty: o.origQty, commission: fee, commissionAsset: s.quote, time: t, isMaker });
    o.executedQty = o.origQty;
    o.cummulativeQuoteQty = notional;
    o.status = 'FILLED';
    o.updateTime = t;
  }

  async function createOrder(p: URLSearchParams): Promise<FakeResponse> {
    const s = symbols.get(p.get('symbol') ?? '');
    if (!s) return fail(400, -1121, 'Invalid symbol.');
    const side = p.get('side');
    const type = p.get('type');
    if (side !== 'BUY' && side !== 'SELL') return fail(400, -1102, "Mandatory parameter 'side' was not sent, was empty/null, or malformed.");
    if (type !== 'LIMIT' && type !== 'MARKET') return fail(400, -1116, 'Invalid orderType.');
    const clientOrderId = p.get('newClientOrderId') ?? `fake-${nextOrderId}`;
    if (!CLIENT_ID_RE.test(clientOrderId))
      return fail(400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.");
    if (byClientId.has(clientOrderId)) return fail(400, -2010, 'Duplicate order sent.');
    const qty = Number(p.get('quantity'));
    if (!(qty > 0)) return fail(400, -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.");
    const step = Number(s.stepSize);
    if (qty < step || !isMultiple(qty, step)) return fail(400, -1013, 'Filter failure: LOT_SIZE');
    let price: number;
    if (type === 'LIMIT') {
      price = Number(p.get('price'));
      if (!(price > 0)) return fail(400, -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.");
      if (!isMultiple(price, Number(s.tickSize))) return fail(400, -1013, 'Filter failure: PRICE_FILTER');
      if (!p.get('timeInForce')) return fail(400, -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.");
    } else price = priceOf(s);
    if (qty * price < Number(s.minNotional)) return fail(400, -1013, 'Filter failure: NOTIONAL');
    const need = side === 'BUY' ? qty * price * (1 + feeRate) : qty;
    const asset = side === 'BUY' ? s.quote : s.base;
    if ((free.get(asset) ?? 0) < need - 1e-12) return fail(400, -2010, 'Account has insufficient balance for requested action.');

    const t = now();
    const o: FakeOrder = {
      symbol: s.base + s.quote,
      orderId: nextOrderId++,
      clientOrderId,
      side,
      type,
      price: type === 'LIMIT' ? price : 0,
      origQty: qty,
      executedQty: 0,
      cummulativeQuoteQty: 0,
      status: 'NEW',
      time: t,
      updateTime: t,
      locked: 0,
      fills: [],
    };
    orders.push(o);
    byClientId.set(clientOrderId, o);
    if (type === 'MARKET') execute(o, s, price, false);
    else {
      const lock = side === 'BUY' ? qty * price : qty;
      add(free, asset, -lock);
      add(locked, asset, lock);
      o.locked = lock;
    }
    const body = { ...orderJson(o), transactTime: t, fills: fillsJson(o) };
    const fault = faults.shift();
    if (fault?.kind === 'accept-and-drop') return { status: 200, body, drop: true };
    if (fault?.kind === 'accept-and-hold') await new Promise((r) => setTimeout(r, fault.ms));
    return { status: 200, body };
  }

  function findOrder(p: URLSearchParams): FakeOrder | undefined {
    const id = p.get('orderId');
    const cid = p.get('origClientOrderId');
    const o = id !== null ? orders.find((x) => x.orderId === Number(id)) : cid !== null ? byClientId.get(cid) : undefined;
    return o && o.symbol === p.get('symbol') ? o : undefined;
  }

  const routes: FakeRoute[] = [
    {
      method: 'GET',
      path: '/api/v3/account',
      handler: signed(() => ({
        status: 200,
        body: {
          makerCommission: 10,
          takerCommission: 10,
          buyerCommission: 0,
          sellerCommission: 0,
          commissionRates: { maker: n8(feeRate), taker: n8(feeRate), buyer: '0.00000000', seller: '0.00000000' },
          canTrade: true,
          canWithdraw: true,
          canDeposit: true,
          brokered: false,
          requireSelfTradePrevention: false,
          preventSor: false,
          updateTime: now(),
          accountType: 'SPOT',
          balances: [...new Set([...free.keys(), ...locked.keys()])].map((a) => ({ asset: a, free: n8(free.get(a) ?? 0), locked: n8(locked.get(a) ?? 0) })),
          permissions: ['SPOT'],
          uid: 1,
        },
      })),
    },
    { method: 'POST', path: '/api/v3/order', handler: signed(createOrder) },
    {
      method: 'GET',
      path: '/api/v3/order',
      handler: signed((p) => {
        const o = findOrder(p);
        return o ? { status: 200, body: orderJson(o) } : fail(400, -2013, 'Order does not exist.');
      }),
    },
    {
      method: 'DELETE',
      path: '/api/v3/order',
      handler: signed((p) => {
        const o = findOrder(p);
        if (!o || (o.status !== 'NEW' && o.status !== 'PARTIALLY_FILLED')) return fail(400, -2011, 'Unknown order sent.');
        const s = symbols.get(o.symbol)!;
        const asset = o.side === 'BUY' ? s.quote : s.base;
        add(locked, asset, -o.locked);
        add(free, asset, o.locked);
        o.locked = 0;
        o.status = 'CANCELED';
        o.updateTime = now();
        return { status: 200, body: { ...orderJson(o), origClientOrderId: o.clientOrderId, clientOrderId: `cancel-${o.orderId}`, transactTime: o.updateTime } };
      }),
    },
    {
      method: 'GET',
      path: '/api/v3/openOrders',
      handler: signed((p) => {
        const sym = p.get('symbol');
        if (sym !== null && !symbols.has(sym)) return fail(400, -1121, 'Invalid symbol.');
        const open = orders.filter((o) => (o.status === 'NEW' || o.status === 'PARTIALLY_FILLED') && (sym === null || o.symbol === sym));
        return { status: 200, body: open.map(orderJson) };
      }),
    },
    {
      method: 'GET',
      path: '/api/v3/myTrades',
      handler: signed((p) => {
        const sym = p.get('symbol');
        if (sym === null || !symbols.has(sym)) return fail(400, -1121, 'Invalid symbol.');
        const orderId = p.get('orderId');
        const trades = orders
          .filter((o) => o.symbol === sym && (orderId === null || o.orderId === Number(orderId)))
          .flatMap((o) =>
            o.fills.map((t) => ({
              symbol: o.symbol,
              id: t.id,
              orderId: o.orderId,
              orderListId: -1,
              price: n8(t.price),
              qty: n8(t.qty),
              quoteQty: n8(t.qty * t.price),
              commission: n8(t.commission),
              commissionAsset: t.commissionAsset,
              time: t.time,
              isBuyer: o.side === 'BUY',
              isMaker: t.isMaker,
              isBestMatch: true,
            })),
          );
        return { status: 200, body: trades };
      }),
    },
  ];

  return {
    routes,
    orders,
    setPrice: (symbol, price) => {
      prices.set(symbol.replace('/', ''), price);
    },
    fillOpenOrder: (clientOrderId) => {
      const o = byClientId.get(clientOrderId);
      if (!o || o.status !== 'NEW') throw new Error(`fake binance: no open order ${clientOrderId}`);
      execute(o, symbols.get(o.symbol)!, o.price, true);
    },
    inject: (...fs) => {
      faults.push(...fs);
    },
    balance: (asset) => ({ free: free.get(asset) ?? 0, locked: locked.get(asset) ?? 0 }),
  };
}

function decimals(step: string): number {
  return step.replace(/0+$/, '').split('.')[1]?.length ?? 0;
}

function isMultiple(x: number, step: number): boolean {
  const k = x / step;
  return Math.abs(k - Math.round(k)) < 1e-6;
}

/** A fake Binance with public market data and signed trading. */
export async function startFakeBinanceWithTrading(opts: TradingOptions & MarketDataOptions = {}): Promise<{ server: FakeServer; trading: FakeTrading }> {
  const trading = tradingRoutes(opts);
  const server = await startFakeServer([...marketDataRoutes(opts), ...trading.routes]);
  return { server, trading };
}
