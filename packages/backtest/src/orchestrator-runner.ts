import type { MemoryScope } from '@meridian/contracts';
import type { Clock } from '@meridian/core';
import { backtestDeps, FastRunner, GraphRunner, type MemoryRecaller } from '@meridian/orchestrator';
import type { DecisionRunner } from './decision-runner.ts';

export interface RunnerOptions {
  readonly kind: 'fast' | 'graph';
  /** the run's memory (null: memory off, the recall node does not run) */
  readonly memory: { readonly recaller: MemoryRecaller; readonly k: number; readonly scope: MemoryScope; readonly horizonBars: number } | null;
  /**
   * Fast runner only: parse every node output with its contracts schema (default false in backtests — the
   * parse costs more than the agents; the graph runner always validates, and the fast-vs-graph test proves the
   * outputs are the same).
   */
  readonly validate?: boolean;
}

/**
 * The orchestrator's runners behind the backtest's DecisionRunner seam, with the backtest defaults
 * (deterministic agents and ids, the backtest signing key, pending approvals denied at once, nothing recorded).
 * The risk gate's clock is the bar's close: it is set from each context before the graph runs.
 */
export function createDecisionRunner(o: RunnerOptions): DecisionRunner {
  let t = 0;
  const clock: Clock = { now: () => t };
  const deps = backtestDeps(clock, o.memory === null ? {} : { memory: { recaller: o.memory.recaller, k: o.memory.k, scope: o.memory.scope, horizonBars: o.memory.horizonBars } });
  if (o.kind === 'fast') {
    const fast = new FastRunner(deps, { validate: o.validate ?? false });
    const sync = o.memory === null || o.memory.recaller.recallSync !== undefined;
    return {
      kind: 'fast',
      run: (ctx) => {
        t = ctx.subject.asOf;
        return sync ? fast.decideSync(ctx).trace : fast.decide(ctx).then((r) => r.trace);
      },
    };
  }
  const graph = new GraphRunner(deps);
  return {
    kind: 'graph',
    run: async (ctx) => {
      t = ctx.subject.asOf;
      return (await graph.decide(ctx)).trace;
    },
  };
}
