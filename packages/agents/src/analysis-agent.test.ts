import { AnalysisReportSchema } from '@meridian/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyse, findKeyLevels } from './analysis-agent.ts';
import { analysisInput, bars } from './agent-test-inputs.ts';

describe('analyse', () => {
  it('reads an uptrend with a strong ADX as trending up with positive momentum', () => {
    const r = analyse(analysisInput({ ema20: 101, ema50: 99, adx14: 32, pdi14: 30, mdi14: 12, rsi14: 64, macdHist: 0.2 }));
    expect(AnalysisReportSchema.parse(r)).toEqual(r);
    expect(r).toMatchObject({ trend: 'up', regime: 'trending', volatilityState: 'normal', policy: 'deterministic', fallbackReason: null });
    expect(r.momentum).toBeGreaterThan(0.5);
    expect(r.indicators).toMatchObject({ adx14: 32, ema20: 101, volRatio: 1 });
  });

  it('calls expanding volatility volatile even when ADX is high, and a weak ADX ranging', () => {
    expect(analyse(analysisInput({ adx14: 40, rv14: 0.02, rv100: 0.01 }))).toMatchObject({ regime: 'volatile', volatilityState: 'high' });
    expect(analyse(analysisInput({ adx14: 18 }))).toMatchObject({ regime: 'ranging', trend: 'sideways' });
    expect(analyse(analysisInput({ rv14: 0.005, rv100: 0.01 }))).toMatchObject({ volatilityState: 'low' });
  });

  it('does not call a trend when the EMAs and DI lines disagree', () => {
    expect(analyse(analysisInput({ ema20: 101, ema50: 99, pdi14: 10, mdi14: 30 })).trend).toBe('sideways');
    expect(analyse(analysisInput({ ema20: 99, ema50: 101, pdi14: 10, mdi14: 30 })).trend).toBe('down');
  });

  it('treats warm-up NaNs as missing: they stay out of the report, which still validates', () => {
    const nan = Number.NaN;
    const r = analyse(analysisInput({ ema20: nan, ema50: nan, rsi14: nan, macdHist: nan, atr14: nan, adx14: nan, pdi14: nan, mdi14: nan, rv14: nan, rv100: nan }));
    expect(AnalysisReportSchema.safeParse(r).success).toBe(true);
    expect(r).toMatchObject({ trend: 'sideways', regime: 'ranging', volatilityState: 'normal', momentum: 0 });
    expect(r.indicators).not.toHaveProperty('rsi14');
    expect(r.features).toEqual([0.1, -0.2, 0]);
  });

  it('keeps the summary short and momentum inside [-1, 1] at extreme readings', () => {
    const r = analyse(analysisInput({ rsi14: 100, macdHist: 1e9, atr14: 1e-9 }));
    expect(r.momentum).toBeLessThanOrEqual(1);
    expect(r.summary.length).toBeLessThanOrEqual(200);
    expect(r.summary).toMatch(/RSI 100/);
  });

  it('rejects an empty window with a clear error', () => {
    expect(() => analyse({ ...analysisInput(), window: [] })).toThrow(/at least one closed bar/);
  });
});

describe('findKeyLevels', () => {
  it('lists swing highs above and swing lows below the close, nearest first', () => {
    //                0    1    2    3    4    5    6    7    8    9   10   11   12
    const closes = [100, 104, 108, 104, 100, 96, 92, 96, 100, 106, 100, 98, 100];
    const levels = findKeyLevels(bars(closes), 100);
    expect(levels.resistance).toEqual([106.5, 108.5]);
    expect(levels.support).toEqual([91.5]);
  });

  it('falls back to the window bounds when there is no swing point', () => {
    const levels = findKeyLevels(bars([100, 101, 102, 103, 104]), 102.2);
    expect(levels).toEqual({ support: [99.5], resistance: [104.5] });
  });
});

describe('findKeyLevels against a plain reference (sort, dedupe, take the nearest three)', () => {
  /** The specification written the slow way: every swing point on the right side of the close, nearest first. */
  function reference(ws: readonly { high: number; low: number }[], close: number): { support: number[]; resistance: number[] } {
    const res = new Set<number>();
    const sup = new Set<number>();
    for (let i = 2; i < ws.length - 2; i++) {
      const others = [ws[i - 2]!, ws[i - 1]!, ws[i + 1]!, ws[i + 2]!];
      if (others.every((o) => o.high < ws[i]!.high) && ws[i]!.high > close) res.add(ws[i]!.high);
      if (others.every((o) => o.low > ws[i]!.low) && ws[i]!.low < close && ws[i]!.low > 0) sup.add(ws[i]!.low);
    }
    const resistance = [...res].sort((a, b) => a - b).slice(0, 3);
    const support = [...sup].sort((a, b) => b - a).slice(0, 3);
    if (resistance.length === 0) {
      const hi = Math.max(...ws.map((w) => w.high));
      if (hi > close) resistance.push(hi);
    }
    if (support.length === 0) {
      const lo = Math.min(...ws.map((w) => w.low));
      if (lo < close && lo > 0) support.push(lo);
    }
    return { support, resistance };
  }
  it('agrees on random windows, including repeated levels', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 40 }), (cs, c) => {
        const ws = bars(cs);
        expect(findKeyLevels(ws, c)).toEqual(reference(ws, c));
      }),
      { numRuns: 500 },
    );
  });
});
