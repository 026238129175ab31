import { PortfolioSnapshotSchema, type Fill } from '@meridian/contracts';
import { AppError, approxEq, DAY_MS } from '@meridian/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortfolioLedger, type AccountMode } from './portfolio-ledger.ts';

const T0 = Date.UTC(2024, 0, 1, 10);
const OID = '018f0000-0000-7000-8000-000000000001';
let seq = 0;
const fill = (side: 'buy' | 'sell', quantity: number, price: number, over: Partial<Fill> = {}): Fill => ({
  schemaVersion: 1,
  fillId: `f${++seq}`,
  orderId: OID,
  exchange: 'paper',
  symbol: 'BTC/USDT',
  side,
  quantity,
  price,
  fee: 0,
  feeCurrency: 'USDT',
  liquidity: 'taker',
  ts: T0,
  ...over,
});
const ledger = (mode: AccountMode = 'spot', initialCash = 10_000) => new PortfolioLedger({ exchange: 'paper', quoteCurrency: 'USDT', initialCash, startAt: T0, mode });

describe('PortfolioLedger: positions and P&L', () => {
  it('averages entry on increases only, realises on reductions, and keeps the average on a partial exit', () => {
    const l = ledger();
    l.applyFill(fill('buy', 1, 100));
    l.applyFill(fill('buy', 1, 200));
    expect(l.position('BTC/USDT')).toMatchObject({ quantity: 2, avgEntryPrice: 150, realizedPnl: 0 });
    l.applyFill(fill('sell', 0.5, 250));
    expect(l.position('BTC/USDT')).toMatchObject({ quantity: 1.5, avgEntryPrice: 150, realizedPnl: 50 });
    l.applyFill(fill('sell', 1.5, 100));
    expect(l.position('BTC/USDT')).toMatchObject({ quantity: 0, avgEntryPrice: 0, realizedPnl: 50 - 75, openedAt: null });
    expect(l.cash).toBeCloseTo(10_000 - 100 - 200 + 125 + 150, 9);
  });

  it('flips through zero in margin mode: closes the old side at its average, opens the new one at the fill price', () => {
    const l = ledger('margin');
    l.applyFill(fill('buy', 2, 100, { ts: T0 }));
    l.applyFill(fill('sell', 5, 110, { ts: T0 + 1000 }));
    expect(l.position('BTC/USDT')).toMatchObject({ quantity: -3, avgEntryPrice: 110, realizedPnl: 20, openedAt: T0 + 1000 });
    l.mark('BTC/USDT', 100, T0 + 2000);
    expect(l.position('BTC/USDT')?.unrealizedPnl).toBeCloseTo(30, 9); // short 3 from 110 to 100
    l.applyFill(fill('buy', 3, 90, { ts: T0 + 3000 }));
    expect(l.position('BTC/USDT')).toMatchObject({ quantity: 0, realizedPnl: 20 + 60 });
  });

  it('a spot account refuses to go short or to spend cash it does not have, and changes nothing', () => {
    const l = ledger('spot', 1_000);
    l.applyFill(fill('buy', 1, 100));
    expect(() => l.applyFill(fill('sell', 2, 100))).toThrow(/cannot sell/);
    expect(() => l.applyFill(fill('buy', 100, 100))).toThrow(/cannot pay/);
    expect(l.quantity('BTC/USDT')).toBe(1);
    expect(l.cash).toBe(900);
  });

  it('charges fees to cash and to the realised P&L of the position', () => {
    const l = ledger();
    l.applyFill(fill('buy', 1, 100, { fee: 0.1 }));
    l.applyFill(fill('sell', 1, 110, { fee: 0.11 }));
    const s = l.snapshot(T0);
    expect(s.realizedPnl).toBeCloseTo(10 - 0.21, 12);
    expect(s.feesPaid).toBeCloseTo(0.21, 12);
    expect(s.cash).toBeCloseTo(10_000 + 10 - 0.21, 9);
  });

  it('ignores a fill id it has already applied', () => {
    const l = ledger();
    const f = fill('buy', 1, 100);
    expect(l.applyFill(f)).toBe(true);
    expect(l.applyFill(f)).toBe(false);
    expect(l.quantity('BTC/USDT')).toBe(1);
  });

  const bad: [string, Partial<Fill>][] = [
    ['zero quantity', { quantity: 0 }],
    ['negative quantity', { quantity: -1 }],
    ['NaN quantity', { quantity: Number.NaN }],
    ['infinite quantity', { quantity: Number.POSITIVE_INFINITY }],
    ['zero price', { price: 0 }],
    ['negative price', { price: -5 }],
    ['NaN price', { price: Number.NaN }],
    ['negative fee', { fee: -0.01 }],
    ['NaN fee', { fee: Number.NaN }],
    ['fee in another currency', { fee: 0.1, feeCurrency: 'BNB' }],
    ['symbol in another quote', { symbol: 'ETH/BTC' }],
    ['non-integer time', { ts: T0 + 0.5 }],
  ];
  it.each(bad)('rejects a fill with %s and changes nothing', (_what, over) => {
    const l = ledger();
    expect(() => l.applyFill(fill('buy', 1, 100, over))).toThrow(AppError);
    expect(l.cash).toBe(10_000);
    expect(l.quantity('BTC/USDT')).toBe(0);
    expect(l.snapshot(T0).feesPaid).toBe(0);
  });
});

describe('PortfolioLedger: equity, day and drawdown', () => {
  it('computes equity, exposure, daily P&L and drawdown; a new UTC day resets dayStartEquity', () => {
    const l = ledger('spot', 1_000);
    l.applyFill(fill('buy', 5, 100, { ts: T0 }));
    l.mark('BTC/USDT', 120, T0 + 1000);
    let s = l.snapshot(T0 + 1000);
    expect(s).toMatchObject({ equity: 1_100, cash: 500, grossExposure: 600, netExposure: 600, dayStartEquity: 1_000, dailyPnl: 100, peakEquity: 1_100, drawdownPct: 0 });
    l.mark('BTC/USDT', 90, T0 + 2000);
    s = l.snapshot(T0 + 2000);
    expect(s.equity).toBe(950);
    expect(s.drawdownPct).toBeCloseTo((150 / 1_100) * 100, 9);
    // next UTC day: the day starts at the equity carried over the boundary
    const nextDay = Math.floor(T0 / DAY_MS) * DAY_MS + DAY_MS + 5;
    l.mark('BTC/USDT', 100, nextDay);
    s = l.snapshot(nextDay);
    expect(s).toMatchObject({ dayStartEquity: 950, equity: 1_000, dailyPnl: 50, peakEquity: 1_100 });
    expect(PortfolioSnapshotSchema.safeParse(s).success).toBe(true);
  });

  it('counts orders submitted in the last 60 s', () => {
    const l = ledger();
    for (const t of [T0, T0 + 10_000, T0 + 59_000, T0 + 61_000]) l.recordOrderSubmitted(t);
    expect(l.snapshot(T0 + 61_000).ordersLastMinute).toBe(3);
    expect(l.snapshot(T0 + 200_000).ordersLastMinute).toBe(0);
  });
});

describe('PortfolioLedger: properties', () => {
  const price = fc.double({ min: 1e-7, max: 1e6, noNaN: true, noDefaultInfinity: true });
  const qty = fc.double({ min: 1e-6, max: 1e9, noNaN: true, noDefaultInfinity: true });

  it('with zero fees a fill conserves equity marked at the fill price (margin: any sequence)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ buy: fc.boolean(), q: qty, p: price }), { minLength: 1, maxLength: 30 }), (trades) => {
        const l = ledger('margin', 1_000_000);
        for (const t of trades) {
          l.mark('BTC/USDT', t.p, T0);
          const before = l.equity();
          l.applyFill(fill(t.buy ? 'buy' : 'sell', t.q, t.p));
          const after = l.equity();
          const scale = Math.max(1, Math.abs(before), t.q * t.p, Math.abs(l.cash));
          expect(Math.abs(after - before) / scale).toBeLessThan(1e-9);
        }
      }),
    );
  });

  it('a round trip realises (exit − entry) × qty − fees', () => {
    fc.assert(
      fc.property(qty, price, price, fc.double({ min: 0, max: 0.01, noNaN: true }), fc.boolean(), (q, entry, exit, feeRate, long) => {
        const l = ledger('margin', 0);
        const feeIn = q * entry * feeRate;
        const feeOut = q * exit * feeRate;
        l.applyFill(fill(long ? 'buy' : 'sell', q, entry, { fee: feeIn }));
        l.applyFill(fill(long ? 'sell' : 'buy', q, exit, { fee: feeOut }));
        const s = l.snapshot(T0);
        const expected = (exit - entry) * q * (long ? 1 : -1) - feeIn - feeOut;
        expect(l.quantity('BTC/USDT')).toBe(0);
        expect(approxEq(s.realizedPnl, expected, 1e-9, 1e-9 * Math.max(1, q * Math.max(entry, exit)))).toBe(true);
        expect(approxEq(s.equity, expected, 1e-9, 1e-9 * Math.max(1, q * Math.max(entry, exit)))).toBe(true);
      }),
    );
  });

  it('equity and every snapshot field stay finite; spot balances never go negative', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ buy: fc.boolean(), q: qty, p: price, mark: price }), { maxLength: 40 }), (steps) => {
        const l = ledger('spot', 1e9);
        for (const s of steps) {
          try {
            l.applyFill(fill(s.buy ? 'buy' : 'sell', s.q, s.p, { fee: s.q * s.p * 0.001 }));
          } catch (e) {
            expect(e).toBeInstanceOf(AppError); // refused (short or unaffordable), never half-applied
          }
          l.mark('BTC/USDT', s.mark, T0);
          expect(Number.isFinite(l.equity())).toBe(true);
          expect(l.quantity('BTC/USDT')).toBeGreaterThanOrEqual(0);
          expect(l.cash).toBeGreaterThanOrEqual(-1e-6 * Math.max(1, s.q * s.p));
        }
        expect(PortfolioSnapshotSchema.safeParse(l.snapshot(T0)).success).toBe(true);
      }),
    );
  });

  it('handles precision edges: tiny prices and huge quantities', () => {
    const l = ledger('spot', 1e9);
    l.applyFill(fill('buy', 1e12, 0.0000529));
    l.applyFill(fill('buy', 3e11, 0.0000531));
    expect(l.position('BTC/USDT')?.avgEntryPrice).toBeCloseTo((1e12 * 0.0000529 + 3e11 * 0.0000531) / 1.3e12, 15);
    l.applyFill(fill('sell', 1.3e12, 0.0000530));
    expect(l.quantity('BTC/USDT')).toBe(0);
    const s = l.snapshot(T0);
    expect(s.realizedPnl).toBeCloseTo(1.3e12 * 0.000053 - (1e12 * 0.0000529 + 3e11 * 0.0000531), 3);
    // 0.1 + 0.2 bought, 0.3 sold: binary dust must not leave a position
    const d = ledger('spot');
    d.applyFill(fill('buy', 0.1, 100));
    d.applyFill(fill('buy', 0.2, 100));
    d.applyFill(fill('sell', 0.3, 100));
    expect(d.quantity('BTC/USDT')).toBe(0);
    expect(d.snapshot(T0).positions).toEqual([]);
  });
});
