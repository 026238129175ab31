import { decisionPolicy, type DecisionInput } from '@meridian/agents';
import type { TradeDecision } from '@meridian/contracts';
import { isAppError, SimulatedClock } from '@meridian/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryCheckpointer } from './checkpointer.ts';
import type { DecisionContext } from './decision-context.ts';
import { InMemoryDecisionRecorder, type DecisionRecorder } from './decision-recorder.ts';
import { FastRunner } from './fast-runner.ts';
import { GraphRunner } from './graph-runner.ts';
import { backtestDeps, DETERMINISTIC_AGENTS, type SyncPolicy } from './orchestrator-deps.ts';
import { pendingContexts } from './test/replay-contexts.ts';

let ctx: DecisionContext;
beforeAll(async () => {
  [ctx] = (await pendingContexts(1)) as [DecisionContext];
}, 120_000);

/** A decision policy with a bug: it proposes a hold with a quantity (the schema forbids it). */
const broken: SyncPolicy<DecisionInput, TradeDecision> = {
  kind: 'deterministic',
  version: 'decision@broken',
  run: (i, c) => Promise.resolve(broken.runSync!(i, c)),
  runSync: (i, c) => ({ ...decisionPolicy.runSync(i, c), action: 'hold', side: null, quantity: 5 }),
};

function errorOf(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isAppError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected an AppError');
}

describe('node outputs are validated between nodes', () => {
  it('an invalid decision never reaches the risk gate or the recorder: both runners fail naming the node', async () => {
    const clock = new SimulatedClock(ctx.subject.asOf);
    const recorder = new InMemoryDecisionRecorder(clock);
    const deps = backtestDeps(clock, { agents: { ...DETERMINISTIC_AGENTS, decision: broken }, recorder });
    const fast = errorOf(() => new FastRunner(deps).decideSync(ctx));
    expect(fast.code).toBe('VALIDATION');
    expect(fast.message).toMatch(/decision node produced an invalid output: action: hold has side null and quantity 0/);
    await expect(new GraphRunner(deps).decide(ctx)).rejects.toThrow(/decision node produced an invalid output/);
    expect(recorder.traces.size).toBe(0);
  });

  it('the same bug passes through the fast runner only when validation is off (the documented backtest trade-off)', () => {
    const clock = new SimulatedClock(ctx.subject.asOf);
    const deps = backtestDeps(clock, { agents: { ...DETERMINISTIC_AGENTS, decision: broken } });
    expect(new FastRunner(deps, { validate: false }).decideSync(ctx).trace.outcome).toBe('hold');
  });

  it('decideSync refuses a database recorder before writing anything', () => {
    let calls = 0;
    const asyncRecorder: DecisionRecorder = {
      synchronous: false,
      record: () => {
        calls++;
        return Promise.reject(new Error('unreachable'));
      },
      resolve: () => Promise.resolve(),
      getTrace: () => Promise.resolve(undefined),
      getPending: () => Promise.resolve(undefined),
      listOverdue: () => Promise.resolve([]),
    };
    const deps = backtestDeps(new SimulatedClock(ctx.subject.asOf), { recorder: asyncRecorder });
    expect(errorOf(() => new FastRunner(deps).decideSync(ctx)).code).toBe('CONFIG');
    expect(calls).toBe(0);
  });

  it('decideSync refuses a policy without a synchronous path; decide (async) runs it', async () => {
    const asyncOnly: SyncPolicy<DecisionInput, TradeDecision> = { kind: 'llm', version: 'decision@llm-stub', run: (i, c) => decisionPolicy.run(i, c) };
    const deps = backtestDeps(new SimulatedClock(ctx.subject.asOf), { agents: { ...DETERMINISTIC_AGENTS, decision: asyncOnly } });
    expect(errorOf(() => new FastRunner(deps).decideSync(ctx)).message).toMatch(/no synchronous path/);
    const r = await new FastRunner(deps).decide(ctx);
    expect(r.trace.nodes.find((n) => n.node === 'decision')?.version).toBe('decision@llm-stub');
  });

  it('a trace records every node that ran with its version, and the decision id everywhere', async () => {
    const clock = new SimulatedClock(ctx.subject.asOf);
    const r = await new GraphRunner(backtestDeps(clock), { checkpointer: memoryCheckpointer() }).decide(ctx);
    expect(r.trace.nodes.map((n) => [n.node, n.version])).toEqual([
      ['analysis', 'analysis@1.0.0'],
      ['signal', 'signal@1.0.0'],
      ['decision', 'decision@1.0.0'],
      ['risk', 'risk-gate@1.0.0'],
    ]);
    expect(r.trace.verdict?.decisionId).toBe(ctx.decisionId);
    expect(r.trace.nodes[0]?.input).toEqual({ bars: 50, from: ctx.window[0]?.ts, to: ctx.window[49]?.ts, featureVersion: 1 });
  });
});
