import { DecisionTraceSchema, type DecisionTrace, type TradeDecision, type TraceOutcome } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { BACKTEST_RESOLVER, type OrchestratorDeps } from './orchestrator-deps.ts';
import { buildOrderRequest } from './order-request.ts';
import type { ApprovalAnswer, RunState } from './run-state.ts';

export type Runner = DecisionTrace['runner'];

/** The outcome the risk gate's verdict implies before anyone resolves a pending approval. */
export function outcomeOf(state: RunState): TraceOutcome {
  const v = state.verdict;
  if (v === null) return 'hold';
  switch (v.status) {
    case 'approved':
    case 'resized':
      return 'order';
    case 'rejected':
      return 'rejected';
    case 'pending_approval':
      return 'pending_approval';
  }
}

export const BACKTEST_DENIAL_REASON = 'no risk officer in a backtest: a pending approval counts as rejected (pendingApproval: "reject")';

/**
 * The one DecisionTrace of a run: every node's record, the recalled memory ids, the verdict,
 * the order request and the outcome. In 'reject' mode (backtests) a pending approval is denied
 * at once by BACKTEST_RESOLVER, at the verdict's time.
 */
export function assembleTrace(state: RunState, deps: OrchestratorDeps, runner: Runner): DecisionTrace {
  const c = state.context;
  let outcome = outcomeOf(state);
  let resolution: DecisionTrace['resolution'] = null;
  if (outcome === 'pending_approval' && deps.pendingApproval === 'reject') {
    outcome = 'denied';
    resolution = { by: BACKTEST_RESOLVER, reason: BACKTEST_DENIAL_REASON, at: (state.verdict as NonNullable<RunState['verdict']>).evaluatedAt };
  }
  const recall = state.recall;
  const recalledMemoryIds: string[] = [];
  if (recall !== null) for (const m of recall.neighbours) recalledMemoryIds.push(m.memoryId);
  return {
    schemaVersion: 1,
    asOf: c.subject.asOf,
    traceId: deps.ids.traceId(c.decisionId),
    decisionId: c.decisionId,
    runner,
    runScope: c.runScope,
    exchange: c.subject.exchange,
    symbol: c.subject.symbol,
    timeframe: c.subject.timeframe,
    nodes: state.nodes,
    recalledMemoryIds,
    verdict: state.verdict,
    orderRequest: state.orderRequest,
    outcome,
    resolution,
  };
}

/**
 * Traces that passed validateTrace, as the objects they are (traces are not modified once assembled):
 * the recorder does not parse them a second time — a trace with its node records is the largest
 * message a decision validates (~0.2 ms of a worker event's CPU).
 */
const validated = new WeakSet<DecisionTrace>();

/** true when this very object passed validateTrace */
export const isValidatedTrace = (trace: DecisionTrace): boolean => validated.has(trace);

/** Throws AppError VALIDATION listing every issue (e.g. an outcome that disagrees with the verdict). */
export function validateTrace(trace: DecisionTrace): DecisionTrace {
  const r = DecisionTraceSchema.safeParse(trace);
  if (r.success) {
    validated.add(trace);
    return trace;
  }
  const issues = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new AppError('VALIDATION', `the trace of decision ${trace.decisionId} is invalid: ${issues}`, { hint: 'this is a bug in the orchestrator; nothing was recorded' });
}

/**
 * The final trace of a pending approval once answered: approve → a fresh order request signed
 * now (expiry now + approval TTL) at the quantity the gate would have approved; deny / expire →
 * no order. Shared by the graph's `resolve` node and the direct path used when no checkpoint of
 * the run exists (embedded mode after a restart).
 */
export function resolvePendingTrace(pending: DecisionTrace, answer: ApprovalAnswer, deps: Pick<OrchestratorDeps, 'ids' | 'signing' | 'approvalTtlMs'>): DecisionTrace {
  if (pending.outcome !== 'pending_approval' || pending.verdict === null || pending.verdict.status !== 'pending_approval')
    throw new AppError('CONFLICT', `decision ${pending.decisionId} is not waiting for approval (outcome ${pending.outcome})`);
  const resolution = { by: answer.by, reason: answer.reason, at: answer.at };
  if (answer.decision === 'deny') return { ...pending, outcome: 'denied', resolution, orderRequest: null };
  if (answer.decision === 'expire') return { ...pending, outcome: 'expired', resolution, orderRequest: null };
  const decision = decisionOf(pending);
  const orderRequest = buildOrderRequest(decision, pending.verdict, {
    orderId: deps.ids.orderId(pending.decisionId, 'officer'),
    createdAt: answer.at,
    signing: deps.signing,
    approvalTtlMs: deps.approvalTtlMs,
  });
  return { ...pending, outcome: 'approved_by_officer', resolution, orderRequest };
}

function decisionOf(t: DecisionTrace): TradeDecision {
  for (const n of t.nodes) if (n.node === 'decision') return n.output;
  throw new AppError('DATA_INTEGRITY', `the trace of decision ${t.decisionId} has no decision node`);
}

/** A trace as the runner-equivalence check compares it: without timings and without which runner made it. */
export function comparableTrace(t: DecisionTrace): Omit<DecisionTrace, 'runner'> {
  const { runner: _runner, ...rest } = t;
  return { ...rest, nodes: t.nodes.map((n) => ({ ...n, durationMs: 0 })) };
}
