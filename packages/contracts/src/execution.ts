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

export const ORDER_STATUSES = [
  'NEW',
  'SUBMITTING',
  'OPEN',
  'PARTIALLY_FILLED',
  'FILLED',
  'CANCELED',
  'REJECTED',
  'EXPIRED',
  'FAILED',
] as const;
export const OrderStatusSchema = z.enum(ORDER_STATUSES);
export type OrderStatus = z.infer<typeof OrderStatusSchema>;

export const TERMINAL_ORDER_STATUSES = ['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'FAILED'] as const satisfies readonly OrderStatus[];
export function isTerminalStatus(s: OrderStatus): boolean {
  return (TERMINAL_ORDER_STATUSES as readonly OrderStatus[]).includes(s);
}

export const OrderSchema = z
  .object({
    schemaVersion,
    /** generated before submission; sent as the exchange's client order id */
    orderId: id(),
    decisionId: id(),
    exchange: ExchangeIdSchema,
    symbol: SymbolSchema,
    side: SideSchema,
    type: OrderTypeSchema,
    quantity: positive(),
    limitPrice: positive().nullable(),
    status: OrderStatusSchema,
    statusReason: z.string().nullable(),
    exchangeOrderId: z.string().min(1).nullable(),
    filledQuantity: nonNegative(),
    avgFillPrice: positive().nullable(),
    fees: nonNegative(),
    createdAt: epochMs(),
    updatedAt: epochMs(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.filledQuantity > o.quantity * (1 + 1e-9))
      ctx.addIssue({ code: 'custom', path: ['filledQuantity'], message: 'filledQuantity exceeds quantity' });
    if (o.filledQuantity > 0 && o.avgFillPrice === null)
      ctx.addIssue({ code: 'custom', path: ['avgFillPrice'], message: 'a filled quantity needs avgFillPrice' });
  });
export type Order = z.infer<typeof OrderSchema>;

export const FillSchema = z
  .object({
    schemaVersion,
    /** the exchange's trade id (unique per exchange), or a deterministic id for paper fills */
    fillId: z.string().min(1),
    orderId: id(),
    exchange: ExchangeIdSchema,
    symbol: SymbolSchema,
    side: SideSchema,
    quantity: positive(),
    price: positive(),
    fee: nonNegative(),
    feeCurrency: z.string().min(1),
    liquidity: z.enum(['maker', 'taker']).nullable(),
    ts: epochMs(),
  })
  .strict();
export type Fill = z.infer<typeof FillSchema>;

export const ExecutionReportSchema = z
  .object({
    schemaVersion,
    orderId: id(),
    exchange: ExchangeIdSchema,
    symbol: SymbolSchema,
    status: OrderStatusSchema,
    previousStatus: OrderStatusSchema.nullable(),
    exchangeOrderId: z.string().min(1).nullable(),
    filledQuantity: nonNegative(),
    avgFillPrice: positive().nullable(),
    fills: z.array(FillSchema),
    reason: z.string().nullable(),
    ts: epochMs(),
  })
  .strict();
export type ExecutionReport = z.infer<typeof ExecutionReportSchema>;

export const PositionSchema = z
  .object({
    schemaVersion,
    exchange: ExchangeIdSchema,
    symbol: SymbolSchema,
    /** signed base quantity: > 0 long, < 0 short */
    quantity: finite(),
    avgEntryPrice: nonNegative(),
    markPrice: nonNegative(),
    /** |quantity| × markPrice */
    notional: nonNegative(),
    realizedPnl: finite(),
    unrealizedPnl: finite(),
    openedAt: epochMs().nullable(),
    updatedAt: epochMs(),
  })
  .strict();
export type Position = z.infer<typeof PositionSchema>;

export const PortfolioSnapshotSchema = z
  .object({
    schemaVersion,
    asOf: epochMs(),
    quoteCurrency: z.string().min(1),
    cash: finite(),
    equity: finite(),
    /** Σ |notional| */
    grossExposure: nonNegative(),
    /** Σ signed notional */
    netExposure: finite(),
    positions: z.array(PositionSchema),
    realizedPnl: finite(),
    unrealizedPnl: finite(),
    feesPaid: nonNegative(),
    /** equity at the start of the current UTC day */
    dayStartEquity: finite(),
    dailyPnl: finite(),
    peakEquity: finite(),
    /** (peak − equity) / peak × 100 */
    drawdownPct: finite(),
    /** number of orders submitted in the last 60 s (for maxOrdersPerMinute) */
    ordersLastMinute: z.number().int().nonnegative(),
  })
  .strict();
export type PortfolioSnapshot = z.infer<typeof PortfolioSnapshotSchema>;
