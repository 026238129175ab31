import { SignalProposalSchema } from '@meridian/contracts';
import { describe, expect, it } from 'vitest';
import { recall, report } from './agent-test-inputs.ts';
import { modelConfidence, shrinkToMemory } from './confidence-calibration.ts';
import { BREAKEVEN_CONFIDENCE, SIGNAL_RULES, proposeSignal } from './signal-agent.ts';

const trendingUp = () => report({ trend: 'up', regime: 'trending', momentum: 0.5, close: 62_310 });

describe('proposeSignal', () => {
  it('follows a trending uptrend with an ATR stop and a 1.5:1 target', () => {
    const s = proposeSignal({ analysis: trendingUp(), recall: null });
    expect(SignalProposalSchema.parse(s)).toEqual(s);
    expect(s.direction).toBe('long');
    expect(s.entry).toBe(62_310);
    expect(s.stop).toBeCloseTo(62_310 - SIGNAL_RULES.stopAtr * 540, 6);
    expect(s.target).toBeCloseTo(62_310 + SIGNAL_RULES.targetAtr * 540, 6);
    const rr = ((s.target as number) - 62_310) / (62_310 - (s.stop as number));
    expect(rr).toBeGreaterThanOrEqual(1.5 - 1e-9);
    expect(s.confidence).toBeCloseTo(modelConfidence('trend', s.strength), 4);
    expect(s.evidence.indicators.map((i) => i.name)).toEqual(['adx14', 'pdi14', 'momentum']);
  });

  it('mirrors for a downtrend: target < entry < stop', () => {
    const s = proposeSignal({ analysis: report({ trend: 'down', regime: 'trending', momentum: -0.5 }, { pdi14: 10, mdi14: 30 }), recall: null });
    expect(s.direction).toBe('short');
    expect(SignalProposalSchema.safeParse(s).success).toBe(true);
    expect(s.target as number).toBeLessThan(s.entry as number);
    expect(s.stop as number).toBeGreaterThan(s.entry as number);
  });

  it('stays flat when momentum contradicts the trend, in a volatile regime, or without an ATR', () => {
    expect(proposeSignal({ analysis: report({ trend: 'up', regime: 'trending', momentum: -0.2 }), recall: null }).direction).toBe('flat');
    const vol = proposeSignal({ analysis: report({ trend: 'up', regime: 'volatile', momentum: 0.8 }), recall: null });
    expect(vol).toMatchObject({ direction: 'flat', confidence: 0, entry: null, stop: null, target: null });
    expect(vol.rationale).toMatch(/volatile/);
    const { atr14: _drop, ...noAtr } = trendingUp().indicators;
    expect(proposeSignal({ analysis: report({ trend: 'up', regime: 'trending', momentum: 0.5, indicators: noAtr }), recall: null }).direction).toBe('flat');
  });

  it('fades Bollinger extremes in a ranging market only when RSI confirms', () => {
    const low = proposeSignal({ analysis: report({ regime: 'ranging', trend: 'sideways' }, { bbPercentB: -0.1, rsi14: 25 }), recall: null });
    expect(low.direction).toBe('long');
    expect(low.confidence).toBeCloseTo(modelConfidence('meanReversion', low.strength), 4);
    const high = proposeSignal({ analysis: report({ regime: 'ranging', trend: 'sideways' }, { bbPercentB: 1.2, rsi14: 75 }), recall: null });
    expect(high.direction).toBe('short');
    const unconfirmed = proposeSignal({ analysis: report({ regime: 'ranging', trend: 'sideways' }, { bbPercentB: -0.1, rsi14: 45 }), recall: null });
    expect(unconfirmed.direction).toBe('flat');
    expect(unconfirmed.rationale).toMatch(/RSI does not confirm/);
  });

  it('lets the memory veto a trade whose similar past situations mostly failed', () => {
    // target is 2.25×540/62310 ≈ 1.95% away: these neighbours never got there
    const bad = recall(Array.from({ length: 8 }, () => ({ mfe: 0.005, mae: -0.03 })));
    const s = proposeSignal({ analysis: trendingUp(), recall: bad });
    expect(s.direction).toBe('flat');
    expect(s.rationale).toMatch(/memory veto/);
    expect(s.evidence.memoryIds).toHaveLength(8);
    expect(s.evidence.memoryStats?.n).toBe(8);
  });

  it('shrinks the model confidence toward the memory hit rate by n (Beta prior)', () => {
    const good = recall(Array.from({ length: 10 }, (_, i) => (i < 8 ? { mfe: 0.03, mae: -0.002 } : { mfe: 0.001, mae: -0.03 })));
    const s = proposeSignal({ analysis: trendingUp(), recall: good });
    const p = modelConfidence('trend', s.strength);
    expect(s.direction).toBe('long');
    expect(s.confidence).toBeCloseTo(shrinkToMemory(p, 8, 10), 4);
    expect(s.confidence).toBeGreaterThan(p);
    // fewer than minMemoryN neighbours: the memory has no say
    const few = recall([{ mfe: 0.03, mae: -0.001 }]);
    expect(proposeSignal({ analysis: trendingUp(), recall: few }).confidence).toBeCloseTo(p, 4);
  });

  it('scores a neighbour that touched both target and stop as half a success', () => {
    const both = recall(Array.from({ length: 10 }, () => ({ mfe: 0.03, mae: -0.03 })));
    const s = proposeSignal({ analysis: trendingUp(), recall: both });
    const p = modelConfidence('trend', s.strength);
    expect(0.5).toBeGreaterThan(BREAKEVEN_CONFIDENCE);
    expect(s.confidence).toBeCloseTo(shrinkToMemory(p, 5, 10), 4);
  });
});
