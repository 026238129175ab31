import type { RiskLimits } from '@meridian/contracts';

/** The user-facing fields of a RiskLimits document, in the order people read them. */
export type RiskLimitField = Exclude<keyof RiskLimits, 'schemaVersion'>;

export type LimitUnit = 'symbols' | 'quote' | 'times' | 'count' | 'percent' | 'boolean' | 'fraction' | 'per-minute' | 'ms';

export interface LimitFieldInfo {
  readonly field: RiskLimitField;
  readonly unit: LimitUnit;
  /** one line for tables and error messages */
  readonly summary: string;
}

/** Field metadata, shared by the CLI table, the diff and the validation messages. */
export const RISK_LIMIT_FIELDS: readonly LimitFieldInfo[] = [
  { field: 'allowedSymbols', unit: 'symbols', summary: 'symbols that may be traded (empty = all)' },
  { field: 'maxOrderNotional', unit: 'quote', summary: 'largest new exposure one order may create' },
  { field: 'maxPositionNotional', unit: 'quote', summary: 'largest position in one symbol' },
  { field: 'maxGrossExposure', unit: 'quote', summary: 'largest sum of |position notional| over all symbols' },
  { field: 'maxNetExposure', unit: 'quote', summary: 'largest |long − short| notional over all symbols' },
  { field: 'maxLeverage', unit: 'times', summary: 'largest gross exposure ÷ equity' },
  { field: 'maxOpenPositions', unit: 'count', summary: 'most symbols with an open position at once' },
  { field: 'riskPerTradePct', unit: 'percent', summary: 'largest loss at the stop, as % of equity' },
  { field: 'requireStopLoss', unit: 'boolean', summary: 'orders that add exposure must carry a stop' },
  { field: 'minConfidence', unit: 'fraction', summary: 'lowest decision confidence accepted (0–1)' },
  { field: 'maxOrdersPerMinute', unit: 'per-minute', summary: 'most orders submitted in any 60 s' },
  { field: 'priceCollarPct', unit: 'percent', summary: 'largest distance of a limit price from the last price' },
  { field: 'maxDataAgeMs', unit: 'ms', summary: 'oldest market data an order may be priced on' },
  { field: 'maxDailyLossPct', unit: 'percent', summary: 'loss since the UTC day start that halts trading until the next day' },
  { field: 'maxDrawdownPct', unit: 'percent', summary: 'fall from peak equity that halts trading until a risk officer resumes' },
  { field: 'requireApprovalAboveNotional', unit: 'quote', summary: 'orders creating more new exposure wait for a human' },
];

export const RISK_LIMIT_FIELD_NAMES: readonly RiskLimitField[] = RISK_LIMIT_FIELDS.map((f) => f.field);

/** Compact number formatting for messages: up to 10 significant digits, no locale (fast, stable). */
export function fmtNum(n: number): string {
  const s = String(n);
  // the shortest round-trip form is already short for almost every figure (hot path: the risk engine)
  if (s.length <= 12 || !Number.isFinite(n)) return s;
  return String(Number(n.toPrecision(10)));
}

/** A limit value as a person reads it in a table or diff. */
export function formatLimitValue(field: RiskLimitField, value: unknown): string {
  if (value === undefined || value === null) return field === 'requireStopLoss' ? 'false' : 'no limit';
  const info = RISK_LIMIT_FIELDS.find((f) => f.field === field);
  if (Array.isArray(value)) return value.length === 0 ? 'all symbols' : value.join(', ');
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value !== 'number') return String(value);
  switch (info?.unit) {
    case 'percent':
      return `${fmtNum(value)}%`;
    case 'times':
      return `${fmtNum(value)}×`;
    case 'ms':
      return `${fmtNum(value)} ms`;
    case 'per-minute':
      return `${fmtNum(value)}/min`;
    default:
      return fmtNum(value);
  }
}
