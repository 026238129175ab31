import { Runnable } from '@langchain/core/runnables';
import { Annotation, Command, END, START, StateGraph, interrupt, type BaseCheckpointSaver } from '@langchain/langgraph';
import { EphemeralValue, LastValue } from '@langchain/langgraph/channels';
import { Channel, Pregel } from '@langchain/langgraph/pregel';
import type { AnalysisReport, DecisionTrace, MemoryRecall, NodeRecord, OrderRequest, RiskVerdict, SignalProposal, TradeDecision } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { detachContext, type DecisionContext } from './decision-context.ts';
import { outcomeOf, resolvePendingTrace, validateTrace } from './decision-trace-builder.ts';
import type { DecideResult } from './fast-runner.ts';
import { analysisNode, decisionNode, erase, recallNode, riskNode, signalNode, type AnyNodeDef } from './nodes/index.ts';
import { runNodeAsync } from './nodes/node-def.ts';
import type { OrchestratorDeps } from './orchestrator-deps.ts';
import { pendingExpiry, recordStep } from './record-step.ts';
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
   * Needed when pendingApproval is 'wait' (the interrupt lives in it): a PostgresSaver on server
   * Postgres (see openCheckpointer), a MemorySaver in embedded mode and tests.
   */
  readonly checkpointer?: BaseCheckpointSaver;
}

export interface GraphDecideResult extends DecideResult {
  /** true when the run stopped at the approval interrupt and waits for `resume` */
  readonly waiting: boolean;
}

/**
 * The decision graph on LangGraph: the shared node functions as graph nodes, every node output
 * validated with its contracts schema, and a routing step after the risk gate — the only way to
 * the outbox node.
 *
 * Checkpoints only where they buy something: a decision runs WITHOUT a checkpointer (LangGraph would
 * otherwise serialise the whole run state — window, features, reports — to Postgres after every
 * node), because a run that ends is recorded by the recorder in the caller's transaction and never
 * resumed. Only a run that must wait for a risk officer needs durable state: its final state is
 * handed to the approval graph (a StateGraph `START → await_approval`, compiled with the
 * checkpointer, `durability: "exit"`), whose thread is the decision id — so `isWaiting`/`resume` work
 * from any process, and that thread holds the whole decision state at the interrupt.
 *
 * The decision graph itself is built on LangGraph's Pregel runtime directly rather than through the
 * StateGraph builder (see buildDecisionGraph): same engine, same super-steps and node order, about
 * half of the per-run framework CPU.
 */
export class GraphRunner {
  readonly stats: RunStats = emptyStats();
  readonly #graph;
  readonly #approval;
  readonly #wait: boolean;

  constructor(deps: OrchestratorDeps, options: GraphRunnerOptions = {}) {
    if (deps.pendingApproval === 'wait' && !options.checkpointer)
      throw new AppError('CONFIG', 'the graph runner waits for risk officers only with a checkpointer', { hint: 'pass openCheckpointer(config.db).saver, or use pendingApproval: "reject" (backtests)' });
    this.#wait = deps.pendingApproval === 'wait';
    this.#graph = buildDecisionGraph(deps);
    this.#approval = options.checkpointer ? buildApprovalGraph(deps).compile({ checkpointer: options.checkpointer }) : null;
  }

  async decide(context: DecisionContext): Promise<GraphDecideResult> {
    const out = (await this.#graph.invoke(initialState(detachContext(context)))) as RunState;
    const trace = out.trace;
    if (trace === null || out.inserted === null) throw new AppError('INTERNAL', `graph run ${context.decisionId} ended without recording a trace`);
    countTrace(this.stats, trace, out.inserted);
    // a bar that already had a decision must not wait a second time
    const waits = this.#wait && out.inserted && trace.outcome === 'pending_approval';
    if (!waits) return { trace, inserted: out.inserted, waiting: false };
    const approval = this.#approvalGraph();
    // the state as it stands after pending_approval; "exit": one checkpoint, written at the interrupt
    const paused = (await approval.invoke(out, { ...threadOf(trace.decisionId), durability: 'exit' })) as GraphStateT & { __interrupt__?: unknown[] };
    return { trace, inserted: out.inserted, waiting: Array.isArray(paused.__interrupt__) && paused.__interrupt__.length > 0 };
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

const threadOf = (decisionId: string) => ({ configurable: { thread_id: decisionId } });

/**
 * A graph node's body as a Runnable that calls the node function directly. LangGraph wraps a plain
 * function in a RunnableCallable that, on every call, merges configs and enters LangChain's
 * AsyncLocalStorage with a fresh langsmith RunTree (a uuid7, environment reads) so that getConfig()
 * and interrupt() work inside it; the decision nodes use neither (only await_approval interrupts,
 * and it stays a plain function in the approval graph).
 */
class NodeBody extends Runnable<RunState, RunState | undefined> {
  lc_namespace = ['meridian', 'orchestrator'];
  readonly #fn: (s: RunState) => Promise<RunState | undefined>;

  constructor(name: string, fn: (s: RunState) => Promise<RunState | undefined>) {
    super();
    this.name = name;
    this.#fn = fn;
  }

  override invoke(input: RunState): Promise<RunState | undefined> {
    return this.#fn(input);
  }
}

/** The channels between the decision nodes: each holds the run state for one super-step. */
const CH = {
  input: 'input',
  analysed: 'analysed',
  recalled: 'recalled',
  signalled: 'signalled',
  decided: 'decided',
  toOutbox: 'to_outbox',
  toRecord: 'to_record',
  toPending: 'to_pending',
  result: 'result',
} as const;

/**
 * analysis → recall → signal → decision → risk gate → outbox | record | pending_approval, one
 * super-step each, on LangGraph's Pregel runtime. Each node subscribes to the channel its
 * predecessor writes and passes on the whole (immutable) run state with its patch and its record
 * appended — what the StateGraph's reducers did. After the risk gate exactly one of `to_outbox`,
 * `to_record`, `to_pending` is written (a write whose mapper returns undefined is skipped), and only
 * the outbox node reads `to_outbox`: the risk gate is still the only way to the outbox.
 *
 * Why not StateGraph: its compiled graph attaches, to every node, a control branch (for `Command`
 * returns) and a state-update mapper, each a Runnable invoked per step through LangChain's callback
 * and AsyncLocalStorage machinery — ~47 runnable invocations per decision for 7 super-steps, about
 * half of LangGraph's CPU per run. This graph has the same super-steps and node order with a
 * fraction of those invocations (bench/orchestrator.bench.ts: ~2.1 → ~1.1 ms CPU per decision).
 */
function buildDecisionGraph(deps: OrchestratorDeps) {
  const N = GRAPH_NODE_NAMES;
  // graph nodes always validate: this is the live path
  const node = (def: AnyNodeDef) =>
    new NodeBody(GRAPH_NODE_NAMES[def.node], async (s) => {
      const step = await runNodeAsync(def, s, deps, true);
      return step === null ? s : { ...s, ...step.patch, nodes: [...s.nodes, step.record] };
    });
  const record = (name: string) =>
    new NodeBody(name, async (s) => {
      const r = await recordStep(s, deps, 'graph', true);
      return { ...s, trace: r.trace, inserted: r.inserted };
    });
  const route = (s: RunState): string => {
    switch (outcomeOf(s)) {
      case 'order':
        return N.outbox;
      case 'pending_approval':
        return deps.pendingApproval === 'wait' ? N.pending : N.record;
      default:
        return N.record;
    }
  };
  const only = (to: string) => new NodeBody(`route:${to}`, (s) => Promise.resolve(route(s) === to ? s : undefined));
  const step = (from: string, body: NodeBody, to: string) => Channel.subscribeTo(from).pipe(body).pipe(Channel.writeTo([to]));
  const nodes = {
    [N.analysis]: step(CH.input, node(erase(analysisNode)), CH.analysed),
    [N.recall]: step(CH.analysed, node(erase(recallNode)), CH.recalled),
    [N.signal]: step(CH.recalled, node(erase(signalNode)), CH.signalled),
    [N.decision]: step(CH.signalled, node(erase(decisionNode)), CH.decided),
    [N.risk]: Channel.subscribeTo(CH.decided)
      .pipe(node(erase(riskNode)))
      .pipe(Channel.writeTo([], { [CH.toOutbox]: only(N.outbox), [CH.toRecord]: only(N.record), [CH.toPending]: only(N.pending) })),
    [N.outbox]: step(CH.toOutbox, record(N.outbox), CH.result),
    [N.record]: step(CH.toRecord, record(N.record), CH.result),
    [N.pending]: step(CH.toPending, record(N.pending), CH.result),
  };
  const passing = () => new EphemeralValue<RunState>();
  return new Pregel({
    name: 'decision',
    nodes,
    channels: {
      [CH.input]: passing(),
      [CH.analysed]: passing(),
      [CH.recalled]: passing(),
      [CH.signalled]: passing(),
      [CH.decided]: passing(),
      [CH.toOutbox]: passing(),
      [CH.toRecord]: passing(),
      [CH.toPending]: passing(),
      [CH.result]: new LastValue<RunState>(),
    },
    inputChannels: CH.input,
    outputChannels: CH.result,
    // which nodes a written channel can trigger, so each step looks at one node instead of all eight
    triggerToNodes: {
      [CH.input]: [N.analysis],
      [CH.analysed]: [N.recall],
      [CH.recalled]: [N.signal],
      [CH.signalled]: [N.decision],
      [CH.decided]: [N.risk],
      [CH.toOutbox]: [N.outbox],
      [CH.toRecord]: [N.record],
      [CH.toPending]: [N.pending],
    },
  });
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
