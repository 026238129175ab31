import type { DecisionTrace, OrderRequest } from '@meridian/contracts';
import { isAppError, SimulatedClock } from '@meridian/core';
import { verifyApproval } from '@meridian/risk';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPIRY_RESOLVER, expireOverdueApprovals, resolvePendingApproval, type ApprovalServiceDeps } from './approval-service.ts';
import { memoryCheckpointer } from './checkpointer.ts';
import type { DecisionContext } from './decision-context.ts';
import { InMemoryDecisionRecorder } from './decision-recorder.ts';
import { FastRunner } from './fast-runner.ts';
import { GraphRunner } from './graph-runner.ts';
import { BACKTEST_SIGNING_KEY, backtestDeps, type OrchestratorDeps } from './orchestrator-deps.ts';
import { pendingContexts } from './test/replay-contexts.ts';

const TTL = 15 * 60_000;
const KEYS = { [BACKTEST_SIGNING_KEY.keyId]: BACKTEST_SIGNING_KEY.key };

let contexts: DecisionContext[];
beforeAll(async () => {
  contexts = await pendingContexts(3);
}, 120_000);

/** A live-like setup: graph with an in-process checkpointer, pending approvals wait, an in-memory recorder. */
function live(ctx: DecisionContext) {
  const clock = new SimulatedClock(ctx.subject.asOf);
  const recorder = new InMemoryDecisionRecorder(clock);
  const deps: OrchestratorDeps = backtestDeps(clock, { pendingApproval: 'wait', recorder, pendingApprovalTtlMs: TTL, approvalTtlMs: 60_000 });
  const graph = new GraphRunner(deps, { checkpointer: memoryCheckpointer() });
  const service: ApprovalServiceDeps = { recorder, graph, clock, ids: deps.ids, signing: deps.signing, approvalTtlMs: deps.approvalTtlMs };
  return { clock, recorder, deps, graph, service };
}

async function appErrorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isAppError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected an AppError');
}

describe('pending approvals through the LangGraph interrupt', () => {
  it('a pending verdict stops the run at the interrupt with the trace recorded as pending and no order', async () => {
    const ctx = contexts[0]!;
    const { graph, recorder } = live(ctx);
    const r = await graph.decide(ctx);
    expect(r.waiting).toBe(true);
    expect(r.trace.outcome).toBe('pending_approval');
    expect(r.trace.orderRequest).toBeNull();
    expect(await graph.isWaiting(ctx.decisionId)).toBe(true);
    expect(recorder.outbox).toHaveLength(0);
    const p = await recorder.getPending(ctx.decisionId);
    expect(p).toMatchObject({ status: 'pending', expiresAt: ctx.subject.asOf + TTL });
  });

  it('approve resumes the graph: a freshly signed order goes to the outbox, outcome approved_by_officer, audited', async () => {
    const ctx = contexts[0]!;
    const { graph, recorder, service, clock } = live(ctx);
    await graph.decide(ctx);
    clock.advance(5 * 60_000);
    const res = await resolvePendingApproval(service, { decisionId: ctx.decisionId, decision: 'approve', author: 'alice', reason: 'size ok for this market' });
    expect(res.via).toBe('graph');
    expect(res.trace.outcome).toBe('approved_by_officer');
    expect(res.trace.resolution).toEqual({ by: 'alice', reason: 'size ok for this market', at: clock.now() });
    const order = res.trace.orderRequest as OrderRequest;
    expect(order.quantity).toBe(res.trace.verdict?.approvedQuantity);
    expect(order.createdAt).toBe(clock.now());
    // the executor's check passes now and fails once the signed approval expires
    expect(verifyApproval(order, KEYS, clock.now()).ok).toBe(true);
    expect(verifyApproval(order, KEYS, order.approval.expiresAt).ok).toBe(false);
    expect(recorder.outbox.map((o) => o.orderId)).toEqual([order.orderId]);
    expect((await recorder.getTrace(ctx.decisionId))?.outcome).toBe('approved_by_officer');
    expect(recorder.audit).toEqual([{ at: clock.now(), actor: 'alice', action: 'decision.approved', entity: `decision:${ctx.decisionId}`, reason: 'size ok for this market' }]);
    expect(await graph.isWaiting(ctx.decisionId)).toBe(false);
    // resolved once: a second answer is refused and changes nothing
    const again = await appErrorOf(resolvePendingApproval(service, { decisionId: ctx.decisionId, decision: 'deny', author: 'bob', reason: 'too late' }));
    expect(again.code).toBe('CONFLICT');
    expect(again.message).toContain('already approved');
    expect(recorder.outbox).toHaveLength(1);
  });

  it('deny resumes the graph: no order, outcome denied, audited', async () => {
    const ctx = contexts[1]!;
    const { graph, recorder, service } = live(ctx);
    await graph.decide(ctx);
    const res = await resolvePendingApproval(service, { decisionId: ctx.decisionId, decision: 'deny', author: 'bob', reason: 'ahead of the CPI print' });
    expect(res.trace.outcome).toBe('denied');
    expect(res.trace.orderRequest).toBeNull();
    expect(recorder.outbox).toHaveLength(0);
    expect(recorder.audit.map((a) => a.action)).toEqual(['decision.denied']);
    expect((await recorder.getPending(ctx.decisionId))?.status).toBe('denied');
  });

  it('an expired pending approval cannot be approved: clear error, marked expired, no order', async () => {
    const ctx = contexts[2]!;
    const { graph, recorder, service, clock } = live(ctx);
    await graph.decide(ctx);
    clock.advance(TTL);
    const e = await appErrorOf(resolvePendingApproval(service, { decisionId: ctx.decisionId, decision: 'approve', author: 'alice', reason: 'ok' }));
    expect(e.code).toBe('APPROVAL_INVALID');
    expect(e.message).toMatch(/expired at .* can no longer be approved/);
    const t = (await recorder.getTrace(ctx.decisionId)) as DecisionTrace;
    expect(t.outcome).toBe('expired');
    expect(t.resolution?.by).toBe(EXPIRY_RESOLVER);
    expect(recorder.outbox).toHaveLength(0);
    expect(await graph.isWaiting(ctx.decisionId)).toBe(false);
  });

  it('one millisecond before expiry it can still be approved', async () => {
    const ctx = contexts[2]!;
    const { graph, service, clock } = live(ctx);
    await graph.decide(ctx);
    clock.advance(TTL - 1);
    const res = await resolvePendingApproval(service, { decisionId: ctx.decisionId, decision: 'approve', author: 'alice', reason: 'ok' });
    expect(res.trace.outcome).toBe('approved_by_officer');
  });

  it('the expiry sweep marks only overdue approvals expired', async () => {
    const [a, b] = [contexts[0]!, contexts[1]!];
    const { graph, recorder, service, clock } = live(a);
    await graph.decide(a);
    clock.set(b.subject.asOf);
    await graph.decide(b);
    // a is past its expiry, b (a later bar) is not
    clock.set(Math.max(b.subject.asOf, a.subject.asOf + TTL));
    expect(clock.now()).toBeLessThan(b.subject.asOf + TTL);
    const expired = await expireOverdueApprovals(service);
    expect(expired.map((t) => [t.decisionId, t.outcome])).toEqual([[a.decisionId, 'expired']]);
    expect((await recorder.getPending(a.decisionId))?.status).toBe('expired');
    expect((await recorder.getPending(b.decisionId))?.status).toBe('pending');
    expect(await graph.isWaiting(b.decisionId)).toBe(true);
  });

  it('a redelivered bar makes no second decision and does not wait a second time', async () => {
    const ctx = contexts[0]!;
    const { graph, recorder } = live(ctx);
    await graph.decide(ctx);
    // the same candle again: a new decision id (live ids are fresh), same bar
    const again = await graph.decide({ ...ctx, decisionId: '0190a0c4-0000-7000-8000-000000000001' });
    expect(again.inserted).toBe(false);
    expect(again.waiting).toBe(false);
    expect(again.trace.decisionId).toBe(ctx.decisionId);
    expect(recorder.traces.size).toBe(1);
    expect(await graph.isWaiting('0190a0c4-0000-7000-8000-000000000001')).toBe(false);
    expect(graph.stats.duplicates).toBe(1);
  });

  it('without a checkpoint of the run (fast runner live, embedded restart) the stored trace is resolved directly', async () => {
    const ctx = contexts[1]!;
    const clock = new SimulatedClock(ctx.subject.asOf);
    const recorder = new InMemoryDecisionRecorder(clock);
    const deps = backtestDeps(clock, { pendingApproval: 'wait', recorder, pendingApprovalTtlMs: TTL });
    const fast = new FastRunner(deps);
    expect(fast.decideSync(ctx).trace.outcome).toBe('pending_approval');
    expect(fast.stats.pendingApprovals).toBe(1);
    clock.advance(60_000);
    const res = await resolvePendingApproval({ recorder, graph: null, clock, ids: deps.ids, signing: deps.signing, approvalTtlMs: deps.approvalTtlMs }, {
      decisionId: ctx.decisionId,
      decision: 'approve',
      author: 'carol',
      reason: 'approved by phone',
    });
    expect(res.via).toBe('stored-trace');
    expect(res.trace.outcome).toBe('approved_by_officer');
    expect(recorder.outbox).toHaveLength(1);
  });

  it('refuses unknown decisions, decisions that needed no approval, and empty author or reason', async () => {
    const ctx = contexts[0]!;
    const { service, recorder } = live(ctx);
    expect((await appErrorOf(resolvePendingApproval(service, { decisionId: ctx.decisionId, decision: 'approve', author: 'a', reason: 'r' }))).code).toBe('NOT_FOUND');
    // the same bar decided by a backtest (pending denied at once): a trace, but no open approval
    const backtest = await new FastRunner(backtestDeps(new SimulatedClock(ctx.subject.asOf))).decide(ctx);
    recorder.record(backtest.trace, null);
    expect((await appErrorOf(resolvePendingApproval(service, { decisionId: ctx.decisionId, decision: 'approve', author: 'a', reason: 'r' }))).code).toBe('CONFLICT');
    expect((await appErrorOf(resolvePendingApproval(service, { decisionId: ctx.decisionId, decision: 'approve', author: ' ', reason: 'r' }))).code).toBe('VALIDATION');
  });

  it('waiting for officers needs a checkpointer', () => {
    const ctx = contexts[0]!;
    const { deps } = live(ctx);
    expect(() => new GraphRunner(deps)).toThrow(/checkpointer/);
  });
});
