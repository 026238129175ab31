import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Fill } from '@meridian/contracts';
import { PortfolioLedger } from './portfolio-ledger.ts';
import { positionAfterFill, type PositionState } from './position-update.ts';

const fill = (side: 'buy' | 'sell', quantity: number, price: number, fee = 0, ts = 1000, id = `${side}-${quantity}-${price}-${ts}`): Fill => ({
  schemaVersion: 1,
  fillId: id,
  orderId: '0190a0b0-0000-7000-8000-000000000001',
  exchange: 'paper',
  symbol: 'BTC/USDT',
  side,
  quantity,
  price,
  fee,
  feeCurrency: 'USDT',
  liquidity: null,
  ts,
});

describe('positionAfterFill', () => {
  it.each([
    // [description, fills, quantity, avgEntry, realized]
    ['opens a long', [fill('buy', 2, 100)], 2, 100, 0],
    ['averages up', [fill('buy', 1, 100), fill('buy', 1, 200)], 2, 150, 0],
    ['reduces at the average, realising the difference', [fill('buy', 2, 100), fill('sell', 1, 130)], 1, 100, 30],
    ['closes flat', [fill('buy', 2, 100), fill('sell', 2, 90)], 0, 0, -20],
    ['flips through zero at the fill price', [fill('buy', 1, 100), fill('sell', 3, 110)], -2, 110, 10],
    ['fees count in realised P&L', [fill('buy', 1, 100, 0.5), fill('sell', 1, 100, 0.5)], 0, 0, -1],
  ])('%s', (_name, fills, qty, avg, realized) => {
    let p: PositionState | undefined;
    for (const f of fills) p = positionAfterFill(p, f);
    expect(p?.quantity).toBeCloseTo(qty, 12);
    expect(p?.avgEntryPrice).toBeCloseTo(avg, 9);
    expect(p?.realizedPnl).toBeCloseTo(realized, 9);
    if (qty === 0) expect(p?.openedAt).toBeNull();
  });

  it.each([
    ['zero quantity', fill('buy', 0, 100)],
    ['negative price', fill('buy', 1, -5)],
    ['NaN price', fill('buy', 1, Number.NaN)],
    ['negative fee', fill('buy', 1, 100, -1)],
  ])('refuses %s (nothing to store)', (_n, f) => {
    expect(() => positionAfterFill(undefined, f)).toThrow(/fill/);
  });

  it('keeps a fee in a foreign currency off the P&L instead of refusing the fill', () => {
    const p = positionAfterFill(undefined, { ...fill('buy', 1, 100, 0.01), feeCurrency: 'BNB' });
    expect(p.quantity).toBe(1);
    expect(p.realizedPnl).toBe(0);
  });

  it('matches one PortfolioLedger fed the same fills (property)', () => {
    const arb = fc.array(
      fc.record({ side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell'), q: fc.integer({ min: 1, max: 1_000_000 }), px: fc.integer({ min: 1, max: 10_000_000 }), fee: fc.integer({ min: 0, max: 1000 }) }),
      { minLength: 1, maxLength: 30 },
    );
    fc.assert(
      fc.property(arb, (steps) => {
        const ledger = new PortfolioLedger({ exchange: 'paper', quoteCurrency: 'USDT', initialCash: 0, startAt: 0, mode: 'margin' });
        let p: PositionState | undefined;
        steps.forEach((s, i) => {
          const f = fill(s.side, s.q / 1000, s.px / 100, s.fee / 100, 1000 + i, `f${i}`);
          ledger.applyFill(f);
          p = positionAfterFill(p, f);
        });
        const want = ledger.position('BTC/USDT');
        const tol = (x: number) => 1e-6 * Math.max(1, Math.abs(x));
        expect(Math.abs((p?.quantity ?? 0) - (want?.quantity ?? 0))).toBeLessThanOrEqual(tol(want?.quantity ?? 0));
        expect(Math.abs((p?.realizedPnl ?? 0) - (want?.realizedPnl ?? 0))).toBeLessThanOrEqual(tol(want?.realizedPnl ?? 0) * 10);
        if (want && want.quantity !== 0) expect(Math.abs((p?.avgEntryPrice ?? 0) - want.avgEntryPrice)).toBeLessThanOrEqual(tol(want.avgEntryPrice));
      }),
      { numRuns: 300 },
    );
  });
});
