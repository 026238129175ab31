import type { RiskLimits, TradingState, TradingStateName } from '@meridian/contracts';
import type { Db } from './db.ts';
import { appendAudit, type AuditEntry } from './repos/audit-log-repo.ts';
import { appendRiskLimits, latestRiskLimits, type RiskLimitVersion } from './repos/risk-limit-repo.ts';
import {
  GLOBAL_SCOPE,
  getTradingState,
  transitionTradingState,
  type StoredTradingState,
  type TradingStateTransition as StoredTransition,
} from './repos/trading-state-repo.ts';

/**
 * Risk storage for risk officers: every limit change and every trading-state change is written
 * together with its audit-log entry (before and after) in ONE transaction, so the audit log can
 * never miss a change nor record one that did not happen. Whether a change is allowed is
 * packages/risk's rule (validateRiskLimits, requestTransition); this module only stores.
 */

export interface SetRiskLimitsInput {
  /** already validated with packages/risk's validateRiskLimits */
  readonly limits: RiskLimits;
  readonly author: string;
  readonly reason: string;
  readonly at: number;
  /** the version the author edited; defaults to the latest seen inside the transaction */
  readonly expectedLatest?: number;
}

export interface SetRiskLimitsResult {
  readonly stored: RiskLimitVersion;
  readonly previous: RiskLimitVersion | undefined;
  readonly audit: AuditEntry;
}

export async function setRiskLimits(db: Db, input: SetRiskLimitsInput): Promise<SetRiskLimitsResult> {
  return db.transaction(async (tx) => {
    const previous = await latestRiskLimits(tx);
    const stored = await appendRiskLimits(tx, {
      limits: input.limits,
      author: input.author,
      reason: input.reason,
      createdAt: input.at,
      expectedLatest: input.expectedLatest ?? previous?.version ?? 0,
    });
    const audit = await appendAudit(tx, {
      at: input.at,
      actor: input.author,
      action: 'risk_limits.set',
      entity: `risk_limits:${stored.version}`,
      before: previous ? { version: previous.version, limits: previous.limits } : null,
      after: { version: stored.version, limits: stored.limits },
      reason: input.reason,
    });
    return { stored, previous, audit };
  });
}

/** The audit action per kind of trading-state change (mirrors packages/risk's TransitionKind). */
export type TradingStateChangeKind = 'kill_switch' | 'daily_loss' | 'drawdown' | 'auto_resume' | 'resume' | 'reduce_only';

export interface ChangeTradingStateInput {
  readonly scope?: string;
  readonly kind: TradingStateChangeKind;
  readonly to: TradingStateName;
  readonly actor: string;
  readonly reason: string;
  readonly at: number;
  readonly until: number | null;
  /** the stored version the decision was made on (0 = none): CONFLICT if it changed since */
  readonly expectedVersion?: number;
}

export interface ChangeTradingStateResult {
  readonly before: StoredTradingState | undefined;
  readonly state: StoredTradingState;
  readonly transition: StoredTransition;
  readonly audit: AuditEntry;
}

export async function changeTradingState(db: Db, c: ChangeTradingStateInput): Promise<ChangeTradingStateResult> {
  const scope = c.scope ?? GLOBAL_SCOPE;
  return db.transaction(async (tx) => {
    const before = await getTradingState(tx, scope);
    const { state, transition } = await transitionTradingState(tx, {
      scope,
      to: c.to,
      reason: c.reason,
      actor: c.actor,
      at: c.at,
      until: c.until,
      expectedVersion: c.expectedVersion ?? before?.version ?? 0,
    });
    const audit = await appendAudit(tx, {
      at: c.at,
      actor: c.actor,
      action: `trading_state.${c.kind}`,
      entity: `trading_state:${scope}`,
      before: before ? before.state : null,
      after: state.state,
      reason: c.reason,
    });
    return { before, state, transition, audit };
  });
}

/** The stored state of a scope, or the given default (ACTIVE on a fresh install) when none was ever stored. */
export async function readTradingState(db: Db, initial: TradingState, scope: string = GLOBAL_SCOPE): Promise<{ state: TradingState; version: number }> {
  const s = await getTradingState(db, scope);
  return s ? { state: s.state, version: s.version } : { state: initial, version: 0 };
}
