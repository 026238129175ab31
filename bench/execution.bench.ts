import type { MarketInfo } from '@meridian/contracts';
import { SimulatedClock } from '@meridian/core';
import { PaperExchange, PortfolioLedger } from '@meridian/execution';
import type { BenchResult } from './bench-result.ts';

const BTC: MarketInfo = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', minQty: 0.0001, qtyStep: 0.0001, priceStep: 0.01, minNotional: 5 };
const T0 = Date.UTC(2024, 0, 1);

function bars(n: number): { ts: number; open: number; high: number; low: number; close: number }[] {
  const out = [];
  let p = 20_000;
  for (let i = 0; i < n; i++) {
    const o = p;
    p = p * (1 + Math.sin(i * 0.37) * 0.002);
    out.push({ ts: T0 + i * 60_000, open: o, high: Math.max(o, p) * 1.001, low: Math.min(o, p) * 0.999, close: p });
  }
  return out;
}

function rate(n: number, fn: () => void): number {
  fn(); // warm-up
  const t = performance.now();
  fn();
  return n / ((performance.now() - t) / 1000);
}

/** Per-bar cost of the paper exchange and the ledger as the backtest drives them (target ≥ 100 000 bars/s). */
export async function run(): Promise<BenchResult[]> {
  const N = 500_000;
  const feed = bars(N);
  const clock = new SimulatedClock(T0);

  const idle = new PaperExchange({ markets: [BTC], balances: { USDT: 1e6 }, clock });
  const idleRate = rate(N, () => {
    for (const b of feed) idle.onBar('BTC/USDT', b);
  });

  // an order every 20 bars, alternating buy/sell market orders, ledger applying fills and marking every bar
  const busyRate = rate(N, () => {
    const ex = new PaperExchange({ markets: [BTC], balances: { USDT: 1e9 }, clock: new SimulatedClock(T0) });
    const ledger = new PortfolioLedger({ exchange: 'paper', quoteCurrency: 'USDT', initialCash: 1e9, startAt: T0 });
    let k = 0;
    for (const b of feed) {
      for (const ev of ex.onBar('BTC/USDT', b)) ledger.applyFill(ev.fill);
      ledger.mark('BTC/USDT', b.close, b.ts);
      if (++k % 20 === 0) {
        const side = (k / 20) % 2 === 1 ? 'buy' : 'sell';
        ex.createOrderSync({ orderId: `00000000-0000-7000-8000-${String(k).padStart(12, '0')}`, symbol: 'BTC/USDT', side, type: 'market', quantity: 0.01, limitPrice: null });
      }
    }
  });

  return [
    { name: 'paper onBar, no open orders', value: Math.round(idleRate), unit: 'bars/s', target: '≥ 100000', notes: `${N} bars` },
    {
      name: 'paper + ledger, order every 20 bars',
      value: Math.round(busyRate),
      unit: 'bars/s',
      target: '≥ 100000',
      notes: `${N} bars, market orders filled next bar, ledger marks every bar`,
    },
  ];
}
