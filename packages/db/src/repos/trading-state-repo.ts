import { AppError } from '@meridian/core';
import { SCHEMA_VERSION, type TradingState, type TradingStateName } from '@meridian/contracts';
import type { Db } from '../db.ts';

/** 'global' is the whole system (the kill switch); other scopes are for the risk module to define. */
export const GLOBAL_SCOPE = 'global';

export interface StoredTradingState {
  readonly scope: string;
  readonly state: TradingState;
  /** 1 for the first state, +1 on every transition (for optimistic concurrency) */
  readonly version: number;
}

export interface TradingStateTransition {
  readonly id: number;
  readonly scope: string;
  readonly from: TradingStateName | null;
  readonly to: TradingStateName;
  readonly reason: string;
  readonly actor: string;
  readonly at: number;
  readonly until: number | null;
}

interface StateRow {
  scope: string;
  state: TradingStateName;
  reason: string;
  actor: string;
  since: number;
  until: number | null;
  version: number;
}

interface TransitionRow {
  id: number;
  scope: string;
  from_state: TradingStateName | null;
  to_state: TradingStateName;
  reason: string;
  actor: string;
  at: number;
  until: number | null;
}

const toState = (r: StateRow): StoredTradingState => ({
  scope: r.scope,
  version: r.version,
  state: { schemaVersion: SCHEMA_VERSION, state: r.state, reason: r.reason, actor: r.actor, since: r.since, until: r.until },
});

const toTransition = (r: TransitionRow): TradingStateTransition => ({
  id: r.id,
  scope: r.scope,
  from: r.from_state,
  to: r.to_state,
  reason: r.reason,
  actor: r.actor,
  at: r.at,
  until: r.until,
});

/** The current state of a scope, or undefined if it never had one (the risk module picks the default). */
export async function getTradingState(db: Db, scope: string = GLOBAL_SCOPE): Promise<StoredTradingState | undefined> {
  const r = await db.query<StateRow>('SELECT scope, state, reason, actor, since, until, version FROM trading_state WHERE scope = $1', [scope]);
  return r.rows[0] ? toState(r.rows[0]) : undefined;
}

export interface TransitionInput {
  readonly scope?: string;
  readonly to: TradingStateName;
  readonly reason: string;
  readonly actor: string;
  readonly at: number;
  /** automatic end of a halt; null = until a person resumes */
  readonly until?: number | null;
  /** the version the caller saw (0 = none): CONFLICT if someone else changed the state since */
  readonly expectedVersion?: number;
}

/**
 * Set the state and record the transition, in one transaction (the row is locked, so two
 * concurrent transitions serialise). Whether a transition is allowed is packages/risk's rule.
 */
export async function transitionTradingState(
  db: Db,
  t: TransitionInput,
): Promise<{ state: StoredTradingState; transition: TradingStateTransition }> {
  const scope = t.scope ?? GLOBAL_SCOPE;
  return db.transaction(async (tx) => {
    // lock the current row; a scope's first-ever transition has none, and a race there is caught by the upsert's WHERE
    const cur = await tx.query<StateRow>('SELECT scope, state, reason, actor, since, until, version FROM trading_state WHERE scope = $1 FOR UPDATE', [scope]);
    const before = cur.rows[0];
    const version = before?.version ?? 0;
    if (t.expectedVersion !== undefined && t.expectedVersion !== version) {
      throw new AppError('CONFLICT', `trading state of ${scope} changed meanwhile (version ${version}, expected ${t.expectedVersion})`, {
        hint: 'reload the trading state and decide again',
      });
    }
    const until = t.until ?? null;
    const next = await tx.query<StateRow>(
      `INSERT INTO trading_state (scope, state, reason, actor, since, until, version) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (scope) DO UPDATE
         SET state = excluded.state, reason = excluded.reason, actor = excluded.actor, since = excluded.since,
             until = excluded.until, version = excluded.version
         WHERE trading_state.version = $7 - 1
       RETURNING scope, state, reason, actor, since, until, version`,
      [scope, t.to, t.reason, t.actor, t.at, until, version + 1],
    );
    const row = next.rows[0];
    if (!row) {
      // only reachable when two first-ever transitions race: the loser's INSERT met the winner's row
      throw new AppError('CONFLICT', `trading state of ${scope} changed meanwhile`, { hint: 'reload the trading state and decide again' });
    }
    const tr = await tx.query<TransitionRow>(
      `INSERT INTO trading_state_transitions (scope, from_state, to_state, reason, actor, at, until) VALUES ($1, $2, $3, $4, $5, $6, $7)
       RETURNING id, scope, from_state, to_state, reason, actor, at, until`,
      [scope, before?.state ?? null, t.to, t.reason, t.actor, t.at, until],
    );
    const trRow = tr.rows[0];
    if (!trRow) throw new AppError('INTERNAL', 'trading state transition insert returned no row');
    return { state: toState(row), transition: toTransition(trRow) };
  });
}

/** Newest first. */
export async function listTradingStateTransitions(db: Db, opts: { scope?: string; limit?: number } = {}): Promise<TradingStateTransition[]> {
  const r = await db.query<TransitionRow>(
    `SELECT id, scope, from_state, to_state, reason, actor, at, until FROM trading_state_transitions
      WHERE scope = $1 ORDER BY id DESC LIMIT $2`,
    [opts.scope ?? GLOBAL_SCOPE, opts.limit ?? 100],
  );
  return r.rows.map(toTransition);
}
