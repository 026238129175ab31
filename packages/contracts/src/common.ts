import { z } from 'zod';

/** Every boundary message carries this; bump it (and migrate readers) on any breaking change. */
export const SCHEMA_VERSION = 1 as const;
export const schemaVersion = z.literal(SCHEMA_VERSION);

/** A finite number (rejects NaN, ±Infinity). */
export const finite = () => z.number().refine(Number.isFinite, { message: 'must be a finite number' });
// Bounds use zod's native checks rather than refine() so the exported JSON Schema carries them
// (minimum / exclusiveMinimum / maximum) for API consumers; a refine() is invisible there.
export const positive = () => finite().gt(0, 'must be > 0');
export const nonNegative = () => finite().gte(0, 'must be ≥ 0');
export const unitInterval = () => finite().gte(0, 'must be between 0 and 1').lte(1, 'must be between 0 and 1');
export const percent = () => finite().gte(0, 'must be between 0 and 100 (percent)').lte(100, 'must be between 0 and 100 (percent)');

/** UTC epoch milliseconds. */
export const epochMs = () =>
  z
    .number()
    .int('must be an integer epoch-ms timestamp')
    .min(0, 'must be ≥ 0 (UTC epoch ms)')
    .max(8.64e15, 'must be a valid UTC epoch-ms timestamp');

export const id = () => z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a UUID');

/** ccxt unified symbol: BASE/QUOTE, optionally :SETTLE for derivatives. */
export const SymbolSchema = z
  .string()
  .regex(/^[A-Z0-9]{1,20}\/[A-Z0-9]{1,20}(:[A-Z0-9]{1,20})?$/, 'must be a ccxt unified symbol such as BTC/USDT');
export const ExchangeIdSchema = z.string().regex(/^[a-z0-9_]{2,32}$/, 'must be a lowercase exchange id such as binance or paper');

export const TIMEFRAMES = ['1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d'] as const;
export const TimeframeSchema = z.enum(TIMEFRAMES);
export type Timeframe = z.infer<typeof TimeframeSchema>;

export const TIMEFRAME_MS: { readonly [T in Timeframe]: number } = {
  '1m': 60_000,
  '3m': 180_000,
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '2h': 7_200_000,
  '4h': 14_400_000,
  '6h': 21_600_000,
  '8h': 28_800_000,
  '12h': 43_200_000,
  '1d': 86_400_000,
};

export function timeframeMs(tf: Timeframe): number {
  return TIMEFRAME_MS[tf];
}

export function isTimeframe(s: string): s is Timeframe {
  return (TIMEFRAMES as readonly string[]).includes(s);
}

export const SideSchema = z.enum(['buy', 'sell']);
export type Side = z.infer<typeof SideSchema>;

export const OrderTypeSchema = z.enum(['market', 'limit']);
export type OrderType = z.infer<typeof OrderTypeSchema>;

export const PolicyKindSchema = z.enum(['deterministic', 'llm']);
export type PolicyKind = z.infer<typeof PolicyKindSchema>;
