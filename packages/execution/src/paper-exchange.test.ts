import { randomUUID } from 'node:crypto';
import type { MarketInfo } from '@meridian/contracts';
import { SimulatedClock } from '@meridian/core';
import { describe, expect, it } from 'vitest';
import { runExchangeAdapterSpec } from './exchange-adapter-spec.ts';
import { FinalExchangeError } from './exchange-errors.ts';
import { PaperExchange, type PaperExchangeOptions } from './paper-exchange.ts';

const BTC: MarketInfo = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', minQty: 0.0001, qtyStep: 0.0001, priceStep: 0.01, minNotional: 5 };
const T0 = Date.UTC(2024, 0, 1);
const bar = (ts: number, open: number, high = open, low = open, close = open) => ({ ts, open, high, low, close });

function paper(over: Partial<PaperExchangeOptions> = {}) {
  const clock = new SimulatedClock(T0);
  const ex = new PaperExchange({ markets: [BTC], balances: { USDT: 10_000 }, feeBps: 10, slippageBps: 5, clock, ...over });
  ex.onPrice('BTC/USDT', 20_000, T0);
  return { ex, clock };
}

runExchangeAdapterSpec('PaperExchange', async () => {
  const { ex, clock } = paper();
  return {
    adapter: ex,
    market: BTC,
    price: 20_000,
    quoteBalance: 10_000,
    async settle() {
      clock.advance(60_000);
      ex.onPrice('BTC/USDT', 20_000, clock.now());
    },
    async [Symbol.asyncDispose]() {
      await ex.close();
    },
  };
});

const market = (side: 'buy' | 'sell', quantity: number) => ({ orderId: randomUUID(), symbol: 'BTC/USDT', side, type: 'market' as const, quantity, limitPrice: null });
const limit = (side: 'buy' | 'sell', quantity: number, limitPrice: number) => ({ orderId: randomUUID(), symbol: 'BTC/USDT', side, type: 'limit' as const, quantity, limitPrice });

describe('PaperExchange fills', () => {
  it('fills a market order at the NEXT bar open, slippage against the taker, fee in quote', async () => {
    const { ex } = paper();
    const o = await ex.createOrder(market('buy', 0.1));
    expect(o.status).toBe('OPEN');
    const events = ex.onBar('BTC/USDT', bar(T0 + 60_000, 21_000, 21_500, 20_900, 21_400));
    expect(events).toHaveLength(1);
    const { fill, order } = events[0]!;
    expect(fill.price).toBeCloseTo(21_000 * 1.0005, 9);
    expect(fill.fee).toBeCloseTo(0.1 * 21_000 * 1.0005 * 0.001, 9);
    expect(fill).toMatchObject({ orderId: o.clientOrderId, side: 'buy', quantity: 0.1, feeCurrency: 'USDT', liquidity: 'taker', ts: T0 + 60_000 });
    expect(order).toMatchObject({ status: 'FILLED', filledQuantity: 0.1, avgFillPrice: fill.price, fees: fill.fee });
    const bal = await ex.fetchBalances();
    expect(bal.BTC?.total).toBeCloseTo(0.1, 12);
    expect(bal.USDT?.total).toBeCloseTo(10_000 - 0.1 * fill.price - fill.fee, 9);
    expect(bal.USDT?.used).toBeCloseTo(0, 9);

    const s = await ex.createOrder(market('sell', 0.1));
    const [sold] = ex.onBar('BTC/USDT', bar(T0 + 120_000, 22_000));
    expect(sold?.fill.price).toBeCloseTo(22_000 * 0.9995, 9);
    expect(sold?.order.clientOrderId).toBe(s.clientOrderId);
  });

  it('fills a resting limit at the limit when the range crosses it, at the open when the price gaps through', async () => {
    const { ex } = paper();
    const buy = await ex.createOrder(limit('buy', 0.1, 19_000));
    expect(ex.onBar('BTC/USDT', bar(T0 + 60_000, 19_800, 19_900, 19_100, 19_500))).toHaveLength(0);
    const [touch] = ex.onBar('BTC/USDT', bar(T0 + 120_000, 19_500, 19_600, 18_900, 19_200));
    expect(touch?.fill).toMatchObject({ orderId: buy.clientOrderId, price: 19_000, liquidity: 'maker' });

    const sell = await ex.createOrder(limit('sell', 0.1, 20_000));
    const [gap] = ex.onBar('BTC/USDT', bar(T0 + 180_000, 20_500, 20_600, 20_400, 20_450));
    expect(gap?.fill).toMatchObject({ orderId: sell.clientOrderId, price: 20_500, liquidity: 'taker' });
  });

  it('does not fill an order on the bar it was created after, only on later updates', async () => {
    const { ex } = paper();
    ex.onBar('BTC/USDT', bar(T0, 20_000, 20_100, 18_000, 20_000));
    await ex.createOrder(limit('buy', 0.1, 19_000));
    // the bar already seen had low 18_000, but it was before the order existed
    expect(await ex.fetchOpenOrders('BTC/USDT')).toHaveLength(1);
  });

  it('expires a market buy whose next price makes it unaffordable, and no balance goes negative', async () => {
    const { ex } = paper({ balances: { USDT: 2_100 } });
    await ex.createOrder(market('buy', 0.1)); // reserves ~2003 at 20_000
    const events = ex.onBar('BTC/USDT', bar(T0 + 60_000, 30_000));
    expect(events).toHaveLength(0);
    const [o] = await ex.fetchOpenOrders();
    expect(o).toBeUndefined();
    const bal = await ex.fetchBalances();
    expect(bal.USDT).toEqual({ free: 2_100, used: 0, total: 2_100 });
  });

  it('returns the same frozen empty array when a symbol has no open orders (cheap per-bar path)', () => {
    const { ex } = paper();
    const a = ex.onBar('BTC/USDT', bar(T0 + 60_000, 20_000));
    const b = ex.onBar('ETH/USDT', bar(T0 + 60_000, 1_000));
    expect(a).toBe(b);
    expect(a).toHaveLength(0);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('is deterministic: the same inputs give identical fills', async () => {
    const run = async () => {
      const { ex } = paper();
      const out: unknown[] = [];
      const ids = ['018f0000-0000-7000-8000-000000000001', '018f0000-0000-7000-8000-000000000002'];
      await ex.createOrder({ ...market('buy', 0.2), orderId: ids[0]! });
      await ex.createOrder({ ...limit('buy', 0.1, 20_250), orderId: ids[1]! });
      for (let i = 1; i <= 5; i++) out.push(...ex.onBar('BTC/USDT', bar(T0 + i * 60_000, 20_000 + i * 300, 20_200 + i * 300, 19_900 + i * 300)));
      return { out, bal: await ex.fetchBalances() };
    };
    expect(await run()).toEqual(await run());
  });

  it('refuses a market order before any price is known, and an unknown symbol', async () => {
    const ex = new PaperExchange({ markets: [BTC], balances: { USDT: 1_000 }, clock: new SimulatedClock(T0) });
    await expect(ex.createOrder(market('buy', 0.01))).rejects.toBeInstanceOf(FinalExchangeError);
    await expect(ex.createOrder({ ...market('buy', 0.01), symbol: 'ETH/USDT' })).rejects.toMatchObject({ reason: 'bad_symbol' });
  });

  it('in margin mode a sell without holdings opens a short (base goes negative)', async () => {
    const { ex } = paper({ mode: 'margin' });
    await ex.createOrder(market('sell', 0.1));
    const [ev] = ex.onBar('BTC/USDT', bar(T0 + 60_000, 20_000));
    expect(ev?.order.status).toBe('FILLED');
    const bal = await ex.fetchBalances();
    expect(bal.BTC?.total).toBeCloseTo(-0.1, 12);
    expect(bal.USDT?.total).toBeGreaterThan(10_000);
  });

  it('rejects bad construction options with a clear error', () => {
    const clock = new SimulatedClock(T0);
    expect(() => new PaperExchange({ markets: [BTC], balances: { USDT: -1 }, clock })).toThrow(/USDT/);
    expect(() => new PaperExchange({ markets: [BTC], balances: {}, feeBps: Number.NaN, clock })).toThrow(/feeBps/);
  });
});
