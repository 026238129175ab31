import { exampleMarketInfo } from '@meridian/contracts/fixtures';
import { describe, expect, it } from 'vitest';
import { sizeByRisk, type Headroom } from './position-sizing.ts';

const NO_CAP: Headroom = { maxQty: Number.POSITIVE_INFINITY, binding: 'none' };
const market = exampleMarketInfo({ minQty: 0.001, qtyStep: 0.001, minNotional: 5 });

describe('sizeByRisk at the edges', () => {
  it.each([
    // name, entry, stop, equity, pct, headroom, market overrides, expected quantity or refusal text
    ['1% of 10k at a 5-point stop', 100, 95, 10_000, 1, NO_CAP, {}, 20],
    ['short side: stop above entry', 100, 105, 10_000, 1, NO_CAP, {}, 20],
    ['floors to qtyStep, never rounds up', 100, 97, 10_000, 1, NO_CAP, {}, 33.333],
    ['capped by headroom', 100, 95, 10_000, 1, { maxQty: 7.77777, binding: 'maxOrderNotional' }, {}, 7.777],
    ['tiny qtyStep keeps precision', 62_310, 61_500, 10_000, 1, NO_CAP, { qtyStep: 1e-8, minQty: 1e-8 }, 0.12345679],
    ['huge price: size below minQty', 1e12, 0.9e12, 10_000, 1, NO_CAP, {}, /below the market minimum 0.001/],
    ['zero equity', 100, 95, 0, 1, NO_CAP, {}, /equity 0 is not positive/],
    ['negative equity', 100, 95, -5, 1, NO_CAP, {}, /equity -5 is not positive/],
    ['NaN equity', 100, 95, Number.NaN, 1, NO_CAP, {}, /equity NaN/],
    ['zero stop distance', 100, 100, 10_000, 1, NO_CAP, {}, /stop distance is zero/],
    ['NaN stop (ATR was NaN)', 100, Number.NaN, 10_000, 1, NO_CAP, {}, /stop price NaN/],
    ['infinite entry', Number.POSITIVE_INFINITY, 95, 10_000, 1, NO_CAP, {}, /entry price Infinity/],
    ['below minNotional', 100, 50, 10, 1, NO_CAP, { minNotional: 5 }, /notional 0.2 is below the market minimum 5/],
    ['no headroom left', 100, 95, 10_000, 1, { maxQty: 0, binding: 'maxPositionNotional' }, {}, /no headroom left \(maxPositionNotional\)/],
    ['riskPerTradePct out of range', 100, 95, 10_000, 0, NO_CAP, {}, /riskPerTradePct 0/],
  ] as const)('%s', (_name, entry, stop, equity, pct, headroom, over, expected) => {
    const r = sizeByRisk({ entry, stop, equity, riskPerTradePct: pct, headroom, market: { ...market, ...over } });
    if (typeof expected === 'number') {
      expect(r).toMatchObject({ ok: true, quantity: expected });
      if (r.ok) expect(r.quantity).toBeLessThanOrEqual(headroom.maxQty);
    } else {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(expected);
    }
  });

  it('tops up to the risk size when part of it is already held', () => {
    expect(sizeByRisk({ entry: 100, stop: 95, equity: 10_000, riskPerTradePct: 1, headroom: NO_CAP, market, alreadyHeld: 15 })).toMatchObject({ ok: true, quantity: 5 });
    expect(sizeByRisk({ entry: 100, stop: 95, equity: 10_000, riskPerTradePct: 1, headroom: NO_CAP, market, alreadyHeld: 20 })).toMatchObject({ ok: false });
  });
});
