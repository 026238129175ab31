import type { AnalysisReport, MemoryRecall, MemoryStats, SignalProposal } from '@meridian/contracts';
import { VOL_RATIO } from './analysis-input.ts';
import { modelConfidence, shrinkToMemory, type RuleFamily } from './confidence-calibration.ts';
import { clamp, roundSig, roundTo } from './numeric.ts';

export const SIGNAL_AGENT_VERSION = 'signal@1.0.0';

/** What the signal agent reads: the analysis and, when the memory is on, its recall. */
export interface SignalInput {
  readonly analysis: AnalysisReport;
  /** null when the memory is off (fast backtests) or has nothing for this situation */
  readonly recall: MemoryRecall | null;
}

/** Parameters of the deterministic signal policy (documented in docs/agents.md). */
export const SIGNAL_RULES = {
  /** stop = entry ∓ stopAtr × ATR(14) */
  stopAtr: 1.5,
  /** target = entry ± targetAtr × ATR(14): reward/risk = targetAtr / stopAtr = 1.5 */
  targetAtr: 2.25,
  /** the confidence is P(target before stop within this many bars) */
  horizonBars: 48,
  /** trend-following needs ADX ≥ this (the analysis' trending threshold) */
  trendAdx: 25,
  /** mean reversion: close at/below the lower band (%B ≤ 0) and RSI ≤ this for a long … */
  meanReversionRsiLow: 35,
  /** … at/above the upper band (%B ≥ 1) and RSI ≥ this for a short */
  meanReversionRsiHigh: 65,
  /** memory outcomes count only from this many neighbours on */
  minMemoryN: 5,
} as const;

/** Probability of reaching target before stop at which a trade breaks even (before costs). */
export const BREAKEVEN_CONFIDENCE = SIGNAL_RULES.stopAtr / (SIGNAL_RULES.stopAtr + SIGNAL_RULES.targetAtr);

type Evidence = SignalProposal['evidence']['indicators'][number];

/** The rule verdict before confidence: exported for the calibration fit and tests. */
export interface RuleScore {
  readonly direction: 'long' | 'short' | 'flat';
  readonly rule: RuleFamily | null;
  /** 0 … 1 */
  readonly strength: number;
  readonly evidence: Evidence[];
  /** why (one clause) */
  readonly reason: string;
}

const FLAT = (reason: string, evidence: Evidence[] = []): RuleScore => ({ direction: 'flat', rule: null, strength: 0, evidence, reason });

/**
 * The per-regime rule set: follow the trend when trending (DI lines and momentum must agree),
 * fade Bollinger-band extremes when ranging (RSI must agree), stand aside when volatile.
 */
export function scoreSignal(a: AnalysisReport): RuleScore {
  const ind = a.indicators;
  const atr = ind['atr14'];
  if (atr === undefined || !(atr > 0)) return FLAT('ATR is not available yet (indicators warming up)');
  if (a.regime === 'volatile') {
    const vr = ind[VOL_RATIO];
    return FLAT('volatile regime: volatility is expanding, no new risk', vr === undefined ? [] : [{ name: VOL_RATIO, value: vr, reading: 'short-term volatility well above its norm' }]);
  }
  if (a.regime === 'trending') {
    const adx = ind['adx14'];
    const pdi = ind['pdi14'];
    const mdi = ind['mdi14'];
    if (adx === undefined || pdi === undefined || mdi === undefined) return FLAT('ADX/DI not available yet');
    if (a.trend === 'sideways') return FLAT('ADX is high but EMAs and DI lines disagree on the direction');
    const up = a.trend === 'up';
    const m = up ? a.momentum : -a.momentum;
    const evidence: Evidence[] = [
      { name: 'adx14', value: adx, reading: 'trend strong enough to follow' },
      { name: up ? 'pdi14' : 'mdi14', value: up ? pdi : mdi, reading: up ? '+DI leads' : '−DI leads' },
      { name: 'momentum', value: a.momentum, reading: m > 0 ? 'momentum agrees with the trend' : 'momentum against the trend' },
    ];
    if (m <= 0) return FLAT(`${a.trend}trend but momentum disagrees`, evidence);
    const diSum = pdi + mdi;
    const diSpread = diSum > 0 ? Math.abs(pdi - mdi) / diSum : 0;
    const strength = 0.4 * clamp((adx - SIGNAL_RULES.trendAdx) / 25, 0, 1) + 0.3 * clamp(m, 0, 1) + 0.3 * clamp(diSpread, 0, 1);
    return { direction: up ? 'long' : 'short', rule: 'trend', strength, evidence, reason: `follow the ${a.trend}trend (ADX ${roundTo(adx, 1)})` };
  }
  // ranging: fade the band extremes
  const pb = ind['bbPercentB'];
  const rsi = ind['rsi14'];
  if (pb === undefined || rsi === undefined) return FLAT('Bollinger/RSI not available yet');
  const evidence: Evidence[] = [
    { name: 'bbPercentB', value: pb, reading: pb <= 0 ? 'at/below the lower band' : pb >= 1 ? 'at/above the upper band' : 'inside the bands' },
    { name: 'rsi14', value: rsi, reading: rsi <= SIGNAL_RULES.meanReversionRsiLow ? 'oversold' : rsi >= SIGNAL_RULES.meanReversionRsiHigh ? 'overbought' : 'neutral' },
  ];
  if (pb <= 0 && rsi <= SIGNAL_RULES.meanReversionRsiLow) {
    const strength = 0.5 * clamp(-pb * 4, 0, 1) + 0.5 * clamp((SIGNAL_RULES.meanReversionRsiLow - rsi) / 20, 0, 1);
    return { direction: 'long', rule: 'meanReversion', strength, evidence, reason: 'ranging market stretched below the lower band, oversold' };
  }
  if (pb >= 1 && rsi >= SIGNAL_RULES.meanReversionRsiHigh) {
    const strength = 0.5 * clamp((pb - 1) * 4, 0, 1) + 0.5 * clamp((rsi - SIGNAL_RULES.meanReversionRsiHigh) / 20, 0, 1);
    return { direction: 'short', rule: 'meanReversion', strength, evidence, reason: 'ranging market stretched above the upper band, overbought' };
  }
  if ((pb <= 0 && rsi > SIGNAL_RULES.meanReversionRsiLow) || (pb >= 1 && rsi < SIGNAL_RULES.meanReversionRsiHigh))
    return FLAT('price at a band but RSI does not confirm the extreme', evidence);
  return FLAT('ranging market inside its bands: no edge', evidence);
}

/**
 * Memory outcomes for a trade with these stop/target distances (fractions of entry): 1 when the
 * neighbour's excursion reached the target without reaching the stop, 0 when it did not reach the
 * target, ½ when it reached both (order unknown). mfe/mae are the up/down excursions (mae ≤ 0).
 * Without neighbours, the stats' hit rate (share of rising outcomes) stands in.
 */
export function memoryOutcomes(recall: MemoryRecall, long: boolean, stopFrac: number, targetFrac: number): { successes: number; n: number } {
  const ns = recall.neighbours;
  if (ns.length === 0) {
    const n = recall.stats.n;
    return { successes: (long ? recall.stats.hitRate : 1 - recall.stats.hitRate) * n, n };
  }
  let successes = 0;
  for (let i = 0; i < ns.length; i++) {
    const m = ns[i] as MemoryRecall['neighbours'][number];
    const hit = long ? m.mfe >= targetFrac : m.mae <= -targetFrac;
    const stopped = long ? m.mae <= -stopFrac : m.mfe >= stopFrac;
    if (hit) successes += stopped ? 0.5 : 1;
  }
  return { successes, n: ns.length };
}

/**
 * The deterministic signal: the rule verdict, a stop/target from ATR, a calibrated confidence,
 * and the memory's say (veto when its own success rate is below break-even, otherwise it shifts
 * the confidence by n-weighted shrinkage).
 */
export function proposeSignal(input: SignalInput): SignalProposal {
  const a = input.analysis;
  const recall = input.recall;
  const score = scoreSignal(a);
  const memoryIds: string[] = [];
  let memoryStats: MemoryStats | null = null;
  if (recall !== null) {
    for (let i = 0; i < recall.neighbours.length; i++) memoryIds.push((recall.neighbours[i] as MemoryRecall['neighbours'][number]).memoryId);
    memoryStats = recall.stats;
  }
  const evidence = { indicators: score.evidence, memoryIds, memoryStats };
  if (score.direction === 'flat' || score.rule === null) return signalOf(a, 'flat', 0, 0, null, null, null, evidence, `Flat: ${score.reason}.`);

  const long = score.direction === 'long';
  const entry = a.close;
  const atr = a.indicators['atr14'] as number;
  const stop = roundSig(long ? entry - SIGNAL_RULES.stopAtr * atr : entry + SIGNAL_RULES.stopAtr * atr, 10);
  const target = roundSig(long ? entry + SIGNAL_RULES.targetAtr * atr : entry - SIGNAL_RULES.targetAtr * atr, 10);
  if (!(stop > 0) || !(target > 0)) return signalOf(a, 'flat', 0, 0, null, null, null, evidence, `Flat: ${SIGNAL_RULES.stopAtr}×ATR stop or target would not be a positive price.`);

  const pModel = modelConfidence(score.rule, score.strength);
  let confidence = pModel;
  let memoryNote = '';
  const n = recall === null ? 0 : recall.neighbours.length > 0 ? recall.neighbours.length : recall.stats.n;
  if (recall !== null && n >= SIGNAL_RULES.minMemoryN) {
    const stopFrac = (SIGNAL_RULES.stopAtr * atr) / entry;
    const targetFrac = (SIGNAL_RULES.targetAtr * atr) / entry;
    const mem = memoryOutcomes(recall, long, stopFrac, targetFrac);
    const memRate = mem.successes / mem.n;
    if (memRate < BREAKEVEN_CONFIDENCE)
      return signalOf(a, 'flat', 0, 0, null, null, null, evidence, `Flat: ${score.reason}, but only ${roundTo(memRate * 100, 0)}% of ${mem.n} similar past situations reached the target first (memory veto).`);
    confidence = shrinkToMemory(pModel, mem.successes, mem.n);
    memoryNote = `; ${roundTo(memRate * 100, 0)}% of ${mem.n} similar situations reached the target first`;
  }
  confidence = roundTo(confidence, 4);
  return signalOf(
    a,
    score.direction,
    roundTo(score.strength, 4),
    confidence,
    entry,
    stop,
    target,
    evidence,
    `${long ? 'Long' : 'Short'}: ${score.reason}${memoryNote}. Stop ${SIGNAL_RULES.stopAtr}×ATR, target ${SIGNAL_RULES.targetAtr}×ATR; P(target first) ${confidence}.`,
  );
}

function signalOf(
  a: AnalysisReport,
  direction: SignalProposal['direction'],
  strength: number,
  confidence: number,
  entry: number | null,
  stop: number | null,
  target: number | null,
  evidence: SignalProposal['evidence'],
  rationale: string,
): SignalProposal {
  return {
    schemaVersion: 1,
    exchange: a.exchange,
    symbol: a.symbol,
    timeframe: a.timeframe,
    asOf: a.asOf,
    agentVersion: SIGNAL_AGENT_VERSION,
    policy: 'deterministic',
    fallbackReason: null,
    direction,
    strength,
    confidence,
    entry,
    stop,
    target,
    horizonBars: SIGNAL_RULES.horizonBars,
    evidence,
    rationale,
  };
}
