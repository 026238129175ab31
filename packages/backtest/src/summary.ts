import type { RiskCheckName } from '@meridian/contracts';
import type { PerformanceMetrics, TradeMetrics } from './metrics.ts';
import { roundOut } from './number-format.ts';

/**
 * summary.json: exactly these fields, in SUMMARY_FIELDS's order (the contract; the dashboard
 * reads it). The metric fields are metrics.ts's PerformanceMetrics and TradeMetrics, defined once.
 */
export interface BacktestSummary extends PerformanceMetrics, TradeMetrics {
  symbols: string[];
  timeframe: string;
  /** ISO-8601 open time of the first bar replayed */
  from: string;
  /** ISO-8601 close time of the last bar replayed */
  to: string;
  /** rows of equity.csv: distinct bar times of the merged timeline */
  bars: number;
  startingCapital: number;
  finalEquity: number;
  exposurePct: number;
  feesPaid: number;
  buyAndHoldReturnPct: number;
  decisions: number;
  riskApproved: number;
  riskResized: number;
  riskRejected: number;
  rejectionsByCheck: Partial<Record<RiskCheckName, number>>;
  seed: number;
  configHash: string;
}

export const SUMMARY_FIELDS = [
  'symbols',
  'timeframe',
  'from',
  'to',
  'bars',
  'startingCapital',
  'finalEquity',
  'totalReturnPct',
  'cagrPct',
  'sharpe',
  'sortino',
  'calmar',
  'maxDrawdownPct',
  'maxDrawdownDurationBars',
  'volatilityPct',
  'trades',
  'winRatePct',
  'profitFactor',
  'expectancy',
  'avgTradeReturnPct',
  'bestTradePct',
  'worstTradePct',
  'avgHoldingBars',
  'exposurePct',
  'feesPaid',
  'buyAndHoldReturnPct',
  'decisions',
  'riskApproved',
  'riskResized',
  'riskRejected',
  'rejectionsByCheck',
  'seed',
  'configHash',
] as const satisfies readonly (keyof BacktestSummary)[];

// compile-time check that the list names every field
type Missing = Exclude<keyof BacktestSummary, (typeof SUMMARY_FIELDS)[number]>;
const _allListed: Missing extends never ? true : never = true;
void _allListed;

/** The bytes of summary.json: fields in the listed order, numbers in the one output format, 2-space indent. */
export function summaryJson(s: BacktestSummary): string {
  const out: Record<string, unknown> = {};
  for (const k of SUMMARY_FIELDS) {
    const v = s[k];
    out[k] = typeof v === 'number' ? roundOut(v) : v;
  }
  return `${JSON.stringify(out, null, 2)}\n`;
}
