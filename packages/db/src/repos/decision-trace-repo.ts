import { AppError } from '@meridian/core';
import { DecisionTraceSchema, type DecisionTrace, type TraceOutcome } from '@meridian/contracts';
import { jsonParam, type Db } from '../db.ts';
import { parseWith } from '../validate.ts';

export interface StoredDecisionTrace {
  readonly trace: DecisionTrace;
  readonly createdAt: number;
}

interface Row {
  trace: unknown;
  created_at: number;
}

const toStored = (r: Row): StoredDecisionTrace => ({
  trace: parseWith(DecisionTraceSchema, r.trace, 'stored decision trace', 'DATA_INTEGRITY'),
  createdAt: r.created_at,
});

/**
 * Store a decision's trace once. If the bar (exchange, symbol, timeframe, asOf, runScope)
 * or the decision id already has one — a redelivered candle, a retried job — nothing is
 * written and the existing trace is returned with `inserted: false`: act on that one.
 */
export async function insertDecisionTrace(
  db: Db,
  trace: DecisionTrace,
  createdAt: number,
): Promise<{ inserted: boolean; stored: StoredDecisionTrace }> {
  const t = parseWith(DecisionTraceSchema, trace, 'decision trace', 'VALIDATION');
  const r = await db.query<Row>(
    `INSERT INTO decision_traces (trace_id, decision_id, run_scope, exchange, symbol, timeframe, as_of, outcome, runner, trace, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)
     ON CONFLICT DO NOTHING
     RETURNING trace, created_at`,
    [t.traceId, t.decisionId, t.runScope, t.exchange, t.symbol, t.timeframe, t.asOf, t.outcome, t.runner, jsonParam(t), createdAt],
  );
  if (r.rows[0]) return { inserted: true, stored: toStored(r.rows[0]) };
  const existing = await db.query<Row>(
    `SELECT trace, created_at FROM decision_traces
      WHERE decision_id = $1 OR trace_id = $2
         OR (exchange = $3 AND symbol = $4 AND timeframe = $5 AND as_of = $6 AND run_scope = $7)
      ORDER BY created_at LIMIT 1`,
    [t.decisionId, t.traceId, t.exchange, t.symbol, t.timeframe, t.asOf, t.runScope],
  );
  if (!existing.rows[0]) throw new AppError('INTERNAL', `decision trace ${t.decisionId} conflicted but no existing row was found`);
  return { inserted: false, stored: toStored(existing.rows[0]) };
}

export async function getDecisionTrace(db: Db, decisionId: string): Promise<StoredDecisionTrace | undefined> {
  const r = await db.query<Row>('SELECT trace, created_at FROM decision_traces WHERE decision_id = $1', [decisionId]);
  return r.rows[0] ? toStored(r.rows[0]) : undefined;
}

export interface DecisionTraceFilter {
  /** 'live' or a backtest run id (default: all) */
  readonly runScope?: string;
  readonly exchange?: string;
  readonly symbol?: string;
  readonly timeframe?: string;
  readonly outcome?: TraceOutcome;
  /** only traces with asOf < before (paging backwards) */
  readonly before?: number;
  /** default 100 */
  readonly limit?: number;
}

/** Newest first (by asOf). */
export async function listDecisionTraces(db: Db, f: DecisionTraceFilter = {}): Promise<StoredDecisionTrace[]> {
  const r = await db.query<Row>(
    `SELECT trace, created_at FROM decision_traces
      WHERE ($1::text IS NULL OR run_scope = $1) AND ($2::text IS NULL OR exchange = $2)
        AND ($3::text IS NULL OR symbol = $3) AND ($4::text IS NULL OR timeframe = $4)
        AND ($5::text IS NULL OR outcome = $5) AND ($6::bigint IS NULL OR as_of < $6)
      ORDER BY as_of DESC, trace_id DESC
      LIMIT $7`,
    [f.runScope ?? null, f.exchange ?? null, f.symbol ?? null, f.timeframe ?? null, f.outcome ?? null, f.before ?? null, f.limit ?? 100],
  );
  return r.rows.map(toStored);
}
