import type { AnalysisReport, DecisionTrace, MemoryRecall, NodeRecord, OrderRequest, RiskVerdict, SignalProposal, TradeDecision } from '@meridian/contracts';
import { z } from 'zod';
import type { DecisionContext } from './decision-context.ts';

/**
 * The state both runners carry through the nodes. Every field a node sets is a contracts
 * message (validated between nodes); `nodes` collects each node's record for the trace.
 */
export interface RunState {
  context: DecisionContext;
  analysis: AnalysisReport | null;
  recall: MemoryRecall | null;
  signal: SignalProposal | null;
  decision: TradeDecision | null;
  verdict: RiskVerdict | null;
  orderRequest: OrderRequest | null;
  nodes: NodeRecord[];
  /** the trace as recorded (set by the record step; a redelivered bar gets the stored one) */
  trace: DecisionTrace | null;
  /** false when the bar already had a decision and this run's trace was not stored */
  inserted: boolean | null;
}

export function initialState(context: DecisionContext): RunState {
  return { context, analysis: null, recall: null, signal: null, decision: null, verdict: null, orderRequest: null, nodes: [], trace: null, inserted: null };
}

/** What a risk officer (or the expiry sweep) answers to a pending approval; the graph resumes with it. */
export const ApprovalAnswerSchema = z
  .object({
    decision: z.enum(['approve', 'deny', 'expire']),
    by: z.string().trim().min(1, 'who resolves the approval must be named (--author)'),
    reason: z.string().trim().min(1, 'a reason is required (--reason)'),
    /** epoch ms of the resolution */
    at: z.number().int().nonnegative(),
  })
  .strict();
export type ApprovalAnswer = z.infer<typeof ApprovalAnswerSchema>;
