import type { DecisionTrace } from '@meridian/contracts';
import { AppError, toIso, type Clock } from '@meridian/core';
import type { DecisionRecorder } from './decision-recorder.ts';
import { resolvePendingTrace, validateTrace } from './decision-trace-builder.ts';
import type { GraphRunner } from './graph-runner.ts';
import type { IdFactory } from './orchestrator-deps.ts';
import { ApprovalAnswerSchema, type ApprovalAnswer } from './run-state.ts';
import type { SigningKey } from '@meridian/risk';

/** What resolving a pending approval needs; the CLI builds it from the config. */
export interface ApprovalServiceDeps {
  readonly recorder: DecisionRecorder;
  /** the graph runner over the durable checkpointer; null (or a run not in it) → resolved from the stored trace */
  readonly graph: GraphRunner | null;
  readonly clock: Clock;
  readonly ids: IdFactory;
  readonly signing: SigningKey;
  readonly approvalTtlMs: number;
}

export interface ApprovalRequestInput {
  readonly decisionId: string;
  readonly decision: 'approve' | 'deny';
  readonly author: string;
  readonly reason: string;
}

export interface ApprovalResolution {
  readonly trace: DecisionTrace;
  /** 'graph': the interrupted LangGraph run was resumed; 'stored-trace': resolved from the trace in the database */
  readonly via: 'graph' | 'stored-trace';
}

/** Who the expiry is recorded as. */
export const EXPIRY_RESOLVER = 'system:approval-expiry';

/**
 * `meridian risk approve|deny`: answer a pending approval. Refuses (NOT_FOUND / CONFLICT) when
 * the decision is unknown or not waiting. Past its expiry the approval is marked `expired`
 * instead; an approve then fails with APPROVAL_INVALID, a deny returns the expired trace (nothing
 * would have been sent either way). Every resolution writes an audit entry.
 */
export async function resolvePendingApproval(deps: ApprovalServiceDeps, req: ApprovalRequestInput): Promise<ApprovalResolution> {
  const now = deps.clock.now();
  const answer = ApprovalAnswerSchema.safeParse({ decision: req.decision, by: req.author, reason: req.reason, at: now });
  if (!answer.success) throw new AppError('VALIDATION', answer.error.issues.map((i) => i.message).join('; '));
  const pending = await deps.recorder.getPending(req.decisionId);
  if (!pending) {
    const trace = await deps.recorder.getTrace(req.decisionId);
    throw trace
      ? new AppError('CONFLICT', `decision ${req.decisionId} did not need an approval (its outcome is ${trace.outcome})`)
      : new AppError('NOT_FOUND', `no decision ${req.decisionId}`, { hint: 'copy the decision id from the pending decision on the dashboard or from the trace' });
  }
  if (pending.status !== 'pending')
    throw new AppError('CONFLICT', `the approval for decision ${req.decisionId} is already ${pending.status}${pending.resolvedBy ? ` (by ${pending.resolvedBy}: ${pending.reason ?? ''})` : ''}`, {
      hint: 'nothing was changed',
    });
  if (now >= pending.expiresAt) {
    const expired = await resolve(deps, req.decisionId, {
      decision: 'expire',
      by: EXPIRY_RESOLVER,
      reason: `not approved within the pending-approval time (expired at ${toIso(pending.expiresAt)})`,
      at: now,
    });
    if (req.decision === 'deny') return expired;
    throw new AppError('APPROVAL_INVALID', `the pending approval for decision ${req.decisionId} expired at ${toIso(pending.expiresAt)} and can no longer be approved; it is now marked expired`, {
      hint: 'no order was sent; the next bar makes a new decision (raise MERIDIAN_PENDING_APPROVAL_TTL_MS if officers need longer)',
    });
  }
  return resolve(deps, req.decisionId, answer.data);
}

/** Mark every open approval past its expiry as expired (the worker runs this periodically). */
export async function expireOverdueApprovals(deps: ApprovalServiceDeps): Promise<DecisionTrace[]> {
  const now = deps.clock.now();
  const out: DecisionTrace[] = [];
  for (const p of await deps.recorder.listOverdue(now)) {
    const r = await resolve(deps, p.decisionId, {
      decision: 'expire',
      by: EXPIRY_RESOLVER,
      reason: `not approved within the pending-approval time (expired at ${toIso(p.expiresAt)})`,
      at: now,
    });
    out.push(r.trace);
  }
  return out;
}

async function resolve(deps: ApprovalServiceDeps, decisionId: string, answer: ApprovalAnswer): Promise<ApprovalResolution> {
  if (deps.graph !== null && (await deps.graph.isWaiting(decisionId))) return { trace: await deps.graph.resume(decisionId, answer), via: 'graph' };
  // no checkpoint of the run (fast runner live, or embedded mode after a restart): the stored
  // trace holds the decision and the verdict, which is all the resolution needs
  const stored = await deps.recorder.getTrace(decisionId);
  if (!stored) throw new AppError('DATA_INTEGRITY', `approval ${decisionId} is open but its trace is missing`);
  const final = validateTrace(resolvePendingTrace(stored, answer, deps));
  await deps.recorder.resolve(final, answer);
  return { trace: final, via: 'stored-trace' };
}
