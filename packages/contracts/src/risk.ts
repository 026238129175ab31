import { z } from 'zod';
import {
  ExchangeIdSchema,
  OrderTypeSchema,
  SideSchema,
  SymbolSchema,
  epochMs,
  finite,
  id,
  nonNegative,
  positive,
  schemaVersion,
} from './common.ts';

// Native bounds (not refine) so the JSON Schema export shows them too.
const pct = (what: string) =>
  finite().gt(0, `${what} must be a percentage in (0, 100]`).lte(100, `${what} must be a percentage in (0, 100]`);
const amount = () => finite().gte(0, 'must be ≥ 0 (quote currency)');
const count = () => z.number().int('must be a whole number').min(0, 'must be ≥ 0');

/**
 * Risk limits, as a risk officer writes them. Field names are a public contract
 * (external tools depend on them). Any limit may be omitted to mean "no limit".
 * Notional amounts are in the account's quote currency. Cross-field consistency
 * (e.g. maxOrderNotional ≤ maxPositionNotional) is checked by `validateRiskLimits` in packages/risk,
 * which lists every problem at once.
 */
export const RiskLimitsSchema = z
  .object({
    schemaVersion: schemaVersion.default(1),
    /** empty = all symbols allowed */
    allowedSymbols: z.array(SymbolSchema).default([]),
    maxOrderNotional: amount().optional(),
    /** per symbol */
    maxPositionNotional: amount().optional(),
    maxGrossExposure: amount().optional(),
    maxNetExposure: amount().optional(),
    maxLeverage: positive().optional(),
    maxOpenPositions: count().optional(),
    /** loss at the stop as % of equity */
    riskPerTradePct: pct('riskPerTradePct').optional(),
    requireStopLoss: z.boolean().default(false),
    minConfidence: finite()
      .gte(0, 'minConfidence must be between 0 and 1')
      .lte(1, 'minConfidence must be between 0 and 1')
      .optional(),
    maxOrdersPerMinute: count().optional(),
    /** max distance of a limit price from the last price, in % */
    priceCollarPct: pct('priceCollarPct').optional(),
    /** market data older than this is stale */
    maxDataAgeMs: z.number().int('must be a whole number of ms').positive('must be > 0').optional(),
    maxDailyLossPct: pct('maxDailyLossPct').optional(),
    maxDrawdownPct: pct('maxDrawdownPct').optional(),
    /** orders above this notional need a human's approval */
    requireApprovalAboveNotional: amount().optional(),
  })
  .strict();
export type RiskLimits = z.infer<typeof RiskLimitsSchema>;
export type RiskLimitsInput = z.input<typeof RiskLimitsSchema>;

export const RISK_CHECKS = [
  'validity',
  'tradingState',
  'allowedSymbols',
  'stopLoss',
  'minConfidence',
  'dataAge',
  'priceCollar',
  'orderRate',
  'dailyLoss',
  'drawdown',
  'maxOrderNotional',
  'maxPositionNotional',
  'maxGrossExposure',
  'maxNetExposure',
  'maxLeverage',
  'maxOpenPositions',
  'riskPerTrade',
  'minOrderSize',
  'balance',
  'approvalThreshold',
] as const;
export const RiskCheckNameSchema = z.enum(RISK_CHECKS);
export type RiskCheckName = z.infer<typeof RiskCheckNameSchema>;

export const RiskCheckSchema = z
  .object({
    check: RiskCheckNameSchema,
    passed: z.boolean(),
    /** the configured limit (number or text such as a symbol list); null when the check has no numeric limit */
    limit: z.union([finite(), z.string()]).nullable(),
    /** the value measured for this order */
    actual: z.union([finite(), z.string()]).nullable(),
    message: z.string().min(1),
  })
  .strict();
export type RiskCheck = z.infer<typeof RiskCheckSchema>;

export const TradingStateNameSchema = z.enum(['ACTIVE', 'REDUCING', 'HALTED']);
export type TradingStateName = z.infer<typeof TradingStateNameSchema>;

export const TradingStateSchema = z
  .object({
    schemaVersion,
    state: TradingStateNameSchema,
    reason: z.string().min(1),
    actor: z.string().min(1),
    since: epochMs(),
    /** automatic end of a halt (next UTC day after a daily-loss breach); null = until a person resumes */
    until: epochMs().nullable(),
  })
  .strict();
export type TradingState = z.infer<typeof TradingStateSchema>;

export const VerdictStatusSchema = z.enum(['approved', 'resized', 'rejected', 'pending_approval']);
export type VerdictStatus = z.infer<typeof VerdictStatusSchema>;

/** RiskVerdict without its cross-field rules (for derived shapes). */
export const RiskVerdictObjectSchema = z
  .object({
    schemaVersion,
    decisionId: id(),
    status: VerdictStatusSchema,
    checks: z.array(RiskCheckSchema),
    requestedQuantity: nonNegative(),
    approvedQuantity: nonNegative(),
    /** true when the order only reduces existing exposure */
    reducesExposure: z.boolean(),
    limitsVersion: z.number().int().nonnegative(),
    tradingState: TradingStateNameSchema,
    evaluatedAt: epochMs(),
    /** a one-line reason per failed check, in check order */
    reasons: z.array(z.string()),
  })
  .strict();

/** RiskVerdict's cross-field rules: resizing never increases the quantity, and the quantity agrees with the status. */
export function refineVerdict(v: Pick<z.infer<typeof RiskVerdictObjectSchema>, 'status' | 'requestedQuantity' | 'approvedQuantity'>, ctx: z.RefinementCtx): void {
    if (v.approvedQuantity > v.requestedQuantity)
      ctx.addIssue({ code: 'custom', path: ['approvedQuantity'], message: 'resizing can never increase quantity' });
    if (v.status === 'rejected' && v.approvedQuantity !== 0)
      ctx.addIssue({ code: 'custom', path: ['approvedQuantity'], message: 'a rejected order has approvedQuantity 0' });
    if ((v.status === 'approved' || v.status === 'resized') && !(v.approvedQuantity > 0))
      ctx.addIssue({ code: 'custom', path: ['approvedQuantity'], message: `${v.status} needs approvedQuantity > 0` });
}

export const RiskVerdictSchema = RiskVerdictObjectSchema.superRefine(refineVerdict);
export type RiskVerdict = z.infer<typeof RiskVerdictSchema>;

/** HMAC-SHA256 over canonicalJson(approvalPayload(order)); see packages/risk approval-signing. */
export const ApprovalSchema = z
  .object({
    keyId: z.string().min(1),
    limitsVersion: z.number().int().nonnegative(),
    expiresAt: epochMs(),
    /** lowercase hex HMAC-SHA256 */
    signature: z.string().regex(/^[0-9a-f]{64}$/, 'must be a 64-character hex HMAC-SHA256'),
  })
  .strict();
export type Approval = z.infer<typeof ApprovalSchema>;

/** An order the risk gate approved, on its way to the executor. `orderId` is the client order id. */
/** OrderRequest without its cross-field rules (for derived shapes). */
export const OrderRequestObjectSchema = z
  .object({
    schemaVersion,
    orderId: id(),
    decisionId: id(),
    exchange: ExchangeIdSchema,
    symbol: SymbolSchema,
    side: SideSchema,
    type: OrderTypeSchema,
    quantity: positive(),
    limitPrice: positive().nullable(),
    /** protective stop the position manager keeps after the fill (not an exchange order) */
    stopPrice: positive().nullable(),
    reduceOnly: z.boolean(),
    createdAt: epochMs(),
    approval: ApprovalSchema,
  })
  .strict();

/** OrderRequest's cross-field rule: a limit order has a limit price, a market order none. */
export function refineOrderRequest(o: Pick<z.infer<typeof OrderRequestObjectSchema>, 'type' | 'limitPrice'>, ctx: z.RefinementCtx): void {
    if (o.type === 'limit' && o.limitPrice === null)
      ctx.addIssue({ code: 'custom', path: ['limitPrice'], message: 'a limit order needs limitPrice' });
    if (o.type === 'market' && o.limitPrice !== null)
      ctx.addIssue({ code: 'custom', path: ['limitPrice'], message: 'a market order has no limitPrice' });
}

export const OrderRequestSchema = OrderRequestObjectSchema.superRefine(refineOrderRequest);
export type OrderRequest = z.infer<typeof OrderRequestSchema>;
/** The order fields before signing. */
export type UnsignedOrderRequest = Omit<OrderRequest, 'approval'>;
