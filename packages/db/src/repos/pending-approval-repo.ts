import { DecisionTraceSchema, type DecisionTrace } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { jsonParam, type Db } from '../db.ts';
import { parseWith } from '../validate.ts';

/**
 * Decisions waiting for a risk officer (migration 0004). The orchestrator writes the row in the
 * transaction that stores the pending trace, and closes it — once — in the transaction that
 * updates the trace to its final outcome (approved_by_officer, denied, expired).
 */
export type PendingApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

export interface PendingApproval {
  readonly decisionId: string;
  readonly runScope: string;
  readonly exchange: string;
  readonly symbol: string;
  readonly status: PendingApprovalStatus;
  readonly requestedAt: number;
  readonly expiresAt: number;
  readonly resolvedAt: number | null;
  readonly resolvedBy: string | null;
  readonly reason: string | null;
}

interface Row {
  decision_id: string;
  run_scope: string;
  exchange: string;
  symbol: string;
  status: PendingApprovalStatus;
  requested_at: number;
  expires_at: number;
  resolved_at: number | null;
  resolved_by: string | null;
  reason: string | null;
}

const COLUMNS = 'decision_id, run_scope, exchange, symbol, status, requested_at, expires_at, resolved_at, resolved_by, reason';

const toPending = (r: Row): PendingApproval => ({
  decisionId: r.decision_id,
  runScope: r.run_scope,
  exchange: r.exchange,
  symbol: r.symbol,
  status: r.status,
  requestedAt: r.requested_at,
  expiresAt: r.expires_at,
  resolvedAt: r.resolved_at,
  resolvedBy: r.resolved_by,
  reason: r.reason,
});

/** Call in the transaction that inserted the pending trace (the row references it). Idempotent per decision. */
export async function insertPendingApproval(
  db: Db,
  p: { decisionId: string; runScope: string; exchange: string; symbol: string; requestedAt: number; expiresAt: number },
): Promise<{ inserted: boolean }> {
  if (!(p.expiresAt > p.requestedAt))
    throw new AppError('VALIDATION', `a pending approval must expire after it is requested (requested ${p.requestedAt}, expires ${p.expiresAt})`, {
      hint: 'MERIDIAN_PENDING_APPROVAL_TTL_MS must be > 0',
    });
  const r = await db.query(
    `INSERT INTO pending_approvals (decision_id, run_scope, exchange, symbol, requested_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
    [p.decisionId, p.runScope, p.exchange, p.symbol, p.requestedAt, p.expiresAt],
  );
  return { inserted: r.rowCount === 1 };
}

export async function getPendingApproval(db: Db, decisionId: string): Promise<PendingApproval | undefined> {
  const r = await db.query<Row>(`SELECT ${COLUMNS} FROM pending_approvals WHERE decision_id = $1`, [decisionId]);
  return r.rows[0] ? toPending(r.rows[0]) : undefined;
}

export interface PendingApprovalFilter {
  readonly status?: PendingApprovalStatus;
  /** only open rows whose expiry is at or before this time (the expiry sweep) */
  readonly overdueAt?: number;
  /** default 100 */
  readonly limit?: number;
}

/** Oldest request first. */
export async function listPendingApprovals(db: Db, f: PendingApprovalFilter = {}): Promise<PendingApproval[]> {
  const r = await db.query<Row>(
    `SELECT ${COLUMNS} FROM pending_approvals
      WHERE ($1::text IS NULL OR status = $1)
        AND ($2::bigint IS NULL OR (status = 'pending' AND expires_at <= $2))
      ORDER BY requested_at, decision_id LIMIT $3`,
    [f.status ?? null, f.overdueAt ?? null, f.limit ?? 100],
  );
  return r.rows.map(toPending);
}

/**
 * Close an open approval and replace its trace with the final one (validated: its outcome must be
 * approved_by_officer, denied or expired). Returns false — and changes nothing — when the approval
 * is not open any more (someone else resolved it first). Run it in the transaction that also
 * writes the outbox row and the audit entry.
 */
export async function closePendingApproval(
  db: Db,
  c: { decisionId: string; status: Exclude<PendingApprovalStatus, 'pending'>; at: number; by: string; reason: string; trace: DecisionTrace },
): Promise<boolean> {
  const t = parseWith(DecisionTraceSchema, c.trace, 'resolved decision trace', 'VALIDATION');
  const expected = { approved: 'approved_by_officer', denied: 'denied', expired: 'expired' } as const;
  if (t.decisionId !== c.decisionId || t.outcome !== expected[c.status])
    throw new AppError('VALIDATION', `closing approval ${c.decisionId} as ${c.status} needs its trace with outcome ${expected[c.status]}, got ${t.decisionId} / ${t.outcome}`);
  const r = await db.query(
    `UPDATE pending_approvals SET status = $2, resolved_at = $3, resolved_by = $4, reason = $5
      WHERE decision_id = $1 AND status = 'pending'`,
    [c.decisionId, c.status, c.at, c.by, c.reason],
  );
  if (r.rowCount !== 1) return false;
  const u = await db.query(`UPDATE decision_traces SET outcome = $2, trace = $3::jsonb WHERE decision_id = $1 AND outcome = 'pending_approval'`, [
    c.decisionId,
    t.outcome,
    jsonParam(t),
  ]);
  if (u.rowCount !== 1) throw new AppError('DATA_INTEGRITY', `approval ${c.decisionId} was open but its trace is not pending_approval`);
  return true;
}
