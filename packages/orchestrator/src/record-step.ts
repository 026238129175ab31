import type { DecisionTrace } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { assembleTrace, validateTrace, type Runner } from './decision-trace-builder.ts';
import type { RecordResult } from './decision-recorder.ts';
import type { OrchestratorDeps } from './orchestrator-deps.ts';
import type { RunState } from './run-state.ts';

/** When a pending approval stops being grantable: the verdict's time plus the configured TTL. */
export function pendingExpiry(trace: DecisionTrace, deps: OrchestratorDeps): number | null {
  return trace.outcome === 'pending_approval' && trace.verdict !== null ? trace.verdict.evaluatedAt + deps.pendingApprovalTtlMs : null;
}

/** The record step both runners end with: assemble the trace, validate it, hand it to the recorder. */
export function recordStepSync(state: RunState, deps: OrchestratorDeps, runner: Runner, validate: boolean): RecordResult {
  const trace = assembleTrace(state, deps, runner);
  if (validate) validateTrace(trace);
  if (deps.recorder === null) return { inserted: true, trace };
  if (!deps.recorder.synchronous)
    throw new AppError('CONFIG', 'decideSync needs a synchronous recorder (InMemoryDecisionRecorder or none); this one writes to a database', { hint: 'call decide (async) instead' });
  return deps.recorder.record(trace, pendingExpiry(trace, deps)) as RecordResult;
}

export async function recordStep(state: RunState, deps: OrchestratorDeps, runner: Runner, validate: boolean): Promise<RecordResult> {
  const trace = assembleTrace(state, deps, runner);
  if (validate) validateTrace(trace);
  if (deps.recorder === null) return { inserted: true, trace };
  return await deps.recorder.record(trace, pendingExpiry(trace, deps));
}
