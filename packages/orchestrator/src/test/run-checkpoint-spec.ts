import type { BaseCheckpointSaver } from '@langchain/langgraph';
import type { DecisionTrace, TradingState } from '@meridian/contracts';
import { SimulatedClock } from '@meridian/core';
import { beforeAll, expect, it } from 'vitest';
import type { DecisionContext } from '../decision-context.ts';
import { comparableTrace } from '../decision-trace-builder.ts';
import type { DecisionRecorder } from '../decision-recorder.ts';
import { InMemoryDecisionRecorder } from '../decision-recorder.ts';
import { GRAPH_NODE_NAMES, GraphRunner } from '../graph-runner.ts';
import { backtestDeps, DETERMINISTIC_AGENTS, type OrchestratorDeps } from '../orchestrator-deps.ts';
import { ethBtcMemory } from './replay-setup.ts';
import { orderContexts } from './replay-contexts.ts';

/**
 * Live decision runs checkpointed step by step (GraphRunner `checkpointRuns`), resumed by another
 * runner — another process — after a run was cut off. Shared by the MemorySaver and the PostgresSaver
 * test files: `openSaver()` must return a saver onto the SAME storage on every call (for Postgres: a
 * new pool, as a new process would open).
 */
export interface RunCheckpointSpecOptions {
  readonly openSaver: () => Promise<BaseCheckpointSaver>;
  /** a recorder per "process" (one database / one in-memory store for the whole spec is fine) */
  readonly recorder: () => DecisionRecorder;
}

type Agent = keyof OrchestratorDeps['agents'];
const HALTED: TradingState = { schemaVersion: 1, state: 'HALTED', reason: 'kill switch while the worker was down', actor: 'risk-officer', since: 0, until: null };

class CutOff extends Error {}

export function runCheckpointSpec(o: RunCheckpointSpecOptions): void {
  let contexts: DecisionContext[];
  beforeAll(async () => {
    contexts = await orderContexts(9);
  }, 120_000);

  /**
   * One worker process: its own runner and saver onto the shared storage, agents that count their calls,
   * and a cut-off (thrown as the process would die) in `cutIn` — an agent, or 'record' for the recorder.
   */
  async function processFor(ctx: DecisionContext, cutIn: Agent | 'record' | null = null, signalVersion?: string) {
    const calls: Record<Agent, number> = { analysis: 0, signal: 0, decision: 0 };
    const count = <K extends Agent>(name: K): OrchestratorDeps['agents'][K] => {
      const policy = DETERMINISTIC_AGENTS[name];
      return {
        ...policy,
        ...(name === 'signal' && signalVersion !== undefined ? { version: signalVersion } : {}),
        run: (input: never, c: { decisionId: string }) => {
          calls[name]++;
          // only the first call: a process that retries the event itself gets through
          if (cutIn === name && calls[name] === 1) throw new CutOff(`cut off in the ${name} agent`);
          return (policy.run as (i: never, c: { decisionId: string }) => unknown)(input, c);
        },
      } as OrchestratorDeps['agents'][K];
    };
    const inner = o.recorder();
    const recorder: DecisionRecorder =
      cutIn === 'record'
        ? new Proxy(inner, { get: (t, k) => (k === 'record' ? () => Promise.reject(new CutOff('cut off while recording')) : Reflect.get(t, k)) })
        : inner;
    const clock = new SimulatedClock(ctx.subject.asOf);
    const deps = backtestDeps(clock, {
      agents: { analysis: count('analysis'), signal: count('signal'), decision: count('decision') },
      memory: { recaller: ethBtcMemory(), k: 20, scope: 'same-symbol' },
      recorder,
    });
    const saver = await o.openSaver();
    return { calls, graph: new GraphRunner(deps, { checkpointer: saver, checkpointRuns: true }), saver };
  }

  /** the uninterrupted run of the bar (with `ctx`'s decision id), for comparison */
  async function reference(ctx: DecisionContext): Promise<DecisionTrace> {
    const clock = new SimulatedClock(ctx.subject.asOf);
    const deps = backtestDeps(clock, { memory: { recaller: ethBtcMemory(), k: 20, scope: 'same-symbol' }, recorder: new InMemoryDecisionRecorder(clock) });
    return (await new GraphRunner(deps).decide(ctx)).trace;
  }

  const checkpointsOf = async (p: { saver: BaseCheckpointSaver; graph: GraphRunner }, ctx: DecisionContext) => {
    let n = 0;
    for await (const _ of p.saver.list({ configurable: { thread_id: p.graph.threadIdOf(ctx) } })) n++;
    return n;
  };

  it('a run that is not cut off gives the same trace as an unchecked run, keeps only its resume point, and settle deletes it', async () => {
    const ctx = contexts[0]!;
    const p = await processFor(ctx);
    const r = await p.graph.decide(ctx);
    expect(r.resumedAfter).toBeNull();
    expect(comparableTrace(r.trace)).toEqual(comparableTrace(await reference(ctx)));
    // after the signal agent — not the input, not after the other nodes
    expect(await checkpointsOf(p, ctx)).toBe(1);
    await p.graph.settle([r.trace]);
    expect(await checkpointsOf(p, ctx)).toBe(0);
  });

  it('a run cut off in the decision agent resumes after the signal agent in another process: the market nodes are not run again, the trace is the uninterrupted one', async () => {
    const ctx = contexts[1]!;
    const first = await processFor(ctx, 'decision');
    await expect(first.graph.decide(ctx)).rejects.toThrow('cut off in the decision agent');

    const second = await processFor(ctx);
    // the redelivered event: a new attempt, with its own decision id
    const retry = { ...ctx, decisionId: '019a0000-0000-7000-8000-000000000001' };
    const r = await second.graph.decide(retry);
    expect(r.resumedAfter).toBe(GRAPH_NODE_NAMES.signal);
    expect(second.calls).toEqual({ analysis: 0, signal: 0, decision: 1 });
    expect(second.graph.resumedRuns).toBe(1);
    expect(r.trace.decisionId).toBe(retry.decisionId);
    expect(r.trace.nodes.map((n) => n.node)).toEqual(['analysis', 'recall', 'signal', 'decision', 'risk']);
    expect(comparableTrace(r.trace)).toEqual(comparableTrace(await reference(retry)));
    expect(r.trace.outcome).toBe('order');
  });

  it('the nodes that depend on the portfolio run on the state of the new attempt: a halt that came while the run was down rejects its order', async () => {
    const ctx = contexts[2]!;
    const first = await processFor(ctx, 'record');
    await expect(first.graph.decide(ctx)).rejects.toThrow('cut off while recording');
    // the first attempt had passed the risk gate: the order was approved before the cut-off
    expect(first.calls).toEqual({ analysis: 1, signal: 1, decision: 1 });

    const second = await processFor(ctx);
    const r = await second.graph.decide({ ...ctx, tradingState: { ...HALTED, since: ctx.subject.asOf } });
    expect(r.resumedAfter).toBe(GRAPH_NODE_NAMES.signal);
    expect(second.calls).toEqual({ analysis: 0, signal: 0, decision: 1 });
    expect(r.trace.outcome).toBe('rejected');
    expect(r.trace.orderRequest).toBeNull();
    expect(r.trace.verdict?.checks.find((c) => c.check === 'tradingState')?.passed).toBe(false);
  });

  it('the same process retrying the event itself resumes after the signal agent too', async () => {
    const ctx = contexts[5]!;
    const p = await processFor(ctx, 'decision');
    await expect(p.graph.decide(ctx)).rejects.toThrow(CutOff);
    const retry = { ...ctx, decisionId: '019a0000-0000-7000-8000-000000000004' };
    const r = await p.graph.decide(retry);
    expect(r.resumedAfter).toBe(GRAPH_NODE_NAMES.signal);
    expect(p.calls).toEqual({ analysis: 1, signal: 1, decision: 2 });
    expect(comparableTrace(r.trace)).toEqual(comparableTrace(await reference(retry)));
  });

  it('a run cut off before its market view is complete (in the signal agent) has nothing to resume from and starts over', async () => {
    const ctx = contexts[7]!;
    await expect((await processFor(ctx, 'signal')).graph.decide(ctx)).rejects.toThrow('cut off in the signal agent');
    const second = await processFor(ctx);
    const r = await second.graph.decide(ctx);
    expect(r.resumedAfter).toBeNull();
    expect(second.calls).toEqual({ analysis: 1, signal: 1, decision: 1 });
    expect(comparableTrace(r.trace)).toEqual(comparableTrace(await reference(ctx)));
  });

  it('a worker running other agent versions does not resume the run: it starts over on its own thread', async () => {
    const ctx = contexts[8]!;
    await expect((await processFor(ctx, 'decision')).graph.decide(ctx)).rejects.toThrow(CutOff);
    const upgraded = await processFor(ctx, null, 'signal@9.9.9');
    const r = await upgraded.graph.decide(ctx);
    expect(r.resumedAfter).toBeNull();
    expect(upgraded.calls).toEqual({ analysis: 1, signal: 1, decision: 1 });
    expect(r.trace.nodes.find((n) => n.node === 'signal')?.version).toBe('signal@9.9.9');
    // the same versions as the cut-off run: that one resumes
    const same = await processFor(ctx);
    expect((await same.graph.decide(ctx)).resumedAfter).toBe(GRAPH_NODE_NAMES.signal);
  });

  it('cut off twice: the second attempt resumes from the first one’s checkpoint, the third from the second’s fork', async () => {
    const ctx = contexts[4]!;
    await expect((await processFor(ctx, 'decision')).graph.decide(ctx)).rejects.toThrow(CutOff);
    const second = await processFor(ctx, 'decision');
    // the first attempt's resume point
    expect(await checkpointsOf(second, ctx)).toBe(1);
    await expect(second.graph.decide({ ...ctx, decisionId: '019a0000-0000-7000-8000-000000000002' })).rejects.toThrow(CutOff);
    expect(second.calls).toEqual({ analysis: 0, signal: 0, decision: 1 });
    // + the second attempt's fork (written by updateState, before the decision agent)
    expect(await checkpointsOf(second, ctx)).toBe(2);
    const third = await processFor(ctx);
    const retry = { ...ctx, decisionId: '019a0000-0000-7000-8000-000000000003' };
    const r = await third.graph.decide(retry);
    expect(r.resumedAfter).toBe(GRAPH_NODE_NAMES.signal);
    expect(third.calls).toEqual({ analysis: 0, signal: 0, decision: 1 });
    // it forked from the second attempt's fork, the newest resume point: one more fork, nothing else stored
    expect(await checkpointsOf(third, ctx)).toBe(3);
    expect(comparableTrace(r.trace)).toEqual(comparableTrace(await reference(retry)));
    await third.graph.settle([r.trace]);
    expect(await checkpointsOf(third, ctx)).toBe(0);
  });
}
