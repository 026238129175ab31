import { z } from 'zod';
import { ExchangeIdSchema, SymbolSchema, TimeframeSchema, epochMs, id, nonNegative, schemaVersion } from './common.ts';
import { AnalysisReportSchema, MemoryRecallSchema, SignalProposalSchema, TradeDecisionSchema } from './agents.ts';
import { OrderRequestSchema, RiskVerdictSchema, type VerdictStatus } from './risk.ts';

export const GRAPH_NODES = ['analysis', 'recall', 'signal', 'decision', 'risk'] as const;
export const GraphNodeSchema = z.enum(GRAPH_NODES);
export type GraphNode = z.infer<typeof GraphNodeSchema>;

const nodeMeta = {
  version: z.string().min(1),
  /** wall-clock duration; excluded when traces are compared or written by a backtest */
  durationMs: nonNegative(),
  /** the node's input as JSON (large inputs such as candle windows are summarised) */
  input: z.unknown(),
};

/** One node's run: its input, typed output, version and timing. */
export const NodeRecordSchema = z.discriminatedUnion('node', [
  z.object({ node: z.literal('analysis'), ...nodeMeta, output: AnalysisReportSchema }).strict(),
  z.object({ node: z.literal('recall'), ...nodeMeta, output: MemoryRecallSchema }).strict(),
  z.object({ node: z.literal('signal'), ...nodeMeta, output: SignalProposalSchema }).strict(),
  z.object({ node: z.literal('decision'), ...nodeMeta, output: TradeDecisionSchema }).strict(),
  z.object({ node: z.literal('risk'), ...nodeMeta, output: RiskVerdictSchema }).strict(),
]);
export type NodeRecord = z.infer<typeof NodeRecordSchema>;

export const TraceOutcomeSchema = z.enum([
  /** no trade proposed */
  'hold',
  /** approved or resized; an order request went to the outbox */
  'order',
  'rejected',
  /** waiting for a risk officer */
  'pending_approval',
  /** a risk officer approved a pending order; an order request went to the outbox */
  'approved_by_officer',
  'denied',
  /** a pending approval ran out of time */
  'expired',
]);
export type TraceOutcome = z.infer<typeof TraceOutcomeSchema>;

/** Verdict statuses each outcome may follow; null = not constrained (a hold may or may not have been risk-checked). */
const VERDICT_STATUSES_FOR_OUTCOME: { readonly [O in TraceOutcome]: readonly VerdictStatus[] | null } = {
  hold: null,
  order: ['approved', 'resized'],
  rejected: ['rejected'],
  pending_approval: ['pending_approval'],
  approved_by_officer: ['pending_approval'],
  denied: ['pending_approval'],
  expired: ['pending_approval'],
};

/** Everything needed to explain one decision later. */
export const DecisionTraceSchema = z
  .object({
    schemaVersion,
    /** epoch ms close time of the bar decided on */
    asOf: epochMs(),
    traceId: id(),
    decisionId: id(),
    runner: z.enum(['graph', 'fast']),
    /** 'live' or the backtest run id */
    runScope: z.string().min(1),
    exchange: ExchangeIdSchema,
    symbol: SymbolSchema,
    timeframe: TimeframeSchema,
    nodes: z.array(NodeRecordSchema),
    recalledMemoryIds: z.array(id()),
    verdict: RiskVerdictSchema.nullable(),
    orderRequest: OrderRequestSchema.nullable(),
    outcome: TraceOutcomeSchema,
    /** who resolved a pending approval and why (null otherwise) */
    resolution: z
      .object({ by: z.string().min(1), reason: z.string().min(1), at: epochMs() })
      .strict()
      .nullable(),
  })
  .strict()
  .superRefine((t, ctx) => {
    const hasOrder = t.outcome === 'order' || t.outcome === 'approved_by_officer';
    if (hasOrder !== (t.orderRequest !== null))
      ctx.addIssue({ code: 'custom', path: ['orderRequest'], message: `outcome ${t.outcome} ${hasOrder ? 'needs' : 'cannot have'} an orderRequest` });
    if (t.outcome !== 'hold' && t.verdict === null)
      ctx.addIssue({ code: 'custom', path: ['verdict'], message: `outcome ${t.outcome} needs the risk verdict` });
    // A trace explains one decision: every part of it must be about that decision, or it explains nothing.
    if (t.verdict !== null && t.verdict.decisionId !== t.decisionId)
      ctx.addIssue({ code: 'custom', path: ['verdict', 'decisionId'], message: 'verdict.decisionId must equal the trace decisionId' });
    if (t.orderRequest !== null && t.orderRequest.decisionId !== t.decisionId)
      ctx.addIssue({ code: 'custom', path: ['orderRequest', 'decisionId'], message: 'orderRequest.decisionId must equal the trace decisionId' });
    t.nodes.forEach((n, i) => {
      if (n.node === 'decision' && n.output.decisionId !== t.decisionId)
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'output', 'decisionId'], message: 'the decision node output must carry the trace decisionId' });
    });
    // The outcome must agree with what the risk gate said (an 'order' outcome over a rejected verdict would hide a gate bypass).
    if (t.verdict !== null) {
      const allowed = VERDICT_STATUSES_FOR_OUTCOME[t.outcome];
      if (allowed !== null && !allowed.includes(t.verdict.status))
        ctx.addIssue({
          code: 'custom',
          path: ['outcome'],
          message: `outcome ${t.outcome} needs a verdict with status ${allowed.join(' or ')}, got ${t.verdict.status}`,
        });
    }
  });
export type DecisionTrace = z.infer<typeof DecisionTraceSchema>;
