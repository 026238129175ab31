import { z } from 'zod';
import { ExchangeIdSchema, SymbolSchema, TimeframeSchema, epochMs, id, nonNegative, schemaVersion } from './common.ts';
import { AnalysisReportSchema, EvidenceSchema, MemoryScopeSchema, MemoryStatsSchema, SignalProposalObjectSchema, TradeDecisionObjectSchema, refineDecision, refineSignal } from './agents.ts';
import { OrderRequestObjectSchema, RiskVerdictObjectSchema, refineOrderRequest, refineVerdict } from './risk.ts';
import { TraceOutcomeSchema, type DecisionTrace } from './trace.ts';

/** What every agent message repeats about its subject; a decision line states it once. */
const SUBJECT_FIELDS = { schemaVersion: true, exchange: true, symbol: true, timeframe: true, asOf: true } as const;

/**
 * One line of a backtest's decisions.jsonl: the DecisionTrace of one graph run, in the compact form a
 * year of minutes needs (docs/backtest.md, "decisions.jsonl"). Everything a decision is explained by is
 * here — every agent's output, the recalled memory ids, the risk verdict, the order request — stated once:
 *
 * - `asOf` first; no wall-clock timings (timing.json has them in aggregate) and no `runner` (both runners
 *   write the same bytes);
 * - the agent messages without the subject fields they share with the line (`schemaVersion`, `exchange`,
 *   `symbol`, `timeframe`, `asOf`; the decision also without `decisionId`);
 * - the verdict once (a DecisionTrace holds it as the risk node's output and as `verdict`), without its
 *   `decisionId`; the order request without the fields the line already states;
 * - the recall as memory ids with distances (in neighbour order) and the statistics the signal agent saw; the
 *   signal's evidence without its memory ids and statistics when they are exactly the recall's;
 * - node inputs left out: they are what the run's data holds at `asOf` (the candle window, the portfolio in
 *   equity.csv and trades.csv, the limits file), so a line stays a few hundred bytes of explanation
 *   instead of kilobytes of repeated state; `traceId` and `runScope` are left out (the run directory is the scope).
 */
export const DecisionLineSchema = z
  .object({
    /** close time of the bar decided on (epoch ms) */
    asOf: epochMs(),
    schemaVersion,
    decisionId: id(),
    exchange: ExchangeIdSchema,
    symbol: SymbolSchema,
    timeframe: TimeframeSchema,
    outcome: TraceOutcomeSchema,
    analysis: AnalysisReportSchema.omit(SUBJECT_FIELDS),
    /** null when memory is off */
    recall: z
      .object({
        scope: MemoryScopeSchema,
        k: z.number().int().positive(),
        memoryIds: z.array(id()),
        distances: z.array(nonNegative()),
        stats: MemoryStatsSchema,
      })
      .strict()
      .nullable(),
    signal: SignalProposalObjectSchema.omit(SUBJECT_FIELDS)
      .extend({
        /** without memoryIds and memoryStats when they are the recall's (every policy cites all it recalled) */
        evidence: EvidenceSchema.partial({ memoryIds: true, memoryStats: true }),
      })
      .superRefine(refineSignal),
    decision: TradeDecisionObjectSchema.omit({ ...SUBJECT_FIELDS, decisionId: true }).superRefine(refineDecision),
    /** null when the decision was a hold (the gate did not run) */
    verdict: RiskVerdictObjectSchema.omit({ schemaVersion: true, decisionId: true }).superRefine(refineVerdict).nullable(),
    orderRequest: OrderRequestObjectSchema.omit({ schemaVersion: true, decisionId: true, exchange: true, symbol: true }).superRefine(refineOrderRequest).nullable(),
    resolution: z.object({ by: z.string().min(1), reason: z.string().min(1), at: epochMs() }).strict().nullable(),
  })
  .strict()
  .superRefine((l, ctx) => {
    const e = l.signal.evidence;
    if ((e.memoryIds === undefined) !== (e.memoryStats === undefined))
      ctx.addIssue({ code: 'custom', path: ['signal', 'evidence'], message: 'memoryIds and memoryStats are left out together (then they are the recall\'s)' });
    if (e.memoryIds === undefined && l.recall === null)
      ctx.addIssue({ code: 'custom', path: ['signal', 'evidence', 'memoryIds'], message: 'memory evidence can only be left out when the line has the recall' });
    if (l.recall !== null && l.recall.memoryIds.length !== l.recall.distances.length)
      ctx.addIssue({ code: 'custom', path: ['recall', 'distances'], message: 'one distance per recalled memory id' });
    const hasOrder = l.outcome === 'order' || l.outcome === 'approved_by_officer';
    if (hasOrder !== (l.orderRequest !== null))
      ctx.addIssue({ code: 'custom', path: ['orderRequest'], message: `outcome ${l.outcome} ${hasOrder ? 'needs' : 'cannot have'} an orderRequest` });
    if (l.outcome !== 'hold' && l.verdict === null) ctx.addIssue({ code: 'custom', path: ['verdict'], message: `outcome ${l.outcome} needs the risk verdict` });
  });
export type DecisionLine = z.infer<typeof DecisionLineSchema>;

/** true when the evidence cites exactly the recalled memories, in order, with the recall's statistics */
function citesRecall(e: DecisionLine['signal']['evidence'], r: NonNullable<DecisionLine['recall']>): boolean {
  const ids = e.memoryIds;
  const st = e.memoryStats;
  if (ids === undefined || st === undefined || st === null || ids.length !== r.memoryIds.length) return false;
  for (let i = 0; i < ids.length; i++) if (ids[i] !== r.memoryIds[i]) return false;
  const a = r.stats;
  return st === a || (st.n === a.n && Object.is(st.meanReturn, a.meanReturn) && Object.is(st.medianReturn, a.medianReturn) && Object.is(st.hitRate, a.hitRate) && Object.is(st.dispersion, a.dispersion));
}

/**
 * The decision line of a trace. Fields are listed explicitly, in the schema's order, so the bytes of a line
 * depend only on the trace's content (and the same trace always gives the same line).
 */
export function decisionLineOf(t: DecisionTrace): DecisionLine {
  let analysis: DecisionLine['analysis'] | null = null;
  let recall: DecisionLine['recall'] = null;
  let signal: DecisionLine['signal'] | null = null;
  let decision: DecisionLine['decision'] | null = null;
  for (const n of t.nodes) {
    switch (n.node) {
      case 'analysis': {
        const a = n.output;
        analysis = {
          agentVersion: a.agentVersion,
          policy: a.policy,
          fallbackReason: a.fallbackReason,
          close: a.close,
          trend: a.trend,
          regime: a.regime,
          volatilityState: a.volatilityState,
          momentum: a.momentum,
          indicators: a.indicators,
          keyLevels: a.keyLevels,
          featureVersion: a.featureVersion,
          features: a.features,
          summary: a.summary,
        };
        break;
      }
      case 'recall': {
        const r = n.output;
        const memoryIds: string[] = [];
        const distances: number[] = [];
        for (const m of r.neighbours) {
          memoryIds.push(m.memoryId);
          distances.push(m.distance);
        }
        recall = { scope: r.scope, k: r.k, memoryIds, distances, stats: r.stats };
        break;
      }
      case 'signal': {
        const s = n.output;
        signal = {
          agentVersion: s.agentVersion,
          policy: s.policy,
          fallbackReason: s.fallbackReason,
          direction: s.direction,
          strength: s.strength,
          confidence: s.confidence,
          entry: s.entry,
          stop: s.stop,
          target: s.target,
          horizonBars: s.horizonBars,
          evidence: s.evidence,
          rationale: s.rationale,
        };
        break;
      }
      case 'decision': {
        const d = n.output;
        decision = {
          agentVersion: d.agentVersion,
          policy: d.policy,
          fallbackReason: d.fallbackReason,
          action: d.action,
          side: d.side,
          quantity: d.quantity,
          orderType: d.orderType,
          limitPrice: d.limitPrice,
          stopPrice: d.stopPrice,
          targetPrice: d.targetPrice,
          referencePrice: d.referencePrice,
          confidence: d.confidence,
          rationale: d.rationale,
        };
        break;
      }
      case 'risk':
        break;
    }
  }
  if (signal !== null && recall !== null && citesRecall(signal.evidence, recall)) signal.evidence = { indicators: signal.evidence.indicators };
  if (analysis === null || signal === null || decision === null)
    throw new Error(`the trace of decision ${t.decisionId} lacks the ${analysis === null ? 'analysis' : signal === null ? 'signal' : 'decision'} node`);
  const v = t.verdict;
  const o = t.orderRequest;
  return {
    asOf: t.asOf,
    schemaVersion: t.schemaVersion,
    decisionId: t.decisionId,
    exchange: t.exchange,
    symbol: t.symbol,
    timeframe: t.timeframe,
    outcome: t.outcome,
    analysis,
    recall,
    signal,
    decision,
    verdict:
      v === null
        ? null
        : {
            status: v.status,
            checks: v.checks,
            requestedQuantity: v.requestedQuantity,
            approvedQuantity: v.approvedQuantity,
            reducesExposure: v.reducesExposure,
            limitsVersion: v.limitsVersion,
            tradingState: v.tradingState,
            evaluatedAt: v.evaluatedAt,
            reasons: v.reasons,
          },
    orderRequest:
      o === null
        ? null
        : {
            orderId: o.orderId,
            side: o.side,
            type: o.type,
            quantity: o.quantity,
            limitPrice: o.limitPrice,
            stopPrice: o.stopPrice,
            reduceOnly: o.reduceOnly,
            createdAt: o.createdAt,
            approval: o.approval,
          },
    resolution: t.resolution,
  };
}
