import { describe, expect, it } from 'vitest';
import type { Bar } from './bar.ts';
import { CandleSequence, checkBar, findGaps } from './candle-validation.ts';

const TF = 300_000;
const T0 = Date.UTC(2024, 0, 1);
const bar = (over: Partial<Bar> = {}): Bar => ({ ts: T0, open: 10, high: 12, low: 9, close: 11, volume: 5, ...over });

describe('checkBar', () => {
  it('accepts a sound bar, including a flat one with zero volume', () => {
    expect(checkBar(bar(), TF)).toBeNull();
    expect(checkBar(bar({ open: 1e-7, high: 1e-7, low: 1e-7, close: 1e-7, volume: 0 }), TF)).toBeNull();
  });

  it.each([
    [{ open: NaN }, 'not_finite', 'open'],
    [{ high: Infinity }, 'not_finite', 'high'],
    [{ low: -Infinity }, 'not_finite', 'low'],
    [{ close: NaN }, 'not_finite', 'close'],
    [{ volume: NaN }, 'not_finite', 'volume'],
    [{ ts: NaN }, 'not_finite', 'timestamp'],
    [{ open: 0, low: 0 }, 'not_positive', 'open'],
    [{ low: -1 }, 'not_positive', 'low'],
    [{ high: 10.5 }, 'high_below_body', 'high'], // below close 11
    [{ high: 8, low: 9 }, 'high_below_body', 'high'], // high < low
    [{ low: 10.01 }, 'low_above_body', 'low'], // above open 10
    [{ volume: -0.0001 }, 'negative_volume', 'volume'],
    [{ ts: T0 + 60_000 }, 'misaligned', 'timestamp'],
    [{ ts: T0 + 1 }, 'misaligned', 'timestamp'],
  ] as const)('rejects %o as %s on %s', (over, kind, field) => {
    const issue = checkBar(bar(over), TF);
    expect(issue?.kind).toBe(kind);
    expect(issue?.field).toBe(field);
    expect(issue?.reason).toMatch(field === 'timestamp' ? /timestamp|aligned/ : new RegExp(field));
  });

  it('high equal to max(open, close) and low equal to min(open, close) are allowed', () => {
    expect(checkBar(bar({ high: 11, low: 10 }), TF)).toBeNull();
  });
});

describe('CandleSequence', () => {
  it('drops an exact duplicate, rejects a disagreeing one and an earlier timestamp', () => {
    const s = new CandleSequence(TF);
    expect(s.push(bar())).toBe('accept');
    expect(s.push(bar())).toBe('duplicate');
    const conflict = s.push(bar({ close: 11.5, high: 12 }));
    expect(conflict).toMatchObject({ kind: 'duplicate_conflict' });
    expect(s.push(bar({ ts: T0 + TF }))).toBe('accept');
    expect(s.push(bar({ ts: T0 }))).toMatchObject({ kind: 'out_of_order', field: 'timestamp' });
    // a rejected bar does not move the sequence: the next good bar follows the last accepted
    expect(s.push(bar({ ts: T0 + 2 * TF }))).toBe('accept');
    expect(s.gaps()).toEqual({ missingBars: 0, runs: 0, longest: null });
  });

  it('counts gaps (missing bars, runs, the longest) without filling them', () => {
    const ts = [0, 1, 2, 5, 6, 10, 11].map((k) => T0 + k * TF);
    expect(findGaps(ts, TF)).toEqual({ missingBars: 2 + 3, runs: 2, longest: { from: T0 + 7 * TF, to: T0 + 9 * TF, bars: 3 } });
  });
});
