import { DecisionTraceSchema, type DecisionTrace } from '@meridian/contracts';
import { AppError, uuidv7, type Clock } from '@meridian/core';
import {
  namedStatement,
  parseWith,
  appendAudit,
  closePendingApproval,
  getDecisionTrace,
  getPendingApproval,
  insertOutbox,
  jsonParam,
  listPendingApprovals,
  type Db,
  type SqlValue,
  type PendingApproval,
} from '@meridian/db';
import { isValidatedTrace } from './decision-trace-builder.ts';
import type { ApprovalAnswer } from './run-state.ts';

export interface RecordResult {
  /** false: the bar (or the decision id) already had a trace; `trace` is the stored one — act on that */
  readonly inserted: boolean;
  readonly trace: DecisionTrace;
}

export type { PendingApproval };

/**
 * Where decisions go. `record` stores a trace and, in the same transaction, its outbox row (when
 * it carries an order) and its pending approval (when it waits for an officer); a bar that already
 * has a decision keeps it. `resolve` closes a pending approval with its final trace, the outbox
 * row on approval and an audit entry, again in one transaction.
 */
export interface DecisionRecorder {
  /** true when `record` returns its result directly (the fast runner's decideSync needs that) */
  readonly synchronous: boolean;
  record(trace: DecisionTrace, pendingExpiresAt: number | null): RecordResult | Promise<RecordResult>;
  /** throws AppError CONFLICT when the approval is not open any more */
  resolve(trace: DecisionTrace, answer: ApprovalAnswer): Promise<void>;
  getTrace(decisionId: string): Promise<DecisionTrace | undefined>;
  getPending(decisionId: string): Promise<PendingApproval | undefined>;
  /** open approvals whose expiry is at or before `now` */
  listOverdue(now: number): Promise<PendingApproval[]>;
}

const STATUS_OF = { approve: 'approved', deny: 'denied', expire: 'expired' } as const;

/** The live recorder: decision_traces, outbox, pending_approvals and audit_log in packages/db. */
export class DbDecisionRecorder implements DecisionRecorder {
  readonly synchronous = false;
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /**
   * The trace, its outbox row and its pending approval in ONE statement (data-modifying CTEs commit or fail
   * together), so inside the worker's transaction this costs one round trip instead of a savepoint, three
   * inserts and a release. The rows are the ones `insertDecisionTrace`, `insertOutbox` and
   * `insertPendingApproval` write; the outbox part is only in the statement when there is an order, because
   * the outbox's statement-level NOTIFY trigger would wake the relay for every decision otherwise. A bar (or
   * decision id) that already has a trace inserts nothing, and the stored trace is returned.
   */
  async record(trace: DecisionTrace, pendingExpiresAt: number | null): Promise<RecordResult> {
    const at = this.clock.now();
    // a trace the orchestrator validated just before (validateTrace) is not parsed again
    const v = isValidatedTrace(trace) ? trace : parseWith(DecisionTraceSchema, trace, 'decision trace', 'VALIDATION');
    const pending = trace.outcome === 'pending_approval';
    if (pending && pendingExpiresAt === null) throw new AppError('INTERNAL', `pending decision ${trace.decisionId} recorded without an expiry`);
    const requestedAt = trace.verdict?.evaluatedAt ?? at;
    if (pending && !((pendingExpiresAt as number) > requestedAt))
      throw new AppError('VALIDATION', `a pending approval must expire after it is requested (requested ${requestedAt}, expires ${pendingExpiresAt})`, {
        hint: 'MERIDIAN_PENDING_APPROVAL_TTL_MS must be > 0',
      });
    const order = v.orderRequest;
    const params: SqlValue[] = [v.traceId, v.decisionId, v.runScope, v.exchange, v.symbol, v.timeframe, v.asOf, v.outcome, v.runner, jsonParam(v), at];
    const ctes: string[] = [];
    if (order !== null) {
      params.push(uuidv7(at), order.orderId, jsonParam(order));
      const n = params.length;
      ctes.push(`o AS (INSERT INTO outbox (id, order_id, payload, created_at) SELECT $${n - 2}::uuid, $${n - 1}::uuid, $${n}::jsonb, $11 FROM t ON CONFLICT DO NOTHING)`);
    }
    if (pending) {
      params.push(requestedAt, pendingExpiresAt);
      const n = params.length;
      ctes.push(
        `p AS (INSERT INTO pending_approvals (decision_id, run_scope, exchange, symbol, requested_at, expires_at) SELECT $2, $3, $4, $5, $${n - 1}::bigint, $${n}::bigint FROM t ON CONFLICT DO NOTHING)`,
      );
    }
    // named (one of four texts: with or without the outbox row and the pending approval), run on every decision
    const r = await this.db.query<{ n: number }>(
      namedStatement(`WITH t AS (
         INSERT INTO decision_traces (trace_id, decision_id, run_scope, exchange, symbol, timeframe, as_of, outcome, runner, trace, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)
         ON CONFLICT DO NOTHING
         RETURNING decision_id)${ctes.map((c) => `,\n       ${c}`).join('')}
       SELECT count(*)::int AS n FROM t`),
      params,
    );
    if ((r.rows[0]?.n ?? 0) === 1) return { inserted: true, trace };
    // the bar or the decision id already has a trace (committed: ON CONFLICT waited for its writer): act on it
    const existing = await this.db.query<{ trace: unknown }>(
      `SELECT trace FROM decision_traces
        WHERE decision_id = $1 OR trace_id = $2 OR (exchange = $3 AND symbol = $4 AND timeframe = $5 AND as_of = $6 AND run_scope = $7)
        ORDER BY created_at LIMIT 1`,
      [v.decisionId, v.traceId, v.exchange, v.symbol, v.timeframe, v.asOf, v.runScope],
    );
    const row = existing.rows[0];
    if (!row) throw new AppError('INTERNAL', `decision trace ${v.decisionId} conflicted but no existing row was found`);
    const stored = DecisionTraceSchema.safeParse(row.trace);
    if (!stored.success) throw new AppError('DATA_INTEGRITY', `stored decision trace for ${v.symbol} at ${v.asOf} does not match its schema`);
    return { inserted: false, trace: stored.data };
  }

  async resolve(trace: DecisionTrace, answer: ApprovalAnswer): Promise<void> {
    await this.db.transaction(async (tx) => {
      const closed = await closePendingApproval(tx, { decisionId: trace.decisionId, status: STATUS_OF[answer.decision], at: answer.at, by: answer.by, reason: answer.reason, trace });
      if (!closed) {
        const p = await getPendingApproval(tx, trace.decisionId);
        throw new AppError('CONFLICT', `the approval for decision ${trace.decisionId} is ${p ? `already ${p.status}${p.resolvedBy ? ` (by ${p.resolvedBy})` : ''}` : 'not pending'}`, {
          hint: 'nothing was changed; see the decision trace for how it was resolved',
        });
      }
      if (trace.orderRequest !== null) await insertOutbox(tx, { orderId: trace.orderRequest.orderId, payload: trace.orderRequest, createdAt: answer.at });
      await appendAudit(tx, {
        at: answer.at,
        actor: answer.by,
        action: `decision.${STATUS_OF[answer.decision]}`,
        entity: `decision:${trace.decisionId}`,
        before: { outcome: 'pending_approval' },
        after: { outcome: trace.outcome, orderId: trace.orderRequest?.orderId ?? null },
        reason: answer.reason,
      });
    });
  }

  async getTrace(decisionId: string): Promise<DecisionTrace | undefined> {
    return (await getDecisionTrace(this.db, decisionId))?.trace;
  }

  getPending(decisionId: string): Promise<PendingApproval | undefined> {
    return getPendingApproval(this.db, decisionId);
  }

  listOverdue(now: number): Promise<PendingApproval[]> {
    return listPendingApprovals(this.db, { overdueAt: now, limit: 1000 });
  }
}

const barKey = (t: DecisionTrace): string => `${t.exchange}|${t.symbol}|${t.timeframe}|${t.asOf}|${t.runScope}`;

/**
 * Same rules in memory, synchronously (backtests, tests): one trace per bar and scope, outbox
 * entries for orders, pending approvals with their expiry. Audit entries are kept in `audit`.
 */
export class InMemoryDecisionRecorder implements DecisionRecorder {
  readonly synchronous = true;
  readonly traces = new Map<string, DecisionTrace>();
  readonly outbox: { orderId: string; payload: unknown; createdAt: number }[] = [];
  readonly pending = new Map<string, PendingApproval>();
  readonly audit: { at: number; actor: string; action: string; entity: string; reason: string }[] = [];
  readonly #byBar = new Map<string, string>();

  constructor(private readonly clock: Clock) {}

  record(trace: DecisionTrace, pendingExpiresAt: number | null): RecordResult {
    const existing = this.#byBar.get(barKey(trace)) ?? (this.traces.has(trace.decisionId) ? trace.decisionId : undefined);
    if (existing !== undefined) return { inserted: false, trace: this.traces.get(existing) as DecisionTrace };
    const at = this.clock.now();
    this.traces.set(trace.decisionId, trace);
    this.#byBar.set(barKey(trace), trace.decisionId);
    if (trace.orderRequest !== null) this.outbox.push({ orderId: trace.orderRequest.orderId, payload: trace.orderRequest, createdAt: at });
    if (trace.outcome === 'pending_approval') {
      if (pendingExpiresAt === null) throw new AppError('INTERNAL', `pending decision ${trace.decisionId} recorded without an expiry`);
      const requestedAt = trace.verdict?.evaluatedAt ?? at;
      this.pending.set(trace.decisionId, {
        decisionId: trace.decisionId,
        runScope: trace.runScope,
        exchange: trace.exchange,
        symbol: trace.symbol,
        status: 'pending',
        requestedAt,
        expiresAt: pendingExpiresAt,
        resolvedAt: null,
        resolvedBy: null,
        reason: null,
      });
    }
    return { inserted: true, trace };
  }

  resolve(trace: DecisionTrace, answer: ApprovalAnswer): Promise<void> {
    const p = this.pending.get(trace.decisionId);
    if (!p || p.status !== 'pending')
      return Promise.reject(new AppError('CONFLICT', `the approval for decision ${trace.decisionId} is ${p ? `already ${p.status}` : 'not pending'}`));
    const status = STATUS_OF[answer.decision];
    this.pending.set(trace.decisionId, { ...p, status, resolvedAt: answer.at, resolvedBy: answer.by, reason: answer.reason });
    this.traces.set(trace.decisionId, trace);
    if (trace.orderRequest !== null) this.outbox.push({ orderId: trace.orderRequest.orderId, payload: trace.orderRequest, createdAt: answer.at });
    this.audit.push({ at: answer.at, actor: answer.by, action: `decision.${status}`, entity: `decision:${trace.decisionId}`, reason: answer.reason });
    return Promise.resolve();
  }

  getTrace(decisionId: string): Promise<DecisionTrace | undefined> {
    return Promise.resolve(this.traces.get(decisionId));
  }

  getPending(decisionId: string): Promise<PendingApproval | undefined> {
    return Promise.resolve(this.pending.get(decisionId));
  }

  listOverdue(now: number): Promise<PendingApproval[]> {
    return Promise.resolve([...this.pending.values()].filter((p) => p.status === 'pending' && p.expiresAt <= now));
  }
}
