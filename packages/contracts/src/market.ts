import { z } from 'zod';
import { ExchangeIdSchema, SymbolSchema, TimeframeSchema, TIMEFRAME_MS, epochMs, nonNegative, positive, schemaVersion } from './common.ts';

/** One closed OHLCV candle. `ts` is the bar's open time, aligned to the timeframe in UTC. */
export const CandleSchema = z
  .object({
    schemaVersion,
    exchange: ExchangeIdSchema,
    symbol: SymbolSchema,
    timeframe: TimeframeSchema,
    ts: epochMs(),
    open: positive(),
    high: positive(),
    low: positive(),
    close: positive(),
    volume: nonNegative(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.high < Math.max(c.open, c.close)) ctx.addIssue({ code: 'custom', path: ['high'], message: 'high must be ≥ max(open, close)' });
    if (c.low > Math.min(c.open, c.close)) ctx.addIssue({ code: 'custom', path: ['low'], message: 'low must be ≤ min(open, close)' });
    if (c.ts % TIMEFRAME_MS[c.timeframe] !== 0)
      ctx.addIssue({ code: 'custom', path: ['ts'], message: `ts must be aligned to the ${c.timeframe} timeframe (UTC)` });
  });
export type Candle = z.infer<typeof CandleSchema>;

/** Trading rules of one market, as the exchange states them. */
export const MarketInfoSchema = z
  .object({
    symbol: SymbolSchema,
    base: z.string().min(1),
    quote: z.string().min(1),
    /** smallest order quantity (base units) */
    minQty: nonNegative(),
    /** quantity increment (base units) */
    qtyStep: positive(),
    /** price increment (quote units) */
    priceStep: positive(),
    /** smallest order notional (quote units) */
    minNotional: nonNegative(),
  })
  .strict();
export type MarketInfo = z.infer<typeof MarketInfoSchema>;

/** What the risk gate and the decision agent know of the market at decision time. */
export const MarketSnapshotSchema = z
  .object({
    schemaVersion,
    exchange: ExchangeIdSchema,
    symbol: SymbolSchema,
    timeframe: TimeframeSchema,
    /** the time this snapshot describes (close time of the last candle, epoch ms) */
    asOf: epochMs(),
    lastPrice: positive(),
    /** open time of the last closed candle behind lastPrice */
    lastCandleTs: epochMs(),
    /** when the data behind lastPrice was received/closed; the risk gate measures staleness from it */
    dataTs: epochMs(),
    bid: positive().nullable(),
    ask: positive().nullable(),
    market: MarketInfoSchema,
  })
  .strict();
export type MarketSnapshot = z.infer<typeof MarketSnapshotSchema>;
