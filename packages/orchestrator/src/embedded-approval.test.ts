import { SimulatedClock } from '@meridian/core';
import { getOutboxEntry, listAudit, migrate, openDb, type Db } from '@meridian/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApprovalService } from './approval-service-factory.ts';
import { resolvePendingApproval } from './approval-service.ts';
import type { DecisionContext } from './decision-context.ts';
import { DbDecisionRecorder } from './decision-recorder.ts';
import { GraphRunner } from './graph-runner.ts';
import { memoryCheckpointer } from './checkpointer.ts';
import { backtestDeps } from './orchestrator-deps.ts';
import { pendingContexts } from './test/replay-contexts.ts';

/**
 * Embedded mode (PGlite): the worker's MemorySaver is not reachable from the CLI process, so
 * `meridian risk approve` resolves the stored trace — same transaction, outbox row and audit entry.
 */
describe('pending approval in embedded mode (PGlite, no durable checkpoint)', () => {
  let db: Db;
  let ctx: DecisionContext;
  beforeAll(async () => {
    db = await openDb({ kind: 'pglite', dataDir: 'memory' });
    await migrate(db);
    [ctx] = (await pendingContexts(1)) as [DecisionContext];
  }, 120_000);
  afterAll(async () => {
    await db?.close();
  });

  it('the worker records the pending trace; the CLI path approves it from the stored trace', async () => {
    const workerClock = new SimulatedClock(ctx.subject.asOf);
    const worker = new GraphRunner(backtestDeps(workerClock, { pendingApproval: 'wait', recorder: new DbDecisionRecorder(db, workerClock) }), { checkpointer: memoryCheckpointer() });
    expect((await worker.decide(ctx)).waiting).toBe(true);

    const cliClock = new SimulatedClock(ctx.subject.asOf + 60_000);
    const deps = backtestDeps(cliClock);
    const svc = await openApprovalService({ db, dbConfig: { kind: 'pglite', dataDir: 'memory' }, signing: deps.signing, approvalTtlMs: 60_000, pendingApprovalTtlMs: 15 * 60_000, clock: cliClock });
    const res = await resolvePendingApproval(svc.service, { decisionId: ctx.decisionId, decision: 'approve', author: 'alice', reason: 'ok for size' });
    await svc.close();
    expect(res.via).toBe('stored-trace');
    expect(res.trace.outcome).toBe('approved_by_officer');
    expect((await getOutboxEntry(db, res.trace.orderRequest!.orderId))?.payload).toEqual(res.trace.orderRequest);
    expect((await listAudit(db, { entity: `decision:${ctx.decisionId}` })).map((a) => a.action)).toEqual(['decision.approved']);
  });
});
