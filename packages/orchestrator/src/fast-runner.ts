import type { DecisionTrace } from '@meridian/contracts';
import type { DecisionContext } from './decision-context.ts';
import { DECISION_NODES } from './nodes/index.ts';
import { runNodeAsync, runNodeSync, type NodeStep } from './nodes/node-def.ts';
import type { OrchestratorDeps } from './orchestrator-deps.ts';
import { recordStep, recordStepSync } from './record-step.ts';
import { countTrace, emptyStats, type RunStats } from './run-stats.ts';
import { initialState, type RunState } from './run-state.ts';

export interface FastRunnerOptions {
  /**
   * Parse every node output and the trace with its contracts schema (default true). Backtests may
   * turn it off for speed: validation costs more than the agents themselves, and the
   * runner-equivalence test runs the same nodes with validation on over real data.
   */
  readonly validate?: boolean;
}

export interface DecideResult {
  readonly trace: DecisionTrace;
  /** false: the bar already had a decision; `trace` is the stored one */
  readonly inserted: boolean;
}

/**
 * The same node functions as the graph, in the same order, without LangGraph: no per-invoke
 * scheduling, no checkpoints. `decideSync` is the backtest hot path (deterministic policies,
 * memory with `recallSync` or none, a synchronous recorder or none). A pending approval is never
 * waited on here: in 'reject' mode it is denied at once and counted; in 'wait' mode it is recorded
 * and resolved later through the approval service (there is no checkpoint to resume).
 */
export class FastRunner {
  readonly stats: RunStats = emptyStats();
  readonly #validate: boolean;

  constructor(
    readonly deps: OrchestratorDeps,
    options: FastRunnerOptions = {},
  ) {
    this.#validate = options.validate ?? true;
  }

  decideSync(context: DecisionContext): DecideResult {
    const state = initialState(context);
    for (const def of DECISION_NODES) apply(state, runNodeSync(def, state, this.deps, this.#validate));
    return this.#count(recordStepSync(state, this.deps, 'fast', this.#validate));
  }

  async decide(context: DecisionContext): Promise<DecideResult> {
    const state = initialState(context);
    for (const def of DECISION_NODES) apply(state, await runNodeAsync(def, state, this.deps, this.#validate));
    return this.#count(await recordStep(state, this.deps, 'fast', this.#validate));
  }

  #count(r: DecideResult): DecideResult {
    countTrace(this.stats, r.trace, r.inserted);
    return r;
  }
}

function apply(state: RunState, step: NodeStep | null): void {
  if (step === null) return;
  Object.assign(state, step.patch);
  state.nodes.push(step.record);
}
