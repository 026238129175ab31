import type { Timeframe } from '@meridian/contracts';

/**
 * What the analysis agent reads. A plain typed object (no schema parse on the hot path) so the
 * orchestrator can fill it straight from @meridian/market's FeatureEngine:
 *   { subject, window, indicators: engine.indicators, featureVersion: FEATURE_VERSION, features: engine.values }
 */
export interface AnalysisSubject {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  /** close time of the last bar (epoch ms); nothing after it may be used */
  readonly asOf: number;
}

/** One closed bar; structurally the same as `Bar` in @meridian/market. `ts` is the open time. */
export interface WindowBar {
  readonly ts: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
}

/**
 * The indicator values the agents read, named exactly as in @meridian/market's IndicatorSnapshot
 * (a structural subset of it, so the engine's snapshot is passed as is). NaN means "not warmed up";
 * every agent treats NaN as missing evidence, never as zero.
 */
export interface AnalysisIndicators {
  readonly ema20: number;
  readonly ema50: number;
  readonly rsi14: number;
  readonly macd: number;
  readonly macdSignal: number;
  readonly macdHist: number;
  readonly atr14: number;
  readonly adx14: number;
  readonly pdi14: number;
  readonly mdi14: number;
  readonly bbUpper: number;
  readonly bbMiddle: number;
  readonly bbLower: number;
  readonly bbPercentB: number;
  /** realised volatility (RMS of 1-bar log returns) over 14 and 100 bars */
  readonly rv14: number;
  readonly rv100: number;
  /** Donchian bounds */
  readonly high20: number;
  readonly low20: number;
}

export interface AnalysisInput {
  readonly subject: AnalysisSubject;
  /** the recent closed bars, oldest first; the last one closed at subject.asOf (swing levels come from it) */
  readonly window: readonly WindowBar[];
  readonly indicators: AnalysisIndicators;
  readonly featureVersion: number;
  readonly features: ArrayLike<number>;
}

/** Indicator names copied into AnalysisReport.indicators (when finite), in this order. */
export const REPORTED_INDICATORS = [
  'ema20',
  'ema50',
  'rsi14',
  'macd',
  'macdSignal',
  'macdHist',
  'atr14',
  'adx14',
  'pdi14',
  'mdi14',
  'bbUpper',
  'bbMiddle',
  'bbLower',
  'bbPercentB',
  'rv14',
  'rv100',
  'high20',
  'low20',
] as const satisfies readonly (keyof AnalysisIndicators)[];

/** Value the analysis agent derives and reports: rv14 / rv100, > 1 when volatility is expanding. */
export const VOL_RATIO = 'volRatio';
