import { createHash } from 'node:crypto';
import { Runnable, type RunnableConfig } from '@langchain/core/runnables';
import { Annotation, Command, END, START, StateGraph, interrupt, type BaseCheckpointSaver } from '@langchain/langgraph';
import type { AnalysisReport, DecisionTrace, MemoryRecall, NodeRecord, OrderRequest, RiskVerdict, SignalProposal, TradeDecision } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { detachContext, type DecisionContext } from './decision-context.ts';
import { outcomeOf, resolvePendingTrace, validateTrace } from './decision-trace-builder.ts';
import type { DecideResult } from './fast-runner.ts';
import { analysisNode, decisionNode, erase, recallNode, riskNode, signalNode, type AnyNodeDef } from './nodes/index.ts';
import { runNodeAsync } from './nodes/node-def.ts';
import type { OrchestratorDeps } from './orchestrator-deps.ts';
import { installLeanRunContext, onLeanRunContext } from './lean-run-context.ts';
import { pendingExpiry, recordStep } from './record-step.ts';
import { ResumePointSaver } from './resume-point-saver.ts';
import { countTrace, emptyStats, type RunStats } from './run-stats.ts';
import { ApprovalAnswerSchema, initialState, type ApprovalAnswer, type RunState } from './run-state.ts';

const last = <T>() => Annotation<T>({ reducer: (_old: T, next: T) => next, default: () => null as T });

/** The approval graph's state: RunState, with the node records appended by a reducer. */
const GraphState = Annotation.Root({
  context: Annotation<DecisionContext>(),
  analysis: last<AnalysisReport | null>(),
  recall: last<MemoryRecall | null>(),
  signal: last<SignalProposal | null>(),
  decision: last<TradeDecision | null>(),
  verdict: last<RiskVerdict | null>(),
  orderRequest: last<OrderRequest | null>(),
  nodes: Annotation<NodeRecord[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  trace: last<DecisionTrace | null>(),
  inserted: last<boolean | null>(),
});
type GraphStateT = typeof GraphState.State;

/**
 * Graph node names (LangGraph forbids a node named like a state channel, hence not "analysis").
 * analysis → recall → signal → decision → risk gate → outbox | record | pending_approval → await_approval.
 */
export const GRAPH_NODE_NAMES = {
  analysis: 'analysis_agent',
  recall: 'memory_recall',
  signal: 'signal_agent',
  decision: 'decision_agent',
  risk: 'risk_gate',
  outbox: 'outbox',
  record: 'record',
  pending: 'pending_approval',
  await: 'await_approval',
} as const;

/** What the graph shows a risk officer while it waits (the interrupt payload). */
export interface ApprovalRequest {
  readonly decisionId: string;
  readonly expiresAt: number;
  readonly symbol: string;
  readonly side: string | null;
  readonly quantity: number;
  readonly reasons: readonly string[];
}

export interface GraphRunnerOptions {
  /**
   * Needed when pendingApproval is 'wait' (the interrupt lives in it) or runs are checkpointed: a
   * PostgresSaver on server Postgres (see openCheckpointer), a MemorySaver in embedded mode and tests.
   */
  readonly checkpointer?: BaseCheckpointSaver;
  /**
   * Live: checkpoint every decision run in the checkpointer once its market nodes are done
   * (RESUMABLE_BEFORE), on a thread named after the bar (runThreadId), so a run cut off by a crash after
   * them resumes there when its event is redelivered (see GraphRunner). The caller forgets a run's
   * checkpoints once its trace is committed (`settle`, or sweepSettledRunThreads on Postgres). Default
   * false (backtests: a run is never resumed).
   */
  readonly checkpointRuns?: boolean;
  /**
   * Told about a checkpoint that could not be read or written. A checkpoint only saves recomputation,
   * so the run goes on: a failed write is skipped (its changes go with the next checkpoint), a failed
   * read runs the decision from the start without checkpoints. Default: ignored.
   */
  readonly onCheckpointError?: (e: Error, what: string) => void;
}

export interface GraphDecideResult extends DecideResult {
  /** true when the run stopped at the approval interrupt and waits for `resume` */
  readonly waiting: boolean;
  /**
   * The graph node whose checkpoint the run resumed after (a run cut off before; its earlier nodes'
   * outputs were reused), or null for a run from the start.
   */
  readonly resumedAfter: string | null;
}

/**
 * The checkpointed decision run of one bar: one thread per (run scope, exchange, symbol, timeframe,
 * bar close) and the code that made the bar-only nodes' outputs (`code`, see runFingerprint), whichever
 * attempt — and whichever worker — runs it. A worker with other agent versions, feature version or
 * memory settings does not resume a run another made: it uses another thread and starts over. Fields
 * are joined with `|`, which no symbol, exchange id or timeframe contains (sweepSettledRunThreads
 * splits on it).
 */
export function runThreadId(
  c: { readonly runScope: string; readonly subject: { readonly exchange: string; readonly symbol: string; readonly timeframe: string; readonly asOf: number } },
  code: string,
): string {
  return `${RUN_THREAD_PREFIX}|${c.runScope}|${c.subject.exchange}|${c.subject.symbol}|${c.subject.timeframe}|${c.subject.asOf}|${code}`;
}

/**
 * What the reusable nodes' outputs depend on besides the bar: the analysis, recall and signal node
 * versions (agent policy versions), the memory settings and the feature version — as 8 hex digits.
 */
export function runFingerprint(deps: OrchestratorDeps, featureVersion: number): string {
  const m = deps.memory;
  const parts = [
    analysisNode.version(deps),
    recallNode.version(deps),
    signalNode.version(deps),
    m === null ? 'no-memory' : `${m.k}:${m.scope}:${m.horizonBars ?? ''}`,
    `features:${featureVersion}`,
  ].join('\n');
  return createHash('sha256').update(parts).digest('hex').slice(0, 8);
}
export const RUN_THREAD_PREFIX = 'decision-run';

/** thread probes started by GraphRunner.expect and not yet used, at most */
const MAX_PENDING_PROBES = 256;

/**
 * Where a cut-off run may pick up: once its market view is complete — after the signal agent, the last
 * node whose output depends only on the bar (its candles, indicators and the memory as of its close).
 * The decision agent and the risk gate depend on the portfolio, the limits and the trading state, which
 * may have changed while the run was down (a fill, a halt): they always run again, on the state read for
 * this attempt. One resume point, not one after each market node: each stored checkpoint is a write on
 * every candle's path, and three cost the worker about 2 ms more CPU per event than one (docs/worker.md
 * *Checkpoints*); a run cut off inside the market nodes starts over.
 * Key: the next node of the checkpoint; value: the node the fresh context is written as.
 */
const RESUMABLE_BEFORE: Readonly<Record<string, string>> = {
  [GRAPH_NODE_NAMES.decision]: GRAPH_NODE_NAMES.signal,
};

/**
 * State channels not stored at a resume point: the context is replaced by the new attempt's on resume,
 * so storing it (the candle window, indicators, portfolio: most of the state's bytes) would buy nothing.
 */
const NOT_RESUMED = ['context'] as const;

/**
 * The decision graph on LangGraph: the shared node functions as graph nodes, every node output
 * validated with its contracts schema, and a routing step after the risk gate — the only way to
 * the outbox node.
 *
 * Checkpoints: live (`checkpointRuns`), every decision run is checkpointed on the bar's thread
 * (runThreadId) once its market nodes are done (RESUMABLE_BEFORE), so a run cut off by a crash after
 * them resumes there when the event comes back; its checkpoints are deleted once its trace is committed
 * (`settle`, or the worker's sweep on Postgres). Backtests run
 * without a checkpointer (nothing there is ever resumed). A run that must wait for a risk officer goes
 * on in the approval graph (a StateGraph `START → await_approval`, compiled with the checkpointer,
 * `durability: "exit"`), whose thread is the decision id — so `isWaiting`/`resume` work from any
 * process, and that thread holds the whole decision state at the interrupt.
 *
 * The decision graph is a StateGraph (buildDecisionGraph). Its nodes and router are Direct runnables rather
 * than plain functions, which saves LangChain's per-call run-tree set-up; the StateGraph's own
 * per-node machinery (control branch, state-update writes) stays, at about 0.9 ms CPU per decision
 * (bench/orchestrator.bench.ts; docs/orchestrator.md).
 */
export class GraphRunner {
  readonly stats: RunStats = emptyStats();
  /** decision runs that picked up from a checkpoint of an earlier, cut-off attempt */
  resumedRuns = 0;
  readonly #deps: OrchestratorDeps;
  readonly #graph;
  /** the same graph without a checkpointer: what a run falls back to when the checkpoints cannot be read */
  readonly #unchecked;
  readonly #approval;
  readonly #wait: boolean;
  readonly #saver: ResumePointSaver | null;
  readonly #onCheckpointError: (e: Error, what: string) => void;
  readonly #codes = new Map<number, string>();
  /** thread probes started by `expect`, by thread id, until the run asks for them */
  readonly #probes = new Map<string, Promise<boolean>>();

  constructor(deps: OrchestratorDeps, options: GraphRunnerOptions = {}) {
    if (deps.pendingApproval === 'wait' && !options.checkpointer)
      throw new AppError('CONFIG', 'the graph runner waits for risk officers only with a checkpointer', { hint: 'pass openCheckpointer(config.db).saver, or use pendingApproval: "reject" (backtests)' });
    if (options.checkpointRuns === true && !options.checkpointer)
      throw new AppError('CONFIG', 'checkpointRuns needs a checkpointer to write the runs to', { hint: 'pass openCheckpointer(config.db).saver' });
    installLeanRunContext();
    this.#deps = deps;
    this.#wait = deps.pendingApproval === 'wait';
    this.#onCheckpointError = options.onCheckpointError ?? (() => undefined);
    this.#saver =
      options.checkpointRuns === true && options.checkpointer
        ? new ResumePointSaver(options.checkpointer, { resumeBefore: Object.keys(RESUMABLE_BEFORE), notStored: NOT_RESUMED, onError: (e) => this.#onCheckpointError(e, 'write') })
        : null;
    const graph = buildDecisionGraph(deps);
    this.#graph = graph.compile(this.#saver ? { checkpointer: this.#saver } : {});
    this.#unchecked = this.#saver ? graph.compile() : this.#graph;
    this.#approval = options.checkpointer ? buildApprovalGraph(deps).compile({ checkpointer: options.checkpointer }) : null;
  }

  /** what this runner's checkpoints and stored writes look like (tests, diagnostics) */
  get checkpointCounts(): { readonly offered: number; readonly stored: number; readonly failed: number } | null {
    return this.#saver?.counts ?? null;
  }

  /** the thread this runner checkpoints the bar's decision run on */
  threadIdOf(c: Parameters<typeof runThreadId>[0] & { readonly featureVersion: number }): string {
    // the fingerprint depends on this runner's deps and the feature version only: hashed once per version, not per bar
    let code = this.#codes.get(c.featureVersion);
    if (code === undefined) this.#codes.set(c.featureVersion, (code = runFingerprint(this.#deps, c.featureVersion)));
    return runThreadId(c, code);
  }

  /**
   * Say which bar's run comes next, before its context is ready: a checkpointed runner starts the probe
   * for an earlier attempt's checkpoints on the bar's thread now (on the checkpointer's own connection),
   * so it is answered while the caller prepares the decision. Call it once the bar's series is locked
   * (no other worker can write the thread until the run). Without checkpoints it does nothing; a run that
   * was not announced probes when it starts.
   */
  expect(run: Parameters<GraphRunner['threadIdOf']>[0]): void {
    const saver = this.#saver;
    if (saver === null) return;
    const threadId = this.threadIdOf(run);
    const probe = saver.hasThread(threadId);
    probe.catch(() => undefined); // reported by the run that awaits it (a failed read: it runs without checkpoints)
    this.#probes.set(threadId, probe);
    // bounded: probes of runs that never started (their event failed first) must not pile up
    if (this.#probes.size > MAX_PENDING_PROBES) this.#probes.delete(this.#probes.keys().next().value as string);
  }

  async decide(context: DecisionContext): Promise<GraphDecideResult> {
    const ctx = detachContext(context);
    const { out, resumedAfter } = this.#saver ? await this.#runCheckpointed(ctx) : { out: (await this.#graph.invoke(initialState(ctx), LEAN_RUN)) as RunState, resumedAfter: null };
    const trace = out.trace;
    if (trace === null || out.inserted === null) throw new AppError('INTERNAL', `graph run ${context.decisionId} ended without recording a trace`);
    countTrace(this.stats, trace, out.inserted);
    // a bar that already had a decision must not wait a second time
    const waits = this.#wait && out.inserted && trace.outcome === 'pending_approval';
    if (!waits) return { trace, inserted: out.inserted, waiting: false, resumedAfter };
    const approval = this.#approvalGraph();
    // the state as it stands after pending_approval; "exit": one checkpoint, written at the interrupt
    const paused = (await approval.invoke(out, { ...threadOf(trace.decisionId), durability: 'exit' })) as GraphStateT & { __interrupt__?: unknown[] };
    return { trace, inserted: out.inserted, waiting: Array.isArray(paused.__interrupt__) && paused.__interrupt__.length > 0, resumedAfter };
  }

  /**
   * A live run, checkpointed on the bar's thread ("async" durability: a checkpoint is written while the
   * next node runs; ResumePointSaver keeps only the resume point). When that thread holds a resume point
   * from an attempt that did not commit — the worker died, or the transaction rolled back — the run forks
   * from the newest one (RESUMABLE_BEFORE): the market nodes' outputs and records are kept, this attempt's
   * context (its decision id, portfolio, limits, trading state) is written in, and the graph goes on from
   * there. Otherwise it starts from the beginning.
   * When the checkpoints cannot be read, the run goes on without them (onCheckpointError says why).
   */
  async #runCheckpointed(ctx: DecisionContext): Promise<{ out: RunState; resumedAfter: string | null }> {
    const saver = this.#saver as ResumePointSaver;
    let thread;
    let resume: { config: RunnableConfig; asNode: string } | null = null;
    try {
      const threadId = this.threadIdOf(ctx);
      thread = onLeanRunContext({ configurable: { thread_id: threadId } });
      const probe = this.#probes.get(threadId);
      this.#probes.delete(threadId);
      const history = (await (probe ?? saver.hasThread(threadId))) ? this.#graph.getStateHistory(thread) : [];
      for await (const snap of history) {
        const asNode = RESUMABLE_BEFORE[snap.next[0] ?? ''];
        if (asNode === undefined || snap.next.length !== 1) continue;
        const config = await this.#graph.updateState(snap.config, { context: ctx }, asNode);
        resume = { config, asNode };
        break;
      }
    } catch (e) {
      this.#onCheckpointError(e as Error, 'read');
      return { out: (await this.#unchecked.invoke(initialState(ctx), LEAN_RUN)) as RunState, resumedAfter: null };
    }
    if (resume === null) return { out: (await this.#graph.invoke(initialState(ctx), { ...thread, durability: 'async' })) as RunState, resumedAfter: null };
    this.resumedRuns++;
    return { out: (await this.#graph.invoke(null, { ...onLeanRunContext(resume.config), durability: 'async' })) as RunState, resumedAfter: resume.asNode };
  }

  /**
   * Forget the checkpoints of runs whose traces are committed: they will never be resumed (a
   * redelivered event finds the stored decision first). Call after the transaction that stored the
   * traces commits; a run whose transaction rolled back keeps its checkpoints for the next attempt.
   * The worker calls it with an in-process MemorySaver; on Postgres it leaves the deletion to
   * sweepSettledRunThreads (one statement for many runs, off the events' path).
   */
  async settle(traces: readonly DecisionTrace[]): Promise<void> {
    const saver = this.#saver;
    if (saver === null) return;
    for (const t of traces) {
      const analysis = t.nodes.find((n) => n.node === 'analysis')?.output as { featureVersion?: number } | undefined;
      if (analysis?.featureVersion === undefined) continue;
      await saver.deleteThread(this.threadIdOf({ runScope: t.runScope, subject: t, featureVersion: analysis.featureVersion }));
    }
  }

  /**
   * The decision graph as LangGraph draws it: its nodes and edges (`conditional` for the risk gate's
   * routes), for tests and diagnostics.
   */
  async structure(): Promise<{ kind: string; checkpointed: boolean; nodes: string[]; edges: { from: string; to: string; conditional: boolean }[] }> {
    const g = await this.#graph.getGraphAsync();
    return {
      kind: this.#graph.constructor.name,
      checkpointed: this.#saver !== null,
      nodes: Object.keys(g.nodes),
      edges: g.edges.map((e) => ({ from: e.source, to: e.target, conditional: e.conditional === true })),
    };
  }

  /** true when the decision's run is stopped at the approval interrupt in this runner's checkpointer */
  async isWaiting(decisionId: string): Promise<boolean> {
    if (!this.#approval) return false;
    const s = await this.#approval.getState(threadOf(decisionId));
    return s.next.includes(GRAPH_NODE_NAMES.await);
  }

  /** Resume a waiting run with the officer's answer (or the expiry); returns the final trace. */
  async resume(decisionId: string, answer: ApprovalAnswer): Promise<DecisionTrace> {
    if (!(await this.isWaiting(decisionId)))
      throw new AppError('NOT_FOUND', `no graph run is waiting for approval of decision ${decisionId} in this checkpointer`);
    // "exit": the finished state is checkpointed once, so the thread no longer shows as waiting
    const out = (await this.#approvalGraph().invoke(new Command({ resume: answer }), { ...threadOf(decisionId), durability: 'exit' })) as GraphStateT;
    if (out.trace === null) throw new AppError('INTERNAL', `resumed graph run ${decisionId} ended without a trace`);
    return out.trace;
  }

  #approvalGraph() {
    if (!this.#approval) throw new AppError('INTERNAL', 'the graph runner has no checkpointer to wait in');
    return this.#approval;
  }
}

/** the config of a decision run without a thread: on the lean run context (lean-run-context.ts); shared, so frozen */
const LEAN_RUN = (() => {
  const c = onLeanRunContext();
  Object.freeze(c.configurable);
  return Object.freeze(c);
})();

const threadOf = (decisionId: string) => ({ configurable: { thread_id: decisionId } });

/**
 * A graph node's body (or the risk gate's router) as a Runnable that calls the function directly.
 * LangGraph wraps a plain function in a RunnableCallable that, on every call, merges configs and enters
 * LangChain's AsyncLocalStorage with the run's config so that getConfig() and interrupt() work inside
 * it; the decision nodes and the router use neither (only await_approval interrupts, and it stays a
 * plain function in the approval graph).
 */
class Direct<I, O> extends Runnable<I, O> {
  lc_namespace = ['meridian', 'orchestrator'];
  readonly #fn: (s: I) => O | Promise<O>;

  constructor(name: string, fn: (s: I) => O | Promise<O>) {
    super();
    this.name = name;
    this.#fn = fn;
  }

  override async invoke(input: I): Promise<O> {
    return this.#fn(input);
  }
}

/**
 * The decision graph: a StateGraph over the run state (GraphState; node records appended by its
 * reducer), analysis → recall → signal → decision → risk gate, then a conditional edge to exactly one
 * of outbox | record | pending_approval — the outbox node is reachable only through the risk gate's
 * route. Each node returns its patch and its NodeRecord; the reducers merge them into the state.
 */
function buildDecisionGraph(deps: OrchestratorDeps) {
  const N = GRAPH_NODE_NAMES;
  // graph nodes always validate: this is the live path
  const node = (def: AnyNodeDef) =>
    new Direct<RunState, Partial<RunState>>(GRAPH_NODE_NAMES[def.node], async (s) => {
      const step = await runNodeAsync(def, s, deps, true);
      return step === null ? {} : { ...step.patch, nodes: [step.record] };
    });
  const record = (name: string) =>
    new Direct<RunState, Partial<RunState>>(name, async (s) => {
      const r = await recordStep(s, deps, 'graph', true);
      return { trace: r.trace, inserted: r.inserted };
    });
  const route = new Direct<GraphStateT, string>('route', (s) => {
    switch (outcomeOf(s as RunState)) {
      case 'order':
        return N.outbox;
      case 'pending_approval':
        return deps.pendingApproval === 'wait' ? N.pending : N.record;
      default:
        return N.record;
    }
  });
  return (
    new StateGraph(GraphState)
      .addNode(N.analysis, node(erase(analysisNode)))
      .addNode(N.recall, node(erase(recallNode)))
      .addNode(N.signal, node(erase(signalNode)))
      .addNode(N.decision, node(erase(decisionNode)))
      .addNode(N.risk, node(erase(riskNode)))
      .addNode(N.outbox, record(N.outbox))
      .addNode(N.record, record(N.record))
      .addNode(N.pending, record(N.pending))
      .addEdge(START, N.analysis)
      .addEdge(N.analysis, N.recall)
      .addEdge(N.recall, N.signal)
      .addEdge(N.signal, N.decision)
      .addEdge(N.decision, N.risk)
      .addConditionalEdges(N.risk, route, [N.outbox, N.record, N.pending])
      .addEdge(N.outbox, END)
      .addEdge(N.record, END)
      // a waiting run continues in the approval graph (GraphRunner.decide), from this state
      .addEdge(N.pending, END)
  );
}

/** The part of a run that waits for a risk officer: started with the state after pending_approval, checkpointed. */
function buildApprovalGraph(deps: OrchestratorDeps) {
  const N = GRAPH_NODE_NAMES;
  const awaitApproval = async (s: GraphStateT) => {
    const pending = s.trace as DecisionTrace;
    const request: ApprovalRequest = {
      decisionId: pending.decisionId,
      expiresAt: pendingExpiry(pending, deps) ?? 0,
      symbol: pending.symbol,
      side: s.decision?.side ?? null,
      quantity: pending.verdict?.approvedQuantity ?? 0,
      reasons: pending.verdict?.reasons ?? [],
    };
    // everything before interrupt() runs again on resume, so nothing with an effect comes first
    const answer = ApprovalAnswerSchema.parse(interrupt(request));
    const final = validateTrace(resolvePendingTrace(pending, answer, deps));
    await deps.recorder?.resolve(final, answer);
    return { trace: final, orderRequest: final.orderRequest };
  };
  // a fresh thread's `nodes` is empty, so the input's records are taken as they are
  return new StateGraph(GraphState).addNode(N.await, awaitApproval).addEdge(START, N.await).addEdge(N.await, END);
}
