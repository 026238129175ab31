import { systemClock, type Clock } from '@meridian/core';
import type { Db, DbConfig } from '@meridian/db';
import type { SigningKey } from '@meridian/risk';
import type { ApprovalServiceDeps } from './approval-service.ts';
import { openCheckpointer } from './checkpointer.ts';
import { DbDecisionRecorder } from './decision-recorder.ts';
import { GraphRunner } from './graph-runner.ts';
import { DETERMINISTIC_AGENTS, liveIds } from './orchestrator-deps.ts';

export interface OpenApprovalServiceOptions {
  readonly db: Db;
  /** picks the checkpointer: PostgresSaver on server Postgres, none in embedded mode */
  readonly dbConfig: DbConfig;
  readonly signing: SigningKey;
  readonly approvalTtlMs: number;
  readonly pendingApprovalTtlMs: number;
  readonly clock?: Clock;
}

/**
 * The approval service as a separate process (the CLI) needs it: the database recorder and, on
 * server Postgres, a graph runner over the same PostgresSaver the worker checkpoints into, so
 * `approve`/`deny` resume the interrupted run. In embedded mode the worker's MemorySaver is not
 * reachable from here, so approvals resolve from the stored trace.
 */
export async function openApprovalService(o: OpenApprovalServiceOptions): Promise<{ service: ApprovalServiceDeps; durable: boolean; close(): Promise<void> }> {
  const clock = o.clock ?? systemClock;
  const recorder = new DbDecisionRecorder(o.db, clock);
  const ids = liveIds(clock);
  if (o.dbConfig.kind === 'pglite') {
    return { service: { recorder, graph: null, clock, ids, signing: o.signing, approvalTtlMs: o.approvalTtlMs }, durable: false, close: () => Promise.resolve() };
  }
  const cp = await openCheckpointer(o.dbConfig);
  const graph = new GraphRunner(
    {
      agents: DETERMINISTIC_AGENTS,
      memory: null,
      clock,
      ids,
      signing: o.signing,
      approvalTtlMs: o.approvalTtlMs,
      pendingApprovalTtlMs: o.pendingApprovalTtlMs,
      pendingApproval: 'wait',
      recorder,
    },
    { checkpointer: cp.saver },
  );
  return { service: { recorder, graph, clock, ids, signing: o.signing, approvalTtlMs: o.approvalTtlMs }, durable: true, close: () => cp.close() };
}
