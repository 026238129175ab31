import type { GraphNode, NodeRecord } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import type { OrchestratorDeps } from '../orchestrator-deps.ts';
import type { RunState } from '../run-state.ts';

/** The slice of a zod schema the validation needs. */
export interface OutputSchema<O> {
  safeParse(v: unknown): { success: true; data: O } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

/**
 * One node of the decision graph, shared by both runners: the graph runner awaits `run`, the
 * fast runner calls `runSync`; everything else (input, the trace summary of the input, what the
 * node writes into the state) is the same code. A node that does not apply to a state returns
 * null from `input` and leaves no record (memory off; the risk gate on a hold).
 */
export interface NodeDef<I, O> {
  readonly node: GraphNode;
  readonly schema: OutputSchema<O>;
  input(state: RunState, deps: OrchestratorDeps): I | null;
  version(deps: OrchestratorDeps): string;
  /** the input as it goes into the trace: large inputs summarised, earlier outputs by reference */
  summarise(input: I, state: RunState): unknown;
  run(input: I, deps: OrchestratorDeps, state: RunState): Promise<O>;
  runSync(input: I, deps: OrchestratorDeps, state: RunState): O;
  /** what the node sets in the state besides its record */
  patch(output: O, state: RunState, deps: OrchestratorDeps): Partial<RunState>;
}

/** A node's effect on the state: its fields and its trace record. */
export interface NodeStep {
  readonly patch: Partial<RunState>;
  readonly record: NodeRecord;
}

/** Throws AppError VALIDATION naming the node and every issue: an invalid node output is a bug, never passed on. */
export function validateOutput<O>(node: GraphNode, schema: OutputSchema<O>, output: O): void {
  const r = schema.safeParse(output);
  if (r.success) return;
  const issues = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new AppError('VALIDATION', `the ${node} node produced an invalid output: ${issues}`, {
    hint: 'this is a bug in the agent or policy behind that node; the decision was not recorded',
    details: { node },
  });
}

function step<I, O>(def: NodeDef<I, O>, input: I, output: O, state: RunState, deps: OrchestratorDeps, t0: number, validate: boolean): NodeStep {
  const patch = def.patch(output, state, deps);
  const durationMs = Math.max(0, performance.now() - t0);
  if (validate) validateOutput(def.node, def.schema, output);
  // the discriminated union pairs node with its output type; the cast states that pairing
  const record = { node: def.node, version: def.version(deps), durationMs, input: def.summarise(input, state), output } as NodeRecord;
  return { patch, record };
}

export function runNodeSync<I, O>(def: NodeDef<I, O>, state: RunState, deps: OrchestratorDeps, validate: boolean): NodeStep | null {
  const input = def.input(state, deps);
  if (input === null) return null;
  const t0 = performance.now();
  return step(def, input, def.runSync(input, deps, state), state, deps, t0, validate);
}

export async function runNodeAsync<I, O>(def: NodeDef<I, O>, state: RunState, deps: OrchestratorDeps, validate: boolean): Promise<NodeStep | null> {
  const input = def.input(state, deps);
  if (input === null) return null;
  const t0 = performance.now();
  return step(def, input, await def.run(input, deps, state), state, deps, t0, validate);
}

/** For node functions that need a state field an earlier node must have set. */
export function required<T>(value: T | null, what: string, node: GraphNode): T {
  if (value === null) throw new AppError('INTERNAL', `the ${node} node ran without ${what}: the nodes ran out of order`);
  return value;
}

export function syncOnly<I, O>(policy: { runSync?(input: I, ctx: { decisionId: string }): O; version: string }, node: GraphNode): (input: I, ctx: { decisionId: string }) => O {
  const f = policy.runSync;
  if (!f) throw new AppError('CONFIG', `the ${node} policy ${policy.version} has no synchronous path, so the fast runner cannot call it`, { hint: 'use the graph runner (or fastRunner.decide, which awaits) for LLM policies' });
  return f;
}
