import { requireSigningKey, type Config } from '@meridian/config';
import type { MarketInfo, MemoryScope } from '@meridian/contracts';
import { systemClock, type Clock, type Logger } from '@meridian/core';
import type { Db } from '@meridian/db';
import { DEFAULT_HORIZON_BARS, PgMemoryStore } from '@meridian/memory';
import {
  DETERMINISTIC_AGENTS,
  DbDecisionRecorder,
  FastRunner,
  GraphRunner,
  expireOverdueApprovals,
  liveIds,
  openCheckpointer,
  sweepSettledRunThreads,
  type Checkpointer,
  recallOptions,
  type DecisionContext,
  type MemorySettings,
  type OrchestratorDeps,
} from '@meridian/orchestrator';
import type { JobQueue } from '@meridian/queue';
import { CandleDecider, type CandleOutcome, type DecisionRunner } from './candle-decider.ts';
import type { EventPhases } from './event-phases.ts';
import { KNOWN_MARKETS, MarketCatalog } from './market-catalog.ts';
import { PortfolioView } from './portfolio-view.ts';
import { RecallPrefetch } from './recall-prefetch.ts';
import { WorkerService } from './worker-service.ts';
import type { Candle } from '@meridian/contracts';

export interface WorkerSettings {
  /** 'graph': LangGraph with a checkpointer, pending approvals wait in it (default); 'fast': the same nodes without LangGraph */
  readonly runner: 'graph' | 'fast';
  /** candle events at once in this process (default 2) */
  readonly concurrency: number;
  /** starting capital per quote currency (the account the portfolio view reconstructs), e.g. { USDT: 100000 } */
  readonly capital: Readonly<Record<string, number>>;
  /** null: memory off (no recall, no situations written) */
  readonly memory: { readonly k: number; readonly horizonBars: number; readonly scope: MemoryScope } | null;
  readonly maxCatchUpBars: number;
  /** market rules in addition to (and overriding) the built-in table */
  readonly markets: readonly MarketInfo[];
  /**
   * how often overdue pending approvals are marked expired (default 30 s; 0 = never) and the checkpoints
   * of committed runs swept on Postgres (at this pace, or every 30 s when expiry is off)
   */
  readonly expireApprovalsEveryMs: number;
  /**
   * graph runner: checkpoint every decision run once its market nodes are done, so a run cut off by a
   * crash after them resumes there on redelivery (default true; false saves the checkpoint write)
   */
  readonly checkpointRuns: boolean;
}

export const DEFAULT_WORKER_SETTINGS: WorkerSettings = {
  runner: 'graph',
  concurrency: 2,
  capital: { USDT: 100_000 },
  memory: { k: 20, horizonBars: DEFAULT_HORIZON_BARS, scope: 'same-symbol' },
  maxCatchUpBars: 100,
  markets: [],
  expireApprovalsEveryMs: 30_000,
  checkpointRuns: true,
};

export interface OpenWorkerOptions {
  readonly config: Config;
  readonly db: Db;
  readonly queue: JobQueue;
  readonly logger: Logger;
  readonly settings?: Partial<WorkerSettings>;
  readonly clock?: Clock;
  readonly onHandled?: (candle: Candle, outcome: CandleOutcome, ms: number, phases: EventPhases) => void;
}

export interface Worker {
  readonly service: WorkerService;
  readonly decider: CandleDecider;
  readonly settings: WorkerSettings;
  /** the recall node's recaller, which starts each decision's recall early (null: memory off) */
  readonly recall: RecallPrefetch | null;
  /** stop taking jobs, finish the running ones, close the checkpointer (the caller closes queue and db) */
  stop(): Promise<void>;
}

/**
 * Build the worker from the config: the signing key (required — a worker that cannot sign cannot
 * approve), the deterministic agents, the pgvector memory, the live recorder (traces, outbox rows,
 * pending approvals in one transaction) and the runner. Does not start consuming: call
 * `worker.service.start()`.
 */
export async function openWorker(o: OpenWorkerOptions): Promise<Worker> {
  const settings: WorkerSettings = { ...DEFAULT_WORKER_SETTINGS, ...o.settings };
  const signing = requireSigningKey(o.config);
  const clock = o.clock ?? systemClock;
  const store = settings.memory ? new PgMemoryStore(o.db, { now: () => clock.now() }) : null;
  // the recall node's queries go through it: a decision's recall is started before its run reaches the node
  const recaller = store ? new RecallPrefetch(store) : null;
  const recorder = new DbDecisionRecorder(o.db, clock);
  const mem = settings.memory;
  const deps: OrchestratorDeps = {
    agents: DETERMINISTIC_AGENTS,
    memory: recaller && mem ? { recaller, k: mem.k, scope: mem.scope, horizonBars: mem.horizonBars } : null,
    clock,
    ids: liveIds(clock),
    signing,
    approvalTtlMs: o.config.risk.approvalTtlMs,
    pendingApprovalTtlMs: o.config.risk.pendingApprovalTtlMs,
    pendingApproval: 'wait',
    recorder,
  };
  let checkpointer: Checkpointer | undefined;
  let graph: GraphRunner | null = null;
  if (settings.runner === 'graph') {
    checkpointer = await openCheckpointerWithRetry(o.config.db);
    graph = new GraphRunner(deps, {
      checkpointer: checkpointer.saver,
      checkpointRuns: settings.checkpointRuns,
      onCheckpointError: (e, what) => o.logger.warn({ err: e.message, what }, 'a decision-run checkpoint could not be used; the decision goes on without it'),
    });
  }
  // a committed run's checkpoints: deleted right away from an in-process MemorySaver; on Postgres by the
  // housekeeping sweep (one statement for every run settled since the last one, off the events' path)
  const runner: DecisionRunner = graph === null ? new FastRunner(deps) : checkpointer?.durable ? decideOnly(graph) : graph;
  const decider = new CandleDecider({
    db: o.db,
    runner,
    memory: store,
    horizonBars: settings.memory?.horizonBars ?? DEFAULT_HORIZON_BARS,
    clock,
    portfolio: new PortfolioView(settings.capital),
    markets: new MarketCatalog([...KNOWN_MARKETS, ...settings.markets]),
    maxCatchUpBars: settings.maxCatchUpBars,
    logger: o.logger,
    ...(recaller !== null && deps.memory !== null ? { recallPrefetch: prefetchVia(recaller, deps.memory) } : {}),
  });
  const approvals = { recorder, graph, clock, ids: deps.ids, signing, approvalTtlMs: deps.approvalTtlMs };
  const sweepRuns = graph !== null && settings.checkpointRuns && checkpointer?.durable === true;
  // the sweep keeps the default pace even when approval expiry is turned off
  const housekeepingEveryMs = settings.expireApprovalsEveryMs > 0 ? settings.expireApprovalsEveryMs : sweepRuns ? DEFAULT_WORKER_SETTINGS.expireApprovalsEveryMs : 0;
  const service = new WorkerService({
    queue: o.queue,
    decider,
    logger: o.logger,
    concurrency: settings.concurrency,
    ...(o.onHandled ? { onHandled: o.onHandled } : {}),
    ...(housekeepingEveryMs > 0
      ? {
          housekeeping: {
            everyMs: housekeepingEveryMs,
            run: async () => {
              // each job on its own: one failing must not stop the other, and each failure is logged
              const job = async (name: string, run: () => Promise<void>) => {
                try {
                  await run();
                } catch (e) {
                  o.logger.warn({ err: (e as Error).message, job: name }, 'housekeeping failed');
                }
              };
              if (settings.expireApprovalsEveryMs > 0)
                await job('approval expiry', async () => {
                  const expired = await expireOverdueApprovals(approvals);
                  if (expired.length > 0) o.logger.info({ decisions: expired.map((t) => t.decisionId) }, 'pending approvals expired');
                });
              // the checkpoints of committed runs (on Postgres the worker leaves their deletion to this sweep)
              if (sweepRuns)
                await job('run checkpoint sweep', async () => {
                  const swept = await sweepSettledRunThreads(o.db);
                  if (swept > 0) o.logger.info({ threads: swept }, 'checkpoints of settled decision runs deleted');
                });
            },
          },
        }
      : {}),
  });
  return {
    service,
    decider,
    settings,
    recall: recaller,
    async stop() {
      await service.stop();
      await checkpointer?.close();
    },
  };
}

/** A decision's recall, started early: the request the recall node will make for its bar (recallOptions). */
function prefetchVia(recaller: RecallPrefetch, memory: MemorySettings) {
  return (ctx: DecisionContext, after: Promise<unknown> | null) => recaller.prefetch(ctx.features, recallOptions({ ...ctx.subject, featureVersion: ctx.featureVersion }, memory), after);
}

/** The graph runner without `settle`: the caller leaves the deletion of committed runs' checkpoints to the sweep. */
function decideOnly(g: GraphRunner): DecisionRunner {
  return { decide: (c) => g.decide(c), expect: (r) => g.expect(r) };
}

/**
 * PostgresSaver.setup() runs CREATE SCHEMA/TABLE IF NOT EXISTS, which can still fail with a unique
 * violation when two workers start at the same moment; the loser simply tries again.
 */
async function openCheckpointerWithRetry(db: Config['db'], attempts = 4): Promise<Checkpointer> {
  for (let i = 1; ; i++) {
    try {
      return await openCheckpointer(db);
    } catch (e) {
      if (i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 100 * i + Math.random() * 100));
    }
  }
}
