import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TradeBook } from './trade-book.ts';

describe('TradeBook', () => {
  it('one round trip: pnl is price move × qty minus both fees', () => {
    const b = new TradeBook();
    b.onFill('BTC/USDT', 'buy', 2, 100, 0.2, 1000, 5, 'signal');
    b.onFill('BTC/USDT', 'sell', 2, 110, 0.22, 2000, 9, 'target');
    expect(b.trades).toHaveLength(1);
    const t = b.trades[0]!;
    expect(t).toMatchObject({ side: 'long', entryTime: 1000, entryPrice: 100, exitTime: 2000, exitPrice: 110, quantity: 2, notional: 200, exitReason: 'target', holdingBars: 4 });
    expect(t.fees).toBeCloseTo(0.42, 12);
    expect(t.pnl).toBeCloseTo(20 - 0.42, 12);
    expect(t.returnPct).toBeCloseTo(((20 - 0.42) / 200) * 100, 12);
  });

  it('FIFO: a partial exit closes the oldest lot first and splits its entry fee pro rata', () => {
    const b = new TradeBook();
    b.onFill('X/USDT', 'buy', 1, 100, 1, 0, 0, 'signal');
    b.onFill('X/USDT', 'buy', 1, 120, 2, 10, 1, 'signal');
    b.onFill('X/USDT', 'sell', 1.5, 130, 3, 20, 2, 'stop');
    expect(b.trades.map((t) => [t.entryPrice, t.quantity, t.exitReason])).toEqual([
      [100, 1, 'stop'],
      [120, 0.5, 'stop'],
    ]);
    // lot 1: whole entry fee 1 + 1/1.5 of the exit fee; lot 2: half its entry fee + 0.5/1.5 of the exit fee
    expect(b.trades[0]!.fees).toBeCloseTo(1 + 2, 12);
    expect(b.trades[1]!.fees).toBeCloseTo(1 + 1, 12);
    expect(b.openQuantity('X/USDT')).toBeCloseTo(0.5, 12);
    b.closeAll('X/USDT', 90, 30, 3);
    const last = b.trades[2]!;
    expect(last).toMatchObject({ entryPrice: 120, exitPrice: 90, exitReason: 'end', exitTime: 30, holdingBars: 2 });
    expect(last.fees).toBeCloseTo(1, 12); // the rest of lot 2's entry fee; no exit fee at the end
    expect(b.openQuantity('X/USDT')).toBe(0);
  });

  it('a fill through zero closes the long and opens a short with the rest', () => {
    const b = new TradeBook();
    b.onFill('X/USDT', 'buy', 1, 100, 0, 0, 0, 'signal');
    b.onFill('X/USDT', 'sell', 3, 90, 0, 1, 1, 'signal');
    expect(b.trades).toHaveLength(1);
    expect(b.openQuantity('X/USDT')).toBeCloseTo(-2, 12);
    b.onFill('X/USDT', 'buy', 2, 80, 0, 2, 2, 'target');
    expect(b.trades[1]).toMatchObject({ side: 'short', entryPrice: 90, exitPrice: 80, quantity: 2, pnl: 20, exitReason: 'target' });
  });

  it.each([
    ['zero quantity', 0, 100, 0],
    ['negative quantity', -1, 100, 0],
    ['NaN price', 1, Number.NaN, 0],
    ['negative fee', 1, 100, -1],
  ])('rejects a fill with %s', (_n, q, p, f) => {
    expect(() => new TradeBook().onFill('X/USDT', 'buy', q, p, f, 0, 0, 'signal')).toThrow(RangeError);
  });

  it('property: Σ pnl = final cash + holdings at the mark − starting cash (long-only, any fills)', () => {
    const step = fc.record({ buy: fc.boolean(), frac: fc.double({ min: 0.01, max: 1, noNaN: true }), price: fc.double({ min: 0.001, max: 1e6, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), fc.double({ min: 0.001, max: 1e6, noNaN: true }), (steps, mark) => {
        const b = new TradeBook();
        let cash = 0;
        let held = 0;
        let t = 0;
        for (const s of steps) {
          t++;
          const qty = s.buy ? s.frac * 10 : s.frac * held;
          if (!(qty > 1e-9)) continue;
          const fee = qty * s.price * 0.001;
          b.onFill('X/USDT', s.buy ? 'buy' : 'sell', qty, s.price, fee, t, t, 'signal');
          cash += (s.buy ? -1 : 1) * qty * s.price - fee;
          held += s.buy ? qty : -qty;
        }
        b.closeAll('X/USDT', mark, t + 1, t + 1);
        const sum = b.trades.reduce((a, x) => a + x.pnl, 0);
        const expected = cash + held * mark;
        expect(Math.abs(sum - expected)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(cash), held * mark));
      }),
      { numRuns: 300 },
    );
  });
});
