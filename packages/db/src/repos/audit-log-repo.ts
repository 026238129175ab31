import { AppError } from '@meridian/core';
import { jsonParam, type Db } from '../db.ts';

export interface NewAuditEntry {
  readonly at: number;
  /** user name, or a process such as 'risk-engine' */
  readonly actor: string;
  /** e.g. 'risk_limits.update', 'trading.halt', 'user.create' */
  readonly action: string;
  /** what was acted on, e.g. 'risk_limits:7', 'user:alice' */
  readonly entity: string;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly reason?: string | null;
}

export interface AuditEntry {
  readonly id: number;
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly entity: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly reason: string | null;
}

const COLUMNS = 'id, at, actor, action, entity, before, after, reason';

const optionalJson = (v: unknown): string | null => (v === undefined || v === null ? null : jsonParam(v));

/** Append one entry (the table refuses UPDATE and DELETE). Use the caller's transaction to tie it to the change it records. */
export async function appendAudit(db: Db, e: NewAuditEntry): Promise<AuditEntry> {
  const r = await db.query<AuditEntry>(
    `INSERT INTO audit_log (at, actor, action, entity, before, after, reason) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7)
     RETURNING ${COLUMNS}`,
    [e.at, e.actor, e.action, e.entity, optionalJson(e.before), optionalJson(e.after), e.reason ?? null],
  );
  const row = r.rows[0];
  if (!row) throw new AppError('INTERNAL', 'audit insert returned no row');
  return row;
}

export interface AuditFilter {
  readonly entity?: string;
  readonly actor?: string;
  readonly action?: string;
  /** entries with at ≥ since */
  readonly since?: number;
  /** entries with id < beforeId (paging backwards) */
  readonly beforeId?: number;
  /** default 100 */
  readonly limit?: number;
}

/** Newest first. */
export async function listAudit(db: Db, f: AuditFilter = {}): Promise<AuditEntry[]> {
  const r = await db.query<AuditEntry>(
    `SELECT ${COLUMNS} FROM audit_log
      WHERE ($1::text IS NULL OR entity = $1) AND ($2::text IS NULL OR actor = $2) AND ($3::text IS NULL OR action = $3)
        AND ($4::bigint IS NULL OR at >= $4) AND ($5::bigint IS NULL OR id < $5)
      ORDER BY id DESC LIMIT $6`,
    [f.entity ?? null, f.actor ?? null, f.action ?? null, f.since ?? null, f.beforeId ?? null, f.limit ?? 100],
  );
  return r.rows;
}
