import type { PortfolioSnapshot, RiskLimits, TradingState, TradingStateName } from '@meridian/contracts';
import { DAY_MS, err, ok, toIso, utcDayStart, type Result } from '@meridian/core';
import { fmtNum } from './limit-fields.ts';

/**
 * Trading state machine. ACTIVE trades normally, REDUCING accepts only exposure-reducing
 * orders, HALTED accepts nothing. Pure: the caller persists the transitions returned here
 * (with the audit log, in one transaction) and passes the current state back in.
 */

/** Who asks for a transition. `system` is the engine itself (loss limits, automatic resume). */
export type TransitionRole = 'system' | 'risk_officer' | 'admin' | 'trader';

export type TransitionKind = 'kill_switch' | 'daily_loss' | 'drawdown' | 'auto_resume' | 'resume' | 'reduce_only';

export interface TradingStateTransition {
  readonly from: TradingStateName;
  readonly to: TradingStateName;
  readonly kind: TransitionKind;
  readonly actor: string;
  readonly role: TransitionRole;
  readonly reason: string;
  readonly at: number;
  /** automatic end of the new state (daily-loss halts), null = until a person acts */
  readonly until: number | null;
}

export type TransitionRefusal =
  | { readonly code: 'forbidden'; readonly message: string }
  | { readonly code: 'no_change'; readonly message: string }
  | { readonly code: 'invalid'; readonly message: string };

export interface TransitionRequest {
  readonly to: TradingStateName;
  readonly actor: string;
  readonly role: TransitionRole;
  readonly reason: string;
}

export interface TransitionOutcome {
  readonly state: TradingState;
  readonly transition: TradingStateTransition;
}

/** The state trading starts in when nothing has been stored yet. */
export function initialTradingState(now: number): TradingState {
  return { schemaVersion: 1, state: 'ACTIVE', reason: 'initial state', actor: 'system', since: now, until: null };
}

/** A daily-loss halt ends by itself at `until`; everything else lasts until changed. */
export function effectiveTradingState(state: TradingState, now: number): TradingStateName {
  if (state.state === 'HALTED' && state.until !== null && now >= state.until) return 'ACTIVE';
  return state.state;
}

/**
 * A person's (or the system's) request to change state. Rules:
 * - anyone may halt (the kill switch): halting is always the safe direction;
 * - only a risk officer or admin may move to REDUCING or resume to ACTIVE;
 * - the system may resume only a halt whose `until` has passed (daily loss); a drawdown or
 *   kill-switch halt (until = null) needs a person.
 */
export function requestTransition(current: TradingState, req: TransitionRequest, now: number): Result<TransitionOutcome, TransitionRefusal> {
  const reason = req.reason.trim();
  const actor = req.actor.trim();
  if (!reason) return err({ code: 'invalid', message: 'a reason is required for every trading-state change' });
  if (!actor) return err({ code: 'invalid', message: 'an actor (who is making the change) is required' });
  if (!Number.isFinite(now)) return err({ code: 'invalid', message: `time must be finite epoch ms, got ${now}` });
  const from = effectiveTradingState(current, now);
  if (from === req.to) return err({ code: 'no_change', message: `trading is already ${from}` });

  let kind: TransitionKind;
  switch (req.to) {
    case 'HALTED':
      kind = 'kill_switch';
      break;
    case 'REDUCING':
      if (req.role !== 'risk_officer' && req.role !== 'admin')
        return err({ code: 'forbidden', message: `only a risk officer or admin may switch trading to REDUCING (${actor} is ${req.role})` });
      kind = 'reduce_only';
      break;
    case 'ACTIVE':
      if (req.role === 'system') {
        if (current.state !== 'HALTED' || current.until === null || now < current.until)
          return err({ code: 'forbidden', message: 'the system may only resume a daily-loss halt after its end time; a person must resume this one' });
        kind = 'auto_resume';
      } else if (req.role !== 'risk_officer' && req.role !== 'admin') {
        return err({ code: 'forbidden', message: `only a risk officer or admin may resume trading (${actor} is ${req.role})` });
      } else {
        kind = 'resume';
      }
      break;
  }
  return ok(apply(from, req.to, kind, actor, req.role, reason, now, null));
}

export interface TradingStateAssessment {
  /** the state to store (unchanged object when no transition happened) */
  readonly state: TradingState;
  /** transitions to persist, in order; empty when nothing changed */
  readonly transitions: readonly TradingStateTransition[];
}

/**
 * What the loss limits say about the trading state right now. Returns the transitions the
 * caller must persist: an automatic resume when a daily-loss halt has run out, a halt until
 * the next UTC day on a daily-loss breach, an open-ended halt on a drawdown breach.
 */
export function assessTradingState(portfolio: PortfolioSnapshot, limits: RiskLimits, state: TradingState, now: number): TradingStateAssessment {
  const transitions: TradingStateTransition[] = [];
  let cur = state;
  if (cur.state === 'HALTED' && cur.until !== null && now >= cur.until) {
    const o = apply('HALTED', 'ACTIVE', 'auto_resume', 'system', 'system', `daily-loss halt ended at ${toIso(cur.until)} (new UTC day)`, now, null);
    transitions.push(o.transition);
    cur = o.state;
  }

  const dd = drawdownPct(portfolio);
  if (limits.maxDrawdownPct !== undefined && dd > limits.maxDrawdownPct && !(cur.state === 'HALTED' && cur.until === null)) {
    const reason = `drawdown ${fmtNum(dd)}% from peak equity ${fmtNum(portfolio.peakEquity)} exceeds maxDrawdownPct ${fmtNum(limits.maxDrawdownPct)}%; a risk officer must resume`;
    const o = apply(cur.state, 'HALTED', 'drawdown', 'system', 'system', reason, now, null);
    transitions.push(o.transition);
    cur = o.state;
  }

  const dl = dailyLossPct(portfolio);
  if (limits.maxDailyLossPct !== undefined && dl > limits.maxDailyLossPct && cur.state !== 'HALTED') {
    const until = utcDayStart(now) + DAY_MS;
    const reason = `daily loss ${fmtNum(dl)}% since the UTC day start exceeds maxDailyLossPct ${fmtNum(limits.maxDailyLossPct)}%; halted until ${toIso(until)}`;
    const o = apply(cur.state, 'HALTED', 'daily_loss', 'system', 'system', reason, now, until);
    transitions.push(o.transition);
    cur = o.state;
  }
  return { state: cur, transitions };
}

/** Loss since the UTC day start as % of day-start equity (0 when up on the day). */
export function dailyLossPct(p: Pick<PortfolioSnapshot, 'equity' | 'dayStartEquity'>): number {
  return lossPct(p.dayStartEquity, p.equity);
}

/** Fall from peak equity as % of the peak (0 at a new high). */
export function drawdownPct(p: Pick<PortfolioSnapshot, 'equity' | 'peakEquity'>): number {
  return lossPct(p.peakEquity, p.equity);
}

function lossPct(base: number, equity: number): number {
  if (!(equity < base)) return 0;
  // a non-positive base with equity below it is a total loss
  if (!(base > 0)) return 100;
  return ((base - equity) / base) * 100;
}

function apply(
  from: TradingStateName,
  to: TradingStateName,
  kind: TransitionKind,
  actor: string,
  role: TransitionRole,
  reason: string,
  at: number,
  until: number | null,
): TransitionOutcome {
  return {
    state: { schemaVersion: 1, state: to, reason, actor, since: at, until },
    transition: { from, to, kind, actor, role, reason, at, until },
  };
}
