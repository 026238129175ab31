import { describe, expect, it } from 'vitest';
import { validateRiskLimits, formatLimitProblems } from './limits-validation.ts';
import { diffLimits } from './limits-diff.ts';
import { ALL_CHECKS_LIMITS } from './risk-fixtures.ts';

const problems = (input: unknown) => {
  const r = validateRiskLimits(input);
  if (r.ok) throw new Error('expected problems');
  return r.error;
};

describe('validateRiskLimits', () => {
  it('accepts a complete document and an empty one (no limits, defaults filled in)', () => {
    expect(validateRiskLimits(ALL_CHECKS_LIMITS)).toEqual({ ok: true, value: ALL_CHECKS_LIMITS });
    expect(validateRiskLimits({})).toEqual({ ok: true, value: { schemaVersion: 1, allowedSymbols: [], requireStopLoss: false } });
  });

  it('lists every problem at once: field-level and cross-field together', () => {
    const p = problems({
      maxOrderNotional: 5_000,
      maxPositionNotional: 1_000,
      maxGrossExposure: -5,
      riskPerTradePct: 150,
      minConfidence: 1.5,
      maxOrdrsPerMinute: 10,
    });
    expect(p.map((x) => x.field)).toEqual(['maxOrdrsPerMinute', 'maxOrderNotional', 'maxGrossExposure', 'riskPerTradePct', 'minConfidence']);
    expect(p[0]?.message).toMatch(/unknown field — did you mean maxOrdersPerMinute\?/);
    expect(p[1]?.message).toBe('5000 is above maxPositionNotional (1000); it must not be: one order can never be larger than the position it builds');
    expect(p[2]?.message).toBe('must be ≥ 0 (quote currency); got -5');
    expect(p[3]?.message).toMatch(/percentage in \(0, 100\]; got 150/);
    expect(p[4]?.message).toMatch(/between 0 and 1; got 1.5/);
  });

  it.each([
    ['a string amount', { maxOrderNotional: '1000' }, 'maxOrderNotional', /must be a finite number; got "1000" \(a string\)/],
    ['NaN', { maxLeverage: NaN }, 'maxLeverage', /finite number; got NaN/],
    ['Infinity', { maxGrossExposure: Infinity }, 'maxGrossExposure', /finite number/],
    ['a fractional count', { maxOpenPositions: 1.5 }, 'maxOpenPositions', /whole number; got 1.5/],
    ['zero leverage', { maxLeverage: 0 }, 'maxLeverage', /> 0/],
    ['a zero percentage', { maxDailyLossPct: 0 }, 'maxDailyLossPct', /\(0, 100\]/],
    ['a bad symbol', { allowedSymbols: ['btcusdt'] }, 'allowedSymbols.0', /ccxt unified symbol/],
    ['a duplicate symbol', { allowedSymbols: ['BTC/USDT', 'BTC/USDT'] }, 'allowedSymbols', /listed twice/],
    ['a non-boolean flag', { requireStopLoss: 'yes' }, 'requireStopLoss', /true or false/],
    ['net above gross', { maxNetExposure: 10, maxGrossExposure: 5 }, 'maxNetExposure', /net exposure can never exceed gross/],
    ['position above gross', { maxPositionNotional: 10, maxGrossExposure: 5 }, 'maxPositionNotional', /part of the gross/],
    ['order above gross with no position limit', { maxOrderNotional: 10, maxGrossExposure: 5 }, 'maxOrderNotional', /part of the gross/],
    ['daily loss above drawdown', { maxDailyLossPct: 10, maxDrawdownPct: 5 }, 'maxDailyLossPct', /could never trigger first/],
    ['a wrong schema version', { schemaVersion: 2 }, 'schemaVersion', /must be 1/],
  ])('rejects %s naming the field', (_name, doc, field, message) => {
    const p = problems(doc);
    expect(p).toHaveLength(1);
    expect(p[0]?.field).toBe(field);
    expect(p[0]?.message).toMatch(message);
  });

  it('rejects what is not an object', () => {
    expect(problems([1, 2])).toEqual([{ field: '', message: 'the limits document must be a JSON object, got an array' }]);
    expect(problems(null)[0]?.message).toMatch(/JSON object, got null/);
  });

  it('accepts values exactly at the edges', () => {
    expect(validateRiskLimits({ maxOrderNotional: 0, maxPositionNotional: 0, riskPerTradePct: 100, minConfidence: 0, maxOpenPositions: 0 }).ok).toBe(true);
    expect(validateRiskLimits({ maxOrderNotional: 1_000, maxPositionNotional: 1_000, minConfidence: 1 }).ok).toBe(true);
  });

  it('formats problems one per line', () => {
    expect(formatLimitProblems([{ field: 'a', message: 'x' }, { field: '', message: 'y' }])).toBe('  - a: x\n  - y');
  });
});

describe('diffLimits', () => {
  it('lists changed fields as "field: old → new", treating defaults as unset', () => {
    const before = { ...ALL_CHECKS_LIMITS };
    const after = { ...ALL_CHECKS_LIMITS, maxOrderNotional: 1_000, riskPerTradePct: undefined, allowedSymbols: [] };
    expect(diffLimits(before, after).map((c) => c.text)).toEqual([
      'allowedSymbols: BTC/USDT, ETH/USDT → all symbols',
      'maxOrderNotional: 2000 → 1000',
      'riskPerTradePct: 1% → no limit',
    ]);
    expect(diffLimits(before, { ...before })).toEqual([]);
    expect(diffLimits({ allowedSymbols: [], requireStopLoss: false }, { schemaVersion: 1, allowedSymbols: [], requireStopLoss: false })).toEqual([]);
  });

  it('a first version diffs against nothing', () => {
    expect(diffLimits(null, { maxLeverage: 2, maxDataAgeMs: 1000 }).map((c) => c.text)).toEqual(['maxLeverage: no limit → 2×', 'maxDataAgeMs: no limit → 1000 ms']);
  });
});
