import type { AnalysisReport } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { REPORTED_INDICATORS, VOL_RATIO, type AnalysisIndicators, type AnalysisInput, type WindowBar } from './analysis-input.ts';
import { roundSig, roundTo } from './numeric.ts';

export const ANALYSIS_AGENT_VERSION = 'analysis@1.0.0';

/** Thresholds of the deterministic analysis policy (documented in docs/agents.md). */
export const ANALYSIS_RULES = {
  /** ADX at or above this is a trend worth following */
  trendingAdx: 25,
  /** rv14 / rv100 at or above this is a volatile regime (no new trades) */
  volatileVolRatio: 1.8,
  highVolRatio: 1.4,
  lowVolRatio: 0.7,
  /** bars on each side that a swing high/low must dominate */
  swingSpan: 2,
  maxLevels: 3,
} as const;

/**
 * The deterministic analysis: trend from EMA20/50 and the DI lines, regime from ADX and volatility
 * expansion, momentum as tanh of an RSI + MACD-histogram score, key levels from swing points.
 * Synchronous and allocation-light: it runs on every backtest bar.
 */
export function analyse(input: AnalysisInput): AnalysisReport {
  const bars = input.window;
  const last = bars[bars.length - 1];
  if (last === undefined)
    throw new AppError('VALIDATION', 'analysis needs at least one closed bar in the window', { hint: 'feed the agent after the first bar closes' });
  const ind = input.indicators;
  const close = last.close;

  // volatility expansion: short over long realised vol; the window's true ranges stand in during warm-up
  let volRatio = ind.rv14 > 0 && ind.rv100 > 0 ? ind.rv14 / ind.rv100 : Number.NaN;
  if (!(volRatio === volRatio) && ind.atr14 > 0) {
    const meanTr = meanTrueRange(bars);
    if (meanTr > 0) volRatio = ind.atr14 / meanTr;
  }

  const indicators = reportIndicators(ind, volRatio);

  const volatilityState: AnalysisReport['volatilityState'] = !(volRatio === volRatio)
    ? 'normal'
    : volRatio >= ANALYSIS_RULES.highVolRatio
      ? 'high'
      : volRatio <= ANALYSIS_RULES.lowVolRatio
        ? 'low'
        : 'normal';
  const regime: AnalysisReport['regime'] =
    volRatio >= ANALYSIS_RULES.volatileVolRatio ? 'volatile' : ind.adx14 >= ANALYSIS_RULES.trendingAdx ? 'trending' : 'ranging';

  // NaN comparisons are false, so missing DI lines leave the EMA verdict alone
  const diDown = ind.mdi14 > ind.pdi14;
  const diUp = ind.pdi14 > ind.mdi14;
  const trend: AnalysisReport['trend'] =
    ind.ema20 > ind.ema50 && !diDown ? 'up' : ind.ema20 < ind.ema50 && !diUp ? 'down' : 'sideways';

  const rsiTerm = ind.rsi14 === ind.rsi14 ? (ind.rsi14 - 50) / 20 : 0;
  const macdTerm = ind.atr14 > 0 && ind.macdHist === ind.macdHist ? (2 * ind.macdHist) / ind.atr14 : 0;
  const momentum = roundTo(Math.tanh(rsiTerm + macdTerm), 4);

  const keyLevels = findKeyLevels(bars, close);
  // Donchian bounds stand in when the window has no swing point on a side
  if (keyLevels.resistance.length === 0 && ind.high20 > close) keyLevels.resistance.push(ind.high20);
  if (keyLevels.support.length === 0 && ind.low20 < close && ind.low20 > 0) keyLevels.support.push(ind.low20);

  // pushed, not preallocated: a packed double array (new Array(n) is holey, and JSON.stringify takes its slow
  // per-element path for holey arrays — this array is serialised into every trace line)
  const features: number[] = [];
  for (let i = 0; i < input.features.length; i++) {
    const f = input.features[i] as number;
    features.push(Number.isFinite(f) ? f : 0);
  }
  if (features.length === 0)
    throw new AppError('VALIDATION', 'analysis needs a non-empty feature vector', { hint: 'compute features with the market feature engine' });

  const s = input.subject;
  return {
    schemaVersion: 1,
    exchange: s.exchange,
    symbol: s.symbol,
    timeframe: s.timeframe,
    asOf: s.asOf,
    agentVersion: ANALYSIS_AGENT_VERSION,
    policy: 'deterministic',
    fallbackReason: null,
    close,
    trend,
    regime,
    volatilityState,
    momentum,
    indicators,
    keyLevels,
    featureVersion: input.featureVersion,
    features,
    summary: summarise(trend, regime, volatilityState, momentum, ind, keyLevels),
  };
}

/**
 * The indicator record of the report: finite values only. After warm-up every value is finite and
 * the record is built as one literal (one hidden class, no per-key stores: this is the hot path).
 */
function reportIndicators(ind: AnalysisIndicators, volRatio: number): Record<string, number> {
  // one finiteness test for all: a NaN or ±Infinity makes the sum non-finite (a finite sum that overflows only
  // sends a valid record down the general path below, which gives the same result)
  const sum =
    ind.ema20 + ind.ema50 + ind.rsi14 + ind.macd + ind.macdSignal + ind.macdHist + ind.atr14 + ind.adx14 + ind.pdi14 + ind.mdi14 +
    ind.bbUpper + ind.bbMiddle + ind.bbLower + ind.bbPercentB + ind.rv14 + ind.rv100 + ind.high20 + ind.low20 + volRatio;
  if (Number.isFinite(sum))
    return {
      ema20: ind.ema20,
      ema50: ind.ema50,
      rsi14: ind.rsi14,
      macd: ind.macd,
      macdSignal: ind.macdSignal,
      macdHist: ind.macdHist,
      atr14: ind.atr14,
      adx14: ind.adx14,
      pdi14: ind.pdi14,
      mdi14: ind.mdi14,
      bbUpper: ind.bbUpper,
      bbMiddle: ind.bbMiddle,
      bbLower: ind.bbLower,
      bbPercentB: ind.bbPercentB,
      rv14: ind.rv14,
      rv100: ind.rv100,
      high20: ind.high20,
      low20: ind.low20,
      [VOL_RATIO]: roundSig(volRatio, 8),
    };
  const out: Record<string, number> = {};
  for (let i = 0; i < REPORTED_INDICATORS.length; i++) {
    const k = REPORTED_INDICATORS[i] as (typeof REPORTED_INDICATORS)[number];
    const v = ind[k];
    if (Number.isFinite(v)) out[k] = v;
  }
  if (Number.isFinite(volRatio)) out[VOL_RATIO] = roundSig(volRatio, 8);
  return out;
}

/** Mean true range over the window: the baseline an ATR(14) is compared with. */
function meanTrueRange(bars: readonly WindowBar[]): number {
  const n = bars.length;
  if (n < 2) return Number.NaN;
  let sum = 0;
  let prev = (bars[0] as WindowBar).close;
  for (let i = 1; i < n; i++) {
    const b = bars[i] as WindowBar;
    const hl = b.high - b.low;
    const hc = Math.abs(b.high - prev);
    const lc = Math.abs(b.low - prev);
    sum += hl > hc ? (hl > lc ? hl : lc) : hc > lc ? hc : lc;
    prev = b.close;
  }
  return sum / (n - 1);
}

/**
 * Swing highs above and swing lows below the close, nearest first (at most maxLevels each);
 * the window's Donchian bound stands in when there is no swing point on a side.
 */
export function findKeyLevels(bars: readonly WindowBar[], close: number): AnalysisReport['keyLevels'] {
  const span = ANALYSIS_RULES.swingSpan;
  const resistance: number[] = [];
  const support: number[] = [];
  let hi = Number.NEGATIVE_INFINITY;
  let lo = Number.POSITIVE_INFINITY;
  const n = bars.length;
  for (let i = 0; i < n; i++) {
    const b = bars[i] as WindowBar;
    if (b.high > hi) hi = b.high;
    if (b.low < lo) lo = b.low;
    if (i < span || i >= n - span) continue;
    let isHigh = true;
    let isLow = true;
    for (let j = i - span; j <= i + span && (isHigh || isLow); j++) {
      if (j === i) continue;
      const o = bars[j] as WindowBar;
      if (o.high >= b.high) isHigh = false;
      if (o.low <= b.low) isLow = false;
    }
    if (isHigh && b.high > close) insertNearest(resistance, b.high, true);
    if (isLow && b.low < close && b.low > 0) insertNearest(support, b.low, false);
  }
  if (resistance.length === 0 && hi > close) resistance.push(hi);
  if (support.length === 0 && lo < close && lo > 0) support.push(lo);
  return { support, resistance };
}

/** Keep `levels` sorted nearest-to-price first, unique, at most maxLevels long. */
function insertNearest(levels: number[], v: number, ascending: boolean): void {
  const n = levels.length;
  const max = ANALYSIS_RULES.maxLevels;
  let i = 0;
  while (i < n && (ascending ? (levels[i] as number) < v : (levels[i] as number) > v)) i++;
  if (i < n && levels[i] === v) return;
  if (i >= max) return;
  // shift the farther levels right by one (dropping the last when full): no splice/length-set on the hot path
  let j = n;
  if (n < max) levels.push(v);
  else j = max - 1;
  for (; j > i; j--) levels[j] = levels[j - 1] as number;
  levels[i] = v;
}

const TREND_WORD = { up: 'Uptrend', down: 'Downtrend', sideways: 'No trend' } as const;

/** 0–100 oscillators: one decimal is plenty and cheaper than significant-digit rounding. */
function fmt1(x: number): string {
  return x === x ? String(Math.round(x * 10) / 10) : 'n/a';
}

function fmtPrice(x: number): string {
  return String(roundSig(x, 6));
}

function summarise(
  trend: AnalysisReport['trend'],
  regime: AnalysisReport['regime'],
  vol: AnalysisReport['volatilityState'],
  momentum: number,
  ind: AnalysisIndicators,
  levels: AnalysisReport['keyLevels'],
): string {
  const s = levels.support[0];
  const r = levels.resistance[0];
  const text =
    `${TREND_WORD[trend]}, ${regime}, volatility ${vol}; ADX ${fmt1(ind.adx14)}, RSI ${fmt1(ind.rsi14)}, momentum ${momentum}` +
    (s === undefined ? '' : `; support ${fmtPrice(s)}`) +
    (r === undefined ? '' : `; resistance ${fmtPrice(r)}`);
  return text.length <= 200 ? text : text.slice(0, 200);
}
