import { analysisPolicy, decisionPolicy, signalPolicy, type AgentPolicy, type AnalysisInput, type DecisionInput, type SignalInput } from '@meridian/agents';
import type { AnalysisReport, MemoryRecall, MemoryScope, SignalProposal, Timeframe, TradeDecision } from '@meridian/contracts';
import { deterministicId, uuidv7, type Clock } from '@meridian/core';
import type { SigningKey } from '@meridian/risk';
import type { DecisionRecorder } from './decision-recorder.ts';

/**
 * The part of @meridian/memory's MemoryStore the orchestrator needs (structurally the same
 * `recall`), so any store — PgMemoryStore live, InProcessMemoryStore in backtests — plugs in.
 * `recallSync` is optional: when present the fast runner stays synchronous with memory on.
 */
export interface MemoryRecaller {
  recall(vector: ArrayLike<number>, options: MemoryRecallOptions): Promise<MemoryRecall>;
  recallSync?(vector: ArrayLike<number>, options: MemoryRecallOptions): MemoryRecall;
}

/** Same fields as @meridian/memory's RecallOptions. */
export interface MemoryRecallOptions {
  readonly asOf: number;
  readonly k: number;
  readonly scope: MemoryScope;
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly featureVersion: number;
  readonly horizonBars?: number;
}

export interface MemorySettings {
  readonly recaller: MemoryRecaller;
  readonly k: number;
  readonly scope: MemoryScope;
  readonly horizonBars?: number;
}

/** A policy the fast runner can call without awaiting (every deterministic agent policy has one). */
export type SyncPolicy<I, O> = AgentPolicy<I, O> & { runSync?(input: I, ctx: { decisionId: string }): O };

/** Ids the nodes make. Live: fresh uuidv7s; backtests: derived from the decision id so reruns are byte-identical. */
export interface IdFactory {
  traceId(decisionId: string): string;
  /** the client order id; `attempt` is 'auto' for the gate's own approval, 'officer' for an approval after pending */
  orderId(decisionId: string, attempt: 'auto' | 'officer'): string;
}

export const liveIds = (clock: Clock): IdFactory => ({
  traceId: () => uuidv7(clock.now()),
  orderId: () => uuidv7(clock.now()),
});

export const deterministicIds: IdFactory = {
  // a bijection of the decision id (unique whenever decision ids are); a SHA-256 per bar cost more than the analysis agent
  traceId: (d) => invertHex(d, 8),
  orderId: (d, attempt) => deterministicId(`order:${attempt}:${d}`),
};

/**
 * The id with its first `n` (≤ 8) hex digits bit-inverted (d ↦ 15 − d): same shape, never equal to the input.
 * Inverting every digit of an n-digit hex number is subtracting it from 16ⁿ − 1, one parse and one format.
 */
export function invertHex(id: string, n: number): string {
  const head = id.slice(0, n);
  const x = Number.parseInt(head, 16);
  if (n > 8 || head.length !== n || !/^[0-9a-f]+$/.test(head)) throw new RangeError(`invertHex: "${head}" is not ${n} lowercase hex digits`);
  return ((16 ** n - 1 - x).toString(16).padStart(n, '0')) + id.slice(n);
}

/** What a pending_approval verdict does. */
export type PendingApprovalMode =
  /** live: record it and interrupt the graph until a risk officer approves or denies (or it expires) */
  | 'wait'
  /** backtests: no officer exists, so the order is denied at once (outcome 'denied', resolved by BACKTEST_RESOLVER) and counted */
  | 'reject';

/** Who the backtest's automatic denial is recorded as. */
export const BACKTEST_RESOLVER = 'backtest';

export interface OrchestratorDeps {
  readonly agents: {
    readonly analysis: SyncPolicy<AnalysisInput, AnalysisReport>;
    readonly signal: SyncPolicy<SignalInput, SignalProposal>;
    readonly decision: SyncPolicy<DecisionInput, TradeDecision>;
  };
  /** null: memory off — the recall node does not run and the signal agent gets `recall: null` */
  readonly memory: MemorySettings | null;
  /** the risk gate's "now" (a SimulatedClock at the bar's close in backtests) */
  readonly clock: Clock;
  readonly ids: IdFactory;
  readonly signing: SigningKey;
  /** a signed approval is valid this long (MERIDIAN_APPROVAL_TTL_MS) */
  readonly approvalTtlMs: number;
  /** a pending approval can be granted this long (MERIDIAN_PENDING_APPROVAL_TTL_MS) */
  readonly pendingApprovalTtlMs: number;
  readonly pendingApproval: PendingApprovalMode;
  /** where traces, outbox rows and pending approvals go; null: nowhere (backtests that only want the traces) */
  readonly recorder: DecisionRecorder | null;
}

/** A fixed, well-known key for backtests and tests: never accepted by a live executor (its key id says so). */
export const BACKTEST_SIGNING_KEY: SigningKey = { keyId: 'backtest', key: 'backtest-signing-key-not-for-live-orders-0000' };

export const DETERMINISTIC_AGENTS: OrchestratorDeps['agents'] = { analysis: analysisPolicy, signal: signalPolicy, decision: decisionPolicy };

/** Defaults for a backtest: deterministic agents and ids, the test key, pending approvals rejected, no memory, no recorder. */
export function backtestDeps(clock: Clock, overrides: Partial<OrchestratorDeps> = {}): OrchestratorDeps {
  return {
    agents: DETERMINISTIC_AGENTS,
    memory: null,
    clock,
    ids: deterministicIds,
    signing: BACKTEST_SIGNING_KEY,
    approvalTtlMs: 60_000,
    pendingApprovalTtlMs: 15 * 60_000,
    pendingApproval: 'reject',
    recorder: null,
    ...overrides,
  };
}
