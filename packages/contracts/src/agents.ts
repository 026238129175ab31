import { z } from 'zod';
import {
  ExchangeIdSchema,
  OrderTypeSchema,
  PolicyKindSchema,
  SideSchema,
  SymbolSchema,
  TimeframeSchema,
  epochMs,
  finite,
  id,
  nonNegative,
  positive,
  schemaVersion,
  unitInterval,
} from './common.ts';

/** Identifies which situation an agent message is about. */
const subject = {
  exchange: ExchangeIdSchema,
  symbol: SymbolSchema,
  timeframe: TimeframeSchema,
  /** close time of the bar decided on (epoch ms); nothing after it may be used */
  asOf: epochMs(),
};

/** Which policy produced a message, and why it fell back if it did. */
const provenance = {
  agentVersion: z.string().min(1),
  policy: PolicyKindSchema,
  /** set when an LLM policy failed (validation, timeout, budget) and the deterministic one answered */
  fallbackReason: z.string().nullable(),
};

export const TrendSchema = z.enum(['up', 'down', 'sideways']);
export const RegimeSchema = z.enum(['trending', 'ranging', 'volatile']);
export const VolatilityStateSchema = z.enum(['low', 'normal', 'high']);

export const AnalysisReportSchema = z
  .object({
    schemaVersion,
    ...subject,
    ...provenance,
    close: positive(),
    trend: TrendSchema,
    regime: RegimeSchema,
    volatilityState: VolatilityStateSchema,
    /** -1 (strong down) … +1 (strong up) */
    momentum: finite().gte(-1, 'must be between -1 and 1').lte(1, 'must be between -1 and 1'),
    /** indicator values at asOf, by name (rsi14, atr14, adx14, …) */
    indicators: z.record(z.string(), finite()),
    keyLevels: z.object({ support: z.array(positive()), resistance: z.array(positive()) }).strict(),
    featureVersion: z.number().int().positive(),
    features: z.array(finite()).min(1),
    summary: z.string().min(1).max(2000),
  })
  .strict();
export type AnalysisReport = z.infer<typeof AnalysisReportSchema>;

export const MemoryScopeSchema = z.enum(['same-symbol', 'all-symbols']);
export type MemoryScope = z.infer<typeof MemoryScopeSchema>;

export const RecalledMemorySchema = z
  .object({
    memoryId: id(),
    exchange: ExchangeIdSchema,
    symbol: SymbolSchema,
    timeframe: TimeframeSchema,
    ts: epochMs(),
    distance: nonNegative(),
    horizonBars: z.number().int().positive(),
    forwardReturn: finite(),
    /** maximum favourable / adverse excursion over the horizon, as fractions of the entry close */
    mfe: finite(),
    mae: finite(),
    resolvedAt: epochMs(),
  })
  .strict();
export type RecalledMemory = z.infer<typeof RecalledMemorySchema>;

export const MemoryStatsSchema = z
  .object({
    n: z.number().int().nonnegative(),
    meanReturn: finite(),
    medianReturn: finite(),
    /** share of neighbours with forwardReturn > 0 */
    hitRate: unitInterval(),
    /** standard deviation of forward returns */
    dispersion: nonNegative(),
  })
  .strict();
export type MemoryStats = z.infer<typeof MemoryStatsSchema>;

export const MemoryRecallSchema = z
  .object({
    schemaVersion,
    ...subject,
    featureVersion: z.number().int().positive(),
    scope: MemoryScopeSchema,
    k: z.number().int().positive(),
    neighbours: z.array(RecalledMemorySchema),
    stats: MemoryStatsSchema,
  })
  .strict()
  .superRefine((r, ctx) => {
    r.neighbours.forEach((m, i) => {
      if (m.resolvedAt > r.asOf)
        ctx.addIssue({ code: 'custom', path: ['neighbours', i, 'resolvedAt'], message: 'a recalled memory must be resolved by asOf (no look-ahead)' });
    });
    if (r.neighbours.length > r.k) ctx.addIssue({ code: 'custom', path: ['neighbours'], message: 'more neighbours than k' });
  });
export type MemoryRecall = z.infer<typeof MemoryRecallSchema>;

export const DirectionSchema = z.enum(['long', 'short', 'flat']);
export type Direction = z.infer<typeof DirectionSchema>;

export const EvidenceSchema = z
  .object({
    indicators: z.array(z.object({ name: z.string().min(1), value: finite(), reading: z.string().min(1) }).strict()),
    memoryIds: z.array(id()),
    memoryStats: MemoryStatsSchema.nullable(),
  })
  .strict();

/** SignalProposal without its cross-field rules (for derived shapes: `.omit` cannot drop fields of a refined schema). */
export const SignalProposalObjectSchema = z
  .object({
    schemaVersion,
    ...subject,
    ...provenance,
    direction: DirectionSchema,
    strength: unitInterval(),
    /** calibrated probability that the move reaches target before stop (see packages/agents/README.md) */
    confidence: unitInterval(),
    entry: positive().nullable(),
    stop: positive().nullable(),
    target: positive().nullable(),
    horizonBars: z.number().int().positive(),
    evidence: EvidenceSchema,
    rationale: z.string().min(1).max(2000),
  })
  .strict();

/** SignalProposal's cross-field rules: a long or short needs entry, stop and target on the right sides. */
export function refineSignal(s: Pick<z.infer<typeof SignalProposalObjectSchema>, 'direction' | 'entry' | 'stop' | 'target'>, ctx: z.RefinementCtx): void {
    if (s.direction === 'flat') return;
    if (s.entry === null || s.stop === null || s.target === null) {
      ctx.addIssue({ code: 'custom', path: ['entry'], message: 'a long or short signal needs entry, stop and target' });
      return;
    }
    const bad = s.direction === 'long' ? !(s.stop < s.entry && s.target > s.entry) : !(s.stop > s.entry && s.target < s.entry);
    if (bad)
      ctx.addIssue({
        code: 'custom',
        path: ['stop'],
        message: s.direction === 'long' ? 'a long needs stop < entry < target' : 'a short needs target < entry < stop',
      });
}

export const SignalProposalSchema = SignalProposalObjectSchema.superRefine(refineSignal);
export type SignalProposal = z.infer<typeof SignalProposalSchema>;

export const DecisionActionSchema = z.enum(['open', 'add', 'reduce', 'close', 'reverse', 'hold']);
export type DecisionAction = z.infer<typeof DecisionActionSchema>;

/** TradeDecision without its cross-field rules (for derived shapes). */
export const TradeDecisionObjectSchema = z
  .object({
    schemaVersion,
    decisionId: id(),
    ...subject,
    ...provenance,
    action: DecisionActionSchema,
    /** null only for hold */
    side: SideSchema.nullable(),
    /** base-currency quantity; 0 only for hold */
    quantity: nonNegative(),
    orderType: OrderTypeSchema,
    limitPrice: positive().nullable(),
    /** protective stop for the resulting position (null when none) */
    stopPrice: positive().nullable(),
    targetPrice: positive().nullable(),
    /** the price the decision was made at (last close) */
    referencePrice: positive(),
    confidence: unitInterval(),
    rationale: z.string().min(1).max(2000),
  })
  .strict();

/** TradeDecision's cross-field rules: hold has no side and no quantity, a trade both; limit orders need a price. */
export function refineDecision(
  d: Pick<z.infer<typeof TradeDecisionObjectSchema>, 'action' | 'side' | 'quantity' | 'orderType' | 'limitPrice'>,
  ctx: z.RefinementCtx,
): void {
    if (d.action === 'hold') {
      if (d.side !== null || d.quantity !== 0)
        ctx.addIssue({ code: 'custom', path: ['action'], message: 'hold has side null and quantity 0' });
    } else {
      if (d.side === null) ctx.addIssue({ code: 'custom', path: ['side'], message: `${d.action} needs a side` });
      if (!(d.quantity > 0)) ctx.addIssue({ code: 'custom', path: ['quantity'], message: `${d.action} needs a quantity > 0` });
    }
    if (d.orderType === 'limit' && d.limitPrice === null)
      ctx.addIssue({ code: 'custom', path: ['limitPrice'], message: 'a limit order needs limitPrice' });
    if (d.orderType === 'market' && d.limitPrice !== null)
      ctx.addIssue({ code: 'custom', path: ['limitPrice'], message: 'a market order has no limitPrice' });
}

export const TradeDecisionSchema = TradeDecisionObjectSchema.superRefine(refineDecision);
export type TradeDecision = z.infer<typeof TradeDecisionSchema>;
