import { FEATURE_VERSION, type Bar } from '@meridian/market';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBuilder } from './memory-builder.ts';
import { memoryStats } from './memory-stats.ts';

const TF = 300_000;
const T0 = Date.UTC(2024, 0, 1);
const opts = (h: number) => ({ exchange: 'binance', symbol: 'BTC/USDT', timeframe: '5m' as const, featureVersion: FEATURE_VERSION, horizonBars: h });

describe('MemoryBuilder', () => {
  it('resolves bar t at bar t+h with forward return, MFE, MAE and the close time of bar t+h', () => {
    const b = new MemoryBuilder(opts(2));
    const bars: Bar[] = [
      { ts: T0, open: 100, high: 101, low: 99, close: 100, volume: 1 },
      { ts: T0 + TF, open: 100, high: 106, low: 98, close: 104, volume: 1 },
      { ts: T0 + 2 * TF, open: 104, high: 105, low: 95, close: 110, volume: 1 },
      { ts: T0 + 3 * TF, open: 110, high: 111, low: 109, close: 110, volume: 1 },
    ];
    const steps = bars.map((bar) => b.onBar(bar, [1, 2, 3]));
    expect(steps[0]!.situation).toMatchObject({ ts: T0 + TF, features: [1, 2, 3], horizonBars: 2 });
    expect(steps[0]!.outcome).toBeNull();
    expect(steps[1]!.outcome).toBeNull();
    const o = steps[2]!.outcome!;
    expect(o.ts).toBe(T0 + TF); // the situation of bar 0 (its close time)
    expect(o.forwardReturn).toBeCloseTo(110 / 100 - 1, 12);
    expect(o.mfe).toBeCloseTo(106 / 100 - 1, 12); // highs of bars 1..2, not bar 0's own
    expect(o.mae).toBeCloseTo(95 / 100 - 1, 12);
    expect(o.resolvedAt).toBe(T0 + 3 * TF); // close of bar 2
    const o1 = steps[3]!.outcome!;
    expect(o1.ts).toBe(T0 + 2 * TF);
    expect(o1.mfe).toBeCloseTo(111 / 104 - 1, 12);
    expect(o1.mae).toBeCloseTo(95 / 104 - 1, 12);
  });

  it('no situation (and so no outcome) for warm-up bars, but their prices still count', () => {
    const b = new MemoryBuilder(opts(1));
    const s0 = b.onBar({ ts: T0, open: 1, high: 1, low: 1, close: 1, volume: 1 }, null);
    expect(s0.situation).toBeNull();
    const s1 = b.onBar({ ts: T0 + TF, open: 1, high: 2, low: 1, close: 2, volume: 1 }, [0]);
    expect(s1.outcome).toBeNull();
    expect(b.onBar({ ts: T0 + 2 * TF, open: 2, high: 3, low: 1.5, close: 3, volume: 1 }, [0]).outcome).toMatchObject({ ts: T0 + 2 * TF, forwardReturn: 0.5 });
  });

  it('rejects out-of-order bars, a bad horizon and non-positive closes', () => {
    const b = new MemoryBuilder(opts(3));
    b.onBar({ ts: T0 + TF, open: 1, high: 1, low: 1, close: 1, volume: 1 }, null);
    expect(() => b.onBar({ ts: T0 + TF, open: 1, high: 1, low: 1, close: 1, volume: 1 }, null)).toThrow(/time order/);
    expect(() => b.onBar({ ts: T0 + 2 * TF, open: 1, high: 1, low: 1, close: 0, volume: 1 }, null)).toThrow(/non-positive close/);
    expect(() => new MemoryBuilder(opts(0))).toThrow(/horizon/);
    expect(() => new MemoryBuilder(opts(1.5))).toThrow(/horizon/);
  });

  it('matches a brute-force computation for any prices and horizon (property)', () => {
    const bar = fc.record({ c: fc.double({ min: 0.01, max: 1e6, noNaN: true }), up: fc.double({ min: 0, max: 0.2, noNaN: true }), dn: fc.double({ min: 0, max: 0.2, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(bar, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 10 }), (raw, h) => {
        const bars = raw.map((x, i) => ({ ts: T0 + i * TF, open: x.c, high: x.c * (1 + x.up), low: x.c * (1 - x.dn), close: x.c, volume: 1 }));
        const b = new MemoryBuilder(opts(h));
        bars.forEach((bar, i) => {
          const { outcome } = b.onBar(bar, [i]);
          const t = i - h;
          if (t < 0) return expect(outcome).toBeNull();
          const c0 = bars[t]!.close;
          const win = bars.slice(t + 1, i + 1);
          expect(outcome!.ts).toBe(bars[t]!.ts + TF);
          expect(outcome!.forwardReturn).toBe(bar.close / c0 - 1);
          expect(outcome!.mfe).toBe(Math.max(...win.map((x) => x.high)) / c0 - 1);
          expect(outcome!.mae).toBe(Math.min(...win.map((x) => x.low)) / c0 - 1);
          expect(outcome!.resolvedAt).toBe(bar.ts + TF);
        });
      }),
    );
  });
});

describe('memoryStats', () => {
  it.each([
    { xs: [], want: { n: 0, meanReturn: 0, medianReturn: 0, hitRate: 0, dispersion: 0 } },
    { xs: [0.05], want: { n: 1, meanReturn: 0.05, medianReturn: 0.05, hitRate: 1, dispersion: 0 } },
    { xs: [0, 0, 0], want: { n: 3, meanReturn: 0, medianReturn: 0, hitRate: 0, dispersion: 0 } },
    { xs: [-0.1, 0.3], want: { n: 2, meanReturn: 0.1, medianReturn: 0.1, hitRate: 0.5, dispersion: 0.2 } },
  ])('$xs', ({ xs, want }) => {
    const s = memoryStats(xs.map((forwardReturn) => ({ forwardReturn })));
    expect(s.n).toBe(want.n);
    for (const k of ['meanReturn', 'medianReturn', 'hitRate', 'dispersion'] as const) expect(s[k]).toBeCloseTo(want[k], 12);
  });

  it('is finite, order-independent and bounded for any returns (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1, max: 100, noNaN: true }), { maxLength: 50 }), (xs) => {
        const a = memoryStats(xs.map((forwardReturn) => ({ forwardReturn })));
        const b = memoryStats([...xs].reverse().map((forwardReturn) => ({ forwardReturn })));
        expect(b.n).toBe(a.n);
        expect(b.medianReturn).toBe(a.medianReturn);
        for (const v of Object.values(a)) expect(Number.isFinite(v)).toBe(true);
        expect(a.dispersion).toBeGreaterThanOrEqual(0);
        expect(a.hitRate).toBeGreaterThanOrEqual(0);
        expect(a.hitRate).toBeLessThanOrEqual(1);
        if (xs.length > 0) {
          expect(a.meanReturn).toBeGreaterThanOrEqual(Math.min(...xs) - 1e-12);
          expect(a.meanReturn).toBeLessThanOrEqual(Math.max(...xs) + 1e-12);
        }
      }),
    );
  });
});
