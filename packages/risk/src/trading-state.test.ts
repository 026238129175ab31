import { describe, expect, it } from 'vitest';
import { DAY_MS } from '@meridian/core';
import type { TradingState } from '@meridian/contracts';
import { assessTradingState, effectiveTradingState, initialTradingState, requestTransition } from './trading-state.ts';
import { T0, makePortfolio } from './risk-fixtures.ts';

const state = (s: TradingState['state'], until: number | null = null): TradingState => ({ schemaVersion: 1, state: s, reason: 'r', actor: 'a', since: T0 - 1000, until });
const NEXT_DAY = Date.UTC(2024, 0, 16);

describe('requestTransition', () => {
  it('anyone may hit the kill switch, and it halts at once', () => {
    for (const role of ['trader', 'risk_officer', 'admin', 'system'] as const) {
      const r = requestTransition(state('ACTIVE'), { to: 'HALTED', actor: 'x', role, reason: 'kill switch' }, T0);
      expect(r.ok && r.value.state).toMatchObject({ state: 'HALTED', since: T0, until: null, actor: 'x', reason: 'kill switch' });
      expect(r.ok && r.value.transition).toMatchObject({ from: 'ACTIVE', to: 'HALTED', kind: 'kill_switch', at: T0 });
    }
  });

  it('only a risk officer or admin may resume or switch to REDUCING', () => {
    expect(requestTransition(state('HALTED'), { to: 'ACTIVE', actor: 'tom', role: 'trader', reason: 'go' }, T0)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(requestTransition(state('ACTIVE'), { to: 'REDUCING', actor: 'tom', role: 'trader', reason: 'go' }, T0)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(requestTransition(state('HALTED'), { to: 'ACTIVE', actor: 'rita', role: 'risk_officer', reason: 'ok' }, T0)).toMatchObject({ ok: true, value: { transition: { kind: 'resume' } } });
    expect(requestTransition(state('HALTED'), { to: 'REDUCING', actor: 'rita', role: 'admin', reason: 'wind down' }, T0)).toMatchObject({ ok: true });
  });

  it('the system may resume only a daily-loss halt after its end', () => {
    const sys = { to: 'ACTIVE' as const, actor: 'system', role: 'system' as const, reason: 'new day' };
    expect(requestTransition(state('HALTED', null), sys, T0)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(requestTransition(state('HALTED', NEXT_DAY), sys, NEXT_DAY - 1)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    // at its end the halt is over by itself: nothing left to resume
    expect(requestTransition(state('HALTED', NEXT_DAY), sys, NEXT_DAY)).toMatchObject({ ok: false, error: { code: 'no_change' } });
  });

  it('refuses no-ops and changes without a reason or actor', () => {
    expect(requestTransition(state('HALTED'), { to: 'HALTED', actor: 'x', role: 'admin', reason: 'again' }, T0)).toMatchObject({ ok: false, error: { code: 'no_change' } });
    expect(requestTransition(state('ACTIVE'), { to: 'HALTED', actor: 'x', role: 'admin', reason: '  ' }, T0)).toMatchObject({ ok: false, error: { code: 'invalid' } });
    expect(requestTransition(state('ACTIVE'), { to: 'HALTED', actor: '', role: 'admin', reason: 'r' }, T0)).toMatchObject({ ok: false, error: { code: 'invalid' } });
  });
});

describe('effectiveTradingState', () => {
  it('a daily-loss halt ends at its until; others last', () => {
    expect(effectiveTradingState(state('HALTED', NEXT_DAY), NEXT_DAY - 1)).toBe('HALTED');
    expect(effectiveTradingState(state('HALTED', NEXT_DAY), NEXT_DAY)).toBe('ACTIVE');
    expect(effectiveTradingState(state('HALTED'), NEXT_DAY * 2)).toBe('HALTED');
    expect(effectiveTradingState(initialTradingState(T0), T0)).toBe('ACTIVE');
  });
});

describe('assessTradingState', () => {
  const limits = { schemaVersion: 1 as const, allowedSymbols: [], requireStopLoss: false, maxDailyLossPct: 2, maxDrawdownPct: 10 };

  it('nothing to do within the limits, and exactly at them', () => {
    const s = state('ACTIVE');
    const a = assessTradingState(makePortfolio({ equity: 9_800 }), limits, s, T0);
    expect(a).toEqual({ state: s, transitions: [] });
  });

  it('a daily-loss breach halts until the next UTC day start', () => {
    const a = assessTradingState(makePortfolio({ equity: 9_799 }), limits, state('ACTIVE'), T0);
    expect(a.state).toMatchObject({ state: 'HALTED', until: NEXT_DAY, actor: 'system', since: T0 });
    expect(a.transitions).toEqual([expect.objectContaining({ from: 'ACTIVE', to: 'HALTED', kind: 'daily_loss', until: NEXT_DAY, role: 'system' })]);
    expect(a.state.reason).toMatch(/daily loss 2.01% .* maxDailyLossPct 2%; halted until 2024-01-16T00:00:00.000Z/);
  });

  it('a drawdown breach halts until a person resumes, and overrides a daily-loss halt', () => {
    const pf = makePortfolio({ equity: 8_900, peakEquity: 10_000, dayStartEquity: 8_950 });
    const a = assessTradingState(pf, limits, state('HALTED', NEXT_DAY), T0);
    expect(a.state).toMatchObject({ state: 'HALTED', until: null });
    expect(a.transitions.map((t) => t.kind)).toEqual(['drawdown']);
    // already halted for drawdown: nothing more
    expect(assessTradingState(pf, limits, a.state, T0 + 1).transitions).toEqual([]);
  });

  it('after the daily-loss halt runs out it resumes by itself, on the next UTC day', () => {
    const halted = state('HALTED', NEXT_DAY);
    const fresh = makePortfolio({ equity: 9_700, dayStartEquity: 9_700, peakEquity: 10_000 });
    const a = assessTradingState(fresh, limits, halted, NEXT_DAY + 5);
    expect(a.state).toMatchObject({ state: 'ACTIVE', actor: 'system', until: null });
    expect(a.transitions.map((t) => t.kind)).toEqual(['auto_resume']);
    expect(assessTradingState(fresh, limits, halted, NEXT_DAY - 1).transitions).toEqual([]);
  });

  it('a kill-switch halt is never lifted by the system', () => {
    const a = assessTradingState(makePortfolio(), limits, state('HALTED', null), T0 + 10 * DAY_MS);
    expect(a.transitions).toEqual([]);
    expect(a.state.state).toBe('HALTED');
  });
});
