import type { DecisionTrace } from '@meridian/contracts';
import { isAppError, SimulatedClock } from '@meridian/core';
import { getOutboxEntry, listAudit, migrate, openDb, type Db } from '@meridian/db';
import { freshPgDatabase, probePostgres } from '@meridian/test/support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePendingApproval, type ApprovalServiceDeps } from './approval-service.ts';
import { openCheckpointer, type Checkpointer } from './checkpointer.ts';
import type { DecisionContext } from './decision-context.ts';
import { DbDecisionRecorder } from './decision-recorder.ts';
import { GraphRunner } from './graph-runner.ts';
import { backtestDeps, type OrchestratorDeps } from './orchestrator-deps.ts';
import { pendingContexts } from './test/replay-contexts.ts';

const pg = await probePostgres();
const TTL = 15 * 60_000;

describe.skipIf(!pg.ok)(`pending approvals with PostgresSaver on server Postgres${pg.skipNote}`, () => {
  let fresh: Awaited<ReturnType<typeof freshPgDatabase>>;
  let db: Db;
  let contexts: DecisionContext[];
  const opened: Checkpointer[] = [];

  beforeAll(async () => {
    fresh = await freshPgDatabase('orchestrator_approvals');
    db = await openDb({ kind: 'postgres', url: fresh.url });
    await migrate(db);
    contexts = await pendingContexts(4);
  }, 120_000);

  afterAll(async () => {
    for (const c of opened) await c.close();
    await db?.close();
    await fresh?.[Symbol.asyncDispose]();
  });

  /** One process: its own clock, recorder, PostgresSaver and graph — the worker, or later the CLI. */
  async function processAt(now: number) {
    const clock = new SimulatedClock(now);
    const recorder = new DbDecisionRecorder(db, clock);
    const cp = await openCheckpointer({ kind: 'postgres', url: fresh.url });
    opened.push(cp);
    const deps: OrchestratorDeps = backtestDeps(clock, { pendingApproval: 'wait', recorder, pendingApprovalTtlMs: TTL });
    const graph = new GraphRunner(deps, { checkpointer: cp.saver });
    const service: ApprovalServiceDeps = { recorder, graph, clock, ids: deps.ids, signing: deps.signing, approvalTtlMs: deps.approvalTtlMs };
    return { clock, graph, service, recorder };
  }

  const traceRows = async (ctx: DecisionContext) =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM decision_traces WHERE exchange = $1 AND symbol = $2 AND as_of = $3', [ctx.subject.exchange, ctx.subject.symbol, ctx.subject.asOf])).rows[0]?.n;

  it('approve (from another process, as the CLI does) resumes the interrupted run: outbox row, approved_by_officer, audit entry', async () => {
    const ctx = contexts[0]!;
    const worker = await processAt(ctx.subject.asOf);
    const r = await worker.graph.decide(ctx);
    expect(r.waiting).toBe(true);
    expect((await worker.recorder.getPending(ctx.decisionId))?.status).toBe('pending');

    const cli = await processAt(ctx.subject.asOf + 120_000);
    expect(await cli.graph.isWaiting(ctx.decisionId)).toBe(true);
    const res = await resolvePendingApproval(cli.service, { decisionId: ctx.decisionId, decision: 'approve', author: 'alice', reason: 'within mandate' });
    expect(res.via).toBe('graph');
    const stored = (await cli.recorder.getTrace(ctx.decisionId)) as DecisionTrace;
    expect(stored.outcome).toBe('approved_by_officer');
    expect(stored.resolution).toMatchObject({ by: 'alice', reason: 'within mandate' });
    const orderId = stored.orderRequest?.orderId as string;
    expect((await getOutboxEntry(db, orderId))?.payload).toEqual(stored.orderRequest);
    const audit = await listAudit(db, { entity: `decision:${ctx.decisionId}` });
    expect(audit.map((a) => [a.actor, a.action, a.reason])).toEqual([['alice', 'decision.approved', 'within mandate']]);
    expect(await cli.graph.isWaiting(ctx.decisionId)).toBe(false);
  });

  it('deny: no outbox row, outcome denied, audited', async () => {
    const ctx = contexts[1]!;
    const worker = await processAt(ctx.subject.asOf);
    await worker.graph.decide(ctx);
    const res = await resolvePendingApproval(worker.service, { decisionId: ctx.decisionId, decision: 'deny', author: 'bob', reason: 'liquidity too thin' });
    expect(res.trace.outcome).toBe('denied');
    expect((await worker.recorder.getTrace(ctx.decisionId))?.outcome).toBe('denied');
    expect((await db.query('SELECT 1 FROM outbox WHERE payload->>\'decisionId\' = $1', [ctx.decisionId])).rowCount).toBe(0);
    expect((await listAudit(db, { entity: `decision:${ctx.decisionId}` })).map((a) => a.action)).toEqual(['decision.denied']);
  });

  it('expiry: approving too late fails clearly and the decision is marked expired', async () => {
    const ctx = contexts[2]!;
    const worker = await processAt(ctx.subject.asOf);
    await worker.graph.decide(ctx);
    const cli = await processAt(ctx.subject.asOf + TTL + 1);
    let code = '';
    try {
      await resolvePendingApproval(cli.service, { decisionId: ctx.decisionId, decision: 'approve', author: 'alice', reason: 'ok' });
    } catch (e) {
      code = isAppError(e) ? e.code : 'not an AppError';
    }
    expect(code).toBe('APPROVAL_INVALID');
    expect((await cli.recorder.getTrace(ctx.decisionId))?.outcome).toBe('expired');
    expect((await cli.recorder.getPending(ctx.decisionId))?.status).toBe('expired');
    expect((await db.query('SELECT 1 FROM outbox WHERE payload->>\'decisionId\' = $1', [ctx.decisionId])).rowCount).toBe(0);
  });

  it('a second run for the same candle records no second trace and does not wait again', async () => {
    const ctx = contexts[3]!;
    const worker = await processAt(ctx.subject.asOf);
    await worker.graph.decide(ctx);
    const again = await worker.graph.decide({ ...ctx, decisionId: '0190a0c4-0000-7000-8000-00000000c0de' });
    expect(again.inserted).toBe(false);
    expect(again.waiting).toBe(false);
    expect(again.trace.decisionId).toBe(ctx.decisionId);
    expect(await traceRows(ctx)).toBe(1);
    expect((await db.query('SELECT 1 FROM pending_approvals WHERE decision_id = $1', ['0190a0c4-0000-7000-8000-00000000c0de'])).rowCount).toBe(0);
  });
});
