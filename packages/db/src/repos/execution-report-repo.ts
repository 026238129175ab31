import { AppError } from '@meridian/core';
import { ExecutionReportSchema, type ExecutionReport } from '@meridian/contracts';
import { jsonParam, type Db } from '../db.ts';
import { parseWith } from '../validate.ts';

/** LISTEN on this channel for a wake-up after each committed report (payload: the report's id). */
export const EXECUTION_REPORTS_CHANNEL = 'meridian_execution_reports';

export interface StoredExecutionReport {
  /** increases in commit order per writer; stream with `listExecutionReports({ afterId })` */
  readonly id: number;
  readonly report: ExecutionReport;
}

/** Publish one report (call it in the transaction that changed the order). */
export async function insertExecutionReport(db: Db, report: ExecutionReport): Promise<StoredExecutionReport> {
  const r = parseWith(ExecutionReportSchema, report, 'execution report', 'VALIDATION');
  const q = await db.query<{ id: number }>(
    'INSERT INTO execution_reports (order_id, status, report, created_at) VALUES ($1, $2, $3::jsonb, $4) RETURNING id',
    [r.orderId, r.status, jsonParam(r), r.ts],
  );
  const id = q.rows[0]?.id;
  if (id === undefined) throw new AppError('INTERNAL', 'execution report insert returned no row');
  return { id, report: r };
}

/** Oldest first; `afterId` continues a stream, `orderId` narrows to one order. */
export async function listExecutionReports(db: Db, opts: { afterId?: number; orderId?: string; limit?: number } = {}): Promise<StoredExecutionReport[]> {
  const q = await db.query<{ id: number; report: unknown }>(
    `SELECT id, report FROM execution_reports
      WHERE id > $1 AND ($2::uuid IS NULL OR order_id = $2) ORDER BY id LIMIT $3`,
    [opts.afterId ?? 0, opts.orderId ?? null, opts.limit ?? 1000],
  );
  return q.rows.map((x) => ({ id: x.id, report: parseWith(ExecutionReportSchema, x.report, `execution report ${x.id}`, 'DATA_INTEGRITY') }));
}
