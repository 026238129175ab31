import { randomUUID } from 'node:crypto';
import type { MarketInfo } from '@meridian/contracts';
import { describe, expect, it } from 'vitest';
import type { ExchangeAdapter } from './exchange-adapter.ts';
import { FinalExchangeError, type FinalReason } from './exchange-errors.ts';

/**
 * The one suite every ExchangeAdapter must pass (paper, ccxt against the fake exchange). Each test gets a
 * fresh fixture from `makeFixture` and disposes it, so no test depends on another's orders or balances.
 */
export interface AdapterFixture {
  readonly adapter: ExchangeAdapter;
  /** a market whose rules are `market`, trading at about `price`; the account holds `quoteBalance` of its quote and none of its base */
  readonly market: MarketInfo;
  readonly price: number;
  readonly quoteBalance: number;
  /** lets pending market orders fill (paper: feed the next bar at `price`; an exchange that fills on create: nothing) */
  settle(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export function runExchangeAdapterSpec(name: string, makeFixture: () => Promise<AdapterFixture>): void {
  describe(`ExchangeAdapter spec: ${name}`, () => {
    const newId = () => randomUUID();

    async function expectFinal(p: Promise<unknown>, reason: FinalReason): Promise<FinalExchangeError> {
      const e = await p.then(
        () => expect.fail(`expected a FinalExchangeError(${reason}) but the call succeeded`),
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(FinalExchangeError);
      expect((e as FinalExchangeError).reason).toBe(reason);
      return e as FinalExchangeError;
    }

    /** a valid quantity worth about 4× the minimum notional (at least 10× minQty) at `price` */
    const size = (f: AdapterFixture, price: number) => {
      const steps = Math.ceil(Math.max((f.market.minNotional * 4) / price, f.market.minQty * 10) / f.market.qtyStep);
      return Number((steps * f.market.qtyStep).toFixed(12));
    };
    const tick = (f: AdapterFixture, price: number) => Number((Math.round(price / f.market.priceStep) * f.market.priceStep).toFixed(12));

    /** a limit buy far enough below the price that it rests */
    const restingBuy = (f: AdapterFixture, orderId = newId()) => {
      const limitPrice = tick(f, f.price / 2);
      return { orderId, symbol: f.market.symbol, side: 'buy' as const, type: 'limit' as const, quantity: size(f, limitPrice), limitPrice };
    };

    it('reports the market rules and rejects an unknown symbol as bad_symbol', async () => {
      await using f = await makeFixture();
      const m = await f.adapter.market(f.market.symbol);
      expect(m.symbol).toBe(f.market.symbol);
      expect(m.minQty).toBeCloseTo(f.market.minQty, 12);
      expect(m.qtyStep).toBeCloseTo(f.market.qtyStep, 12);
      expect(m.priceStep).toBeCloseTo(f.market.priceStep, 12);
      expect(m.minNotional).toBeCloseTo(f.market.minNotional, 12);
      await expectFinal(f.adapter.market('NOPE/USDT'), 'bad_symbol');
    });

    it('creates a resting limit order that is open and found by client order id', async () => {
      await using f = await makeFixture();
      const req = restingBuy(f);
      const o = await f.adapter.createOrder(req);
      expect(o).toMatchObject({ clientOrderId: req.orderId, symbol: req.symbol, side: 'buy', type: 'limit', status: 'OPEN', filledQuantity: 0 });
      expect(o.quantity).toBeCloseTo(req.quantity, 12);
      expect(o.limitPrice).toBeCloseTo(req.limitPrice, 12);
      expect(o.exchangeOrderId.length).toBeGreaterThan(0);

      const found = await f.adapter.fetchOrderByClientId(req.orderId, req.symbol);
      expect(found).toMatchObject({ clientOrderId: req.orderId, exchangeOrderId: o.exchangeOrderId, status: 'OPEN' });
      const open = await f.adapter.fetchOpenOrders(req.symbol);
      expect(open.map((x) => x.clientOrderId)).toEqual([req.orderId]);
      const openAll = await f.adapter.fetchOpenOrders();
      expect(openAll.map((x) => x.clientOrderId)).toContain(req.orderId);
    });

    it('returns null for a client order id it does not know', async () => {
      await using f = await makeFixture();
      expect(await f.adapter.fetchOrderByClientId(newId(), f.market.symbol)).toBeNull();
    });

    it('is idempotent on client order id: a second create returns the first order, never a second one', async () => {
      await using f = await makeFixture();
      const req = restingBuy(f);
      const a = await f.adapter.createOrder(req);
      const b = await f.adapter.createOrder(req);
      expect(b.exchangeOrderId).toBe(a.exchangeOrderId);
      expect(b.clientOrderId).toBe(req.orderId);
      const open = await f.adapter.fetchOpenOrders(req.symbol);
      expect(open).toHaveLength(1);
      // the quote reserved for one order only
      const bal = await f.adapter.fetchBalances();
      const quote = bal[f.market.quote];
      expect(quote?.total).toBeCloseTo(f.quoteBalance, 6);
      expect(quote?.used ?? 0).toBeLessThanOrEqual(req.quantity * req.limitPrice * 1.01);
    });

    it('refuses to reuse a client order id for a different order', async () => {
      await using f = await makeFixture();
      const req = restingBuy(f);
      await f.adapter.createOrder(req);
      await expectFinal(f.adapter.createOrder({ ...req, quantity: req.quantity * 2 }), 'duplicate_order');
      expect(await f.adapter.fetchOpenOrders(req.symbol)).toHaveLength(1);
    });

    it('cancels an open order; cancelling again returns it unchanged', async () => {
      await using f = await makeFixture();
      const req = restingBuy(f);
      await f.adapter.createOrder(req);
      const c = await f.adapter.cancelOrder(req.orderId, req.symbol);
      expect(c).toMatchObject({ clientOrderId: req.orderId, status: 'CANCELED', filledQuantity: 0 });
      expect(await f.adapter.fetchOpenOrders(req.symbol)).toEqual([]);
      expect((await f.adapter.fetchOrderByClientId(req.orderId, req.symbol))?.status).toBe('CANCELED');
      expect((await f.adapter.cancelOrder(req.orderId, req.symbol)).status).toBe('CANCELED');
      const quote = (await f.adapter.fetchBalances())[f.market.quote];
      expect(quote?.free).toBeCloseTo(f.quoteBalance, 6);
    });

    it('cancelling an unknown order is order_not_found', async () => {
      await using f = await makeFixture();
      await expectFinal(f.adapter.cancelOrder(newId(), f.market.symbol), 'order_not_found');
    });

    it('fills a market buy and a market sell, and balances follow', async () => {
      await using f = await makeFixture();
      const qty = size(f, f.price);
      const buy = { orderId: newId(), symbol: f.market.symbol, side: 'buy' as const, type: 'market' as const, quantity: qty, limitPrice: null };
      await f.adapter.createOrder(buy);
      await f.settle();
      const filled = await f.adapter.fetchOrderByClientId(buy.orderId, buy.symbol);
      expect(filled?.status).toBe('FILLED');
      expect(filled?.filledQuantity).toBeCloseTo(qty, 12);
      expect(filled?.avgFillPrice).toBeGreaterThan(f.price * 0.9);
      expect(filled?.avgFillPrice).toBeLessThan(f.price * 1.1);
      let bal = await f.adapter.fetchBalances();
      expect(bal[f.market.base]?.total).toBeCloseTo(qty, 9);
      const spent = f.quoteBalance - (bal[f.market.quote]?.total ?? 0);
      expect(spent).toBeGreaterThanOrEqual(qty * (filled?.avgFillPrice ?? 0) * (1 - 1e-9));

      const sell = { ...buy, orderId: newId(), side: 'sell' as const };
      await f.adapter.createOrder(sell);
      await f.settle();
      expect((await f.adapter.fetchOrderByClientId(sell.orderId, sell.symbol))?.status).toBe('FILLED');
      bal = await f.adapter.fetchBalances();
      expect(bal[f.market.base]?.total ?? 0).toBeCloseTo(0, 9);
      expect(bal[f.market.quote]?.total).toBeLessThanOrEqual(f.quoteBalance);
    });

    it('rejects orders that break the market rules as invalid_order, and creates nothing', async () => {
      await using f = await makeFixture();
      const m = f.market;
      const limitPrice = tick(f, f.price / 2);
      const qty = size(f, limitPrice);
      const base = { symbol: m.symbol, side: 'buy' as const, type: 'limit' as const };
      const cases = [
        { what: 'below minQty', quantity: m.minQty / 2, limitPrice },
        { what: 'off the qty step', quantity: qty + m.qtyStep / 2, limitPrice },
        { what: 'off the price tick', quantity: qty, limitPrice: limitPrice + m.priceStep / 2 },
        { what: 'below minNotional', quantity: m.minQty, limitPrice: m.priceStep },
      ];
      for (const c of cases) {
        const e = await expectFinal(f.adapter.createOrder({ ...base, orderId: newId(), quantity: c.quantity, limitPrice: c.limitPrice }), 'invalid_order');
        expect(e.message.length, c.what).toBeGreaterThan(0);
      }
      expect(await f.adapter.fetchOpenOrders(m.symbol)).toEqual([]);
    });

    it('rejects an order the account cannot pay for as insufficient_funds', async () => {
      await using f = await makeFixture();
      const price = tick(f, f.price);
      const steps = Math.ceil((f.quoteBalance * 2) / price / f.market.qtyStep);
      const req = { orderId: newId(), symbol: f.market.symbol, side: 'buy' as const, type: 'limit' as const, quantity: Number((steps * f.market.qtyStep).toFixed(12)), limitPrice: price };
      await expectFinal(f.adapter.createOrder(req), 'insufficient_funds');
      // and selling base the account does not hold (spot)
      const high = tick(f, f.price * 2);
      await expectFinal(f.adapter.createOrder({ ...req, orderId: newId(), side: 'sell', quantity: size(f, high), limitPrice: high }), 'insufficient_funds');
      expect(await f.adapter.fetchOpenOrders(f.market.symbol)).toEqual([]);
    });
  });
}
