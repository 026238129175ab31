import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Bar } from './bar.ts';
import { Resampler, resample } from './resample.ts';
import { generateBars } from './synthetic-candles.ts';
import { loadFixture } from './test-candles.ts';

const M = 60_000;
const H = 60 * M;
const D = 24 * H;

function streaming(bars: readonly Bar[], from: number, to: number) {
  const r = new Resampler(from, to);
  const out = bars.flatMap((b) => r.push(b));
  return [...out, ...r.flush()];
}

describe('resample', () => {
  it('aggregates OHLCV into UTC-aligned buckets (1m → 1h across midnight)', () => {
    const bars = [...generateBars({ bars: 180, seed: 1, timeframeMs: M, start: Date.UTC(2024, 0, 1, 23, 0) })];
    const out = resample(bars, M, H);
    expect(out.map((b) => new Date(b.ts).toISOString())).toEqual(['2024-01-01T23:00:00.000Z', '2024-01-02T00:00:00.000Z', '2024-01-02T01:00:00.000Z']);
    const first = bars.slice(0, 60);
    expect(out[0]).toEqual({
      ts: Date.UTC(2024, 0, 1, 23),
      open: first[0]!.open,
      high: Math.max(...first.map((b) => b.high)),
      low: Math.min(...first.map((b) => b.low)),
      close: first[59]!.close,
      volume: first.reduce((s, b) => s + b.volume, 0),
      sourceBars: 60,
    });
  });

  it('4h and 1d buckets start at UTC 00/04/… and midnight, whatever the first bar', () => {
    const bars = [...generateBars({ bars: 3 * 24 * 12, seed: 2, timeframeMs: 5 * M, start: Date.UTC(2024, 2, 10, 13, 35) })];
    for (const [to, unit] of [
      [4 * H, 4 * H],
      [D, D],
    ] as const) {
      const out = resample(bars, 5 * M, to);
      for (const b of out) expect(b.ts % unit).toBe(0);
      expect(out[0]!.ts).toBe(Math.floor(bars[0]!.ts / to) * to);
    }
  });

  it('a gap stays a gap: partial buckets carry their source count, empty buckets are not invented', () => {
    const all = [...generateBars({ bars: 60, seed: 3, timeframeMs: M, start: Date.UTC(2024, 0, 1) })];
    const withGap = all.filter((b, i) => !(i >= 7 && i < 23)); // minutes 7..22 missing
    const out = resample(withGap, M, 5 * M);
    expect(out.map((b) => [(b.ts - all[0]!.ts) / M, b.sourceBars])).toEqual([
      [0, 5],
      [5, 2],
      [20, 2],
      [25, 5],
      [30, 5],
      [35, 5],
      [40, 5],
      [45, 5],
      [50, 5],
      [55, 5],
    ]);
    // the bucket after the gap opens with its first present bar, not a carried-forward price
    expect(out[2]!.open).toBe(all[23]!.open);
  });

  it('batch and streaming give the same bars (property, random gaps, every target multiple)', () => {
    const base = [...generateBars({ bars: 2000, seed: 4, timeframeMs: M, start: Date.UTC(2024, 0, 1, 22, 17) })];
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 2000, maxLength: 2000 }), fc.constantFrom(5, 15, 60, 240, 1440), (keep, mult) => {
        const bars = base.filter((_, i) => keep[i]);
        expect(streaming(bars, M, mult * M)).toEqual(resample(bars, M, mult * M));
      }),
      { numRuns: 40 },
    );
  });

  it('on real data: ETH/BTC 5m → 1h equals 5m → 15m → 1h', () => {
    const bars = loadFixture('binance_ETH_BTC-5m.csv');
    const direct = resample(bars, 5 * M, H);
    const twoStep = resample(resample(bars, 5 * M, 15 * M), 15 * M, H);
    expect(twoStep.length).toBe(direct.length);
    twoStep.forEach((b, i) => {
      const d = direct[i]!;
      expect([b.ts, b.open, b.high, b.low, b.close]).toEqual([d.ts, d.open, d.high, d.low, d.close]);
      // volume sums associate differently (3 × 4 vs 12 terms): equal to rounding
      expect(Math.abs(b.volume - d.volume)).toBeLessThanOrEqual(1e-12 * d.volume);
    });
  });

  it('refuses a target that is not a multiple, and unordered input when streaming', () => {
    expect(() => resample([], 5 * M, 7 * M)).toThrow(/cannot resample 5m into 7m/);
    const r = new Resampler(M, 5 * M);
    r.push({ ts: 2 * M, open: 1, high: 1, low: 1, close: 1, volume: 1 });
    expect(() => r.push({ ts: M, open: 1, high: 1, low: 1, close: 1, volume: 1 })).toThrow(/out of order/);
  });
});
