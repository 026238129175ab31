import { z } from 'zod';
import { CandleSchema, MarketSnapshotSchema, MarketInfoSchema } from './market.ts';
import { AnalysisReportSchema, MemoryRecallSchema, SignalProposalSchema, TradeDecisionSchema } from './agents.ts';
import { RiskLimitsSchema, RiskVerdictSchema, OrderRequestSchema, ApprovalSchema, TradingStateSchema } from './risk.ts';
import { ExecutionReportSchema, OrderSchema, FillSchema, PositionSchema, PortfolioSnapshotSchema } from './execution.ts';
import { DecisionTraceSchema } from './trace.ts';
import { DecisionLineSchema } from './decision-line.ts';

/** Every boundary message, by name. */
export const MESSAGE_SCHEMAS = {
  Candle: CandleSchema,
  MarketInfo: MarketInfoSchema,
  MarketSnapshot: MarketSnapshotSchema,
  AnalysisReport: AnalysisReportSchema,
  MemoryRecall: MemoryRecallSchema,
  SignalProposal: SignalProposalSchema,
  TradeDecision: TradeDecisionSchema,
  RiskLimits: RiskLimitsSchema,
  RiskVerdict: RiskVerdictSchema,
  TradingState: TradingStateSchema,
  Approval: ApprovalSchema,
  OrderRequest: OrderRequestSchema,
  ExecutionReport: ExecutionReportSchema,
  Order: OrderSchema,
  Fill: FillSchema,
  Position: PositionSchema,
  PortfolioSnapshot: PortfolioSnapshotSchema,
  DecisionTrace: DecisionTraceSchema,
  DecisionLine: DecisionLineSchema,
} as const;
export type MessageName = keyof typeof MESSAGE_SCHEMAS;

/**
 * JSON Schema (draft 2020-12) for a message, for API consumers. Refinements that JSON
 * Schema cannot express (finite, cross-field rules) are enforced by the zod schema only.
 */
export function jsonSchemaOf(name: MessageName): Record<string, unknown> {
  const js = z.toJSONSchema(MESSAGE_SCHEMAS[name], { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $id: `https://meridian.local/schemas/${name}.json`, title: name, ...js };
}

export function allJsonSchemas(): Record<MessageName, Record<string, unknown>> {
  const out = {} as Record<MessageName, Record<string, unknown>>;
  for (const name of Object.keys(MESSAGE_SCHEMAS) as MessageName[]) out[name] = jsonSchemaOf(name);
  return out;
}
