import type { DecisionTrace } from '@meridian/contracts';
import { AppError, type Clock } from '@meridian/core';
import {
  appendAudit,
  closePendingApproval,
  getDecisionTrace,
  getPendingApproval,
  insertDecisionTrace,
  insertOutbox,
  insertPendingApproval,
  listPendingApprovals,
  type Db,
  type PendingApproval,
} from '@meridian/db';
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

  async record(trace: DecisionTrace, pendingExpiresAt: number | null): Promise<RecordResult> {
    return this.db.transaction(async (tx) => {
      const at = this.clock.now();
      const r = await insertDecisionTrace(tx, trace, at);
      if (!r.inserted) return { inserted: false, trace: r.stored.trace };
      if (trace.orderRequest !== null) await insertOutbox(tx, { orderId: trace.orderRequest.orderId, payload: trace.orderRequest, createdAt: at });
      if (trace.outcome === 'pending_approval') {
        if (pendingExpiresAt === null) throw new AppError('INTERNAL', `pending decision ${trace.decisionId} recorded without an expiry`);
        await insertPendingApproval(tx, {
          decisionId: trace.decisionId,
          runScope: trace.runScope,
          exchange: trace.exchange,
          symbol: trace.symbol,
          requestedAt: trace.verdict?.evaluatedAt ?? at,
          expiresAt: pendingExpiresAt,
        });
      }
      return { inserted: true, trace };
    });
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
