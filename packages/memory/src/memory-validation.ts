import { TIMEFRAME_MS, type MemoryRecall, type RecalledMemory } from '@meridian/contracts';
import { AppError, deterministicId } from '@meridian/core';
import { FEATURE_DIM, FEATURE_VERSION } from '@meridian/market';
import { memoryStats } from './memory-stats.ts';
import { DEFAULT_HORIZON_BARS, MAX_RECALL_K, type MemoryKey, type Outcome, type RecallOptions, type Situation } from './memory-store.ts';

/** Dimension of each known feature version (vectors of other versions only need to agree among themselves). */
export function expectedDim(featureVersion: number): number | undefined {
  return featureVersion === FEATURE_VERSION ? FEATURE_DIM : undefined;
}

export function keyString(k: MemoryKey): string {
  return `${k.exchange}|${k.symbol}|${k.timeframe}|${k.ts}|${k.featureVersion}|${k.horizonBars}`;
}

/** The memory's id: derived from its key, so rebuilds and backtest re-runs give the same ids. */
export function memoryId(k: MemoryKey): string {
  return deterministicId(`memory|${keyString(k)}`);
}

/**
 * The subject of an error message, built only when there is an error (it costs more than the checks):
 * a fixed string, or a label and the key it is about (`${label} ${keyString(key)}`). Not a closure: one
 * per checked memory cost more than the checks too.
 */
type What = string | { readonly label: string; readonly key: MemoryKey };
const said = (w: What): string => (typeof w === 'string' ? w : `${w.label} ${keyString(w.key)}`);

function checkKey(k: MemoryKey, w: What): void {
  if (TIMEFRAME_MS[k.timeframe] !== undefined && Number.isSafeInteger(k.ts) && k.ts >= 0 && Number.isInteger(k.featureVersion) && k.featureVersion >= 1 && Number.isInteger(k.horizonBars) && k.horizonBars >= 1 && k.exchange.length > 0 && k.symbol.length > 0)
    return;
  const what = said(w);
  const tf = TIMEFRAME_MS[k.timeframe];
  if (tf === undefined) throw new AppError('VALIDATION', `${what}: unknown timeframe "${k.timeframe}"`);
  if (!Number.isSafeInteger(k.ts) || k.ts < 0) throw new AppError('VALIDATION', `${what}: ts must be a UTC epoch-ms integer, got ${k.ts}`);
  if (!Number.isInteger(k.featureVersion) || k.featureVersion < 1) throw new AppError('VALIDATION', `${what}: featureVersion must be a positive integer, got ${k.featureVersion}`);
  if (!Number.isInteger(k.horizonBars) || k.horizonBars < 1) throw new AppError('VALIDATION', `${what}: horizonBars must be a positive integer, got ${k.horizonBars}`);
  if (k.exchange.length === 0 || k.symbol.length === 0) throw new AppError('VALIDATION', `${what}: exchange and symbol are required`);
}

export function checkVector(v: ArrayLike<number>, featureVersion: number, w: What): void {
  const dim = expectedDim(featureVersion);
  if (v.length === 0 || (dim !== undefined && v.length !== dim)) {
    const what = said(w);
    throw new AppError('VALIDATION', `${what}: feature vector has ${v.length} values, feature version ${featureVersion} has ${dim ?? 'at least 1'}`, {
      hint: 'recompute the features with the FeatureEngine of the same version',
    });
  }
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new AppError('VALIDATION', `${said(w)}: feature ${i} is ${v[i]}, not a finite number`);
  }
}

function checkOutcomeValues(o: { forwardReturn: number; mfe: number; mae: number; resolvedAt: number }, ts: number, w: What): void {
  for (const f of ['forwardReturn', 'mfe', 'mae'] as const) {
    if (!Number.isFinite(o[f])) throw new AppError('VALIDATION', `${said(w)}: ${f} is ${o[f]}, not a finite number`);
  }
  if (!Number.isSafeInteger(o.resolvedAt) || o.resolvedAt <= ts) {
    throw new AppError('VALIDATION', `${said(w)}: resolvedAt (${o.resolvedAt}) must be an epoch-ms integer after the situation's ts (${ts})`);
  }
}

export function checkSituation(s: Situation): void {
  const what = { label: 'memory', key: s };
  checkKey(s, what);
  checkVector(s.features, s.featureVersion, what);
  if (s.outcome) checkOutcomeValues(s.outcome, s.ts, what);
}

export function checkOutcome(o: Outcome): void {
  const what = { label: 'outcome of', key: o };
  checkKey(o, what);
  checkOutcomeValues(o, o.ts, what);
}

export function checkRecall(vector: ArrayLike<number>, o: RecallOptions): number {
  if (!Number.isInteger(o.k) || o.k < 1 || o.k > MAX_RECALL_K) throw new AppError('VALIDATION', `recall k must be a whole number from 1 to ${MAX_RECALL_K}, got ${o.k}`);
  if (!Number.isSafeInteger(o.asOf) || o.asOf < 0 || o.asOf > 8.64e15) throw new AppError('VALIDATION', `recall asOf must be a UTC epoch-ms integer, got ${o.asOf}`);
  if (o.scope !== 'same-symbol' && o.scope !== 'all-symbols') throw new AppError('VALIDATION', `recall scope must be same-symbol or all-symbols, got "${String(o.scope)}"`);
  const horizonBars = o.horizonBars ?? DEFAULT_HORIZON_BARS;
  checkKey({ exchange: o.exchange, symbol: o.symbol, timeframe: o.timeframe, ts: o.asOf, featureVersion: o.featureVersion, horizonBars }, 'recall');
  checkVector(vector, o.featureVersion, 'recall');
  return horizonBars;
}

/** The MemoryRecall message for a set of neighbours (already ordered nearest first). */
export function toRecall(o: RecallOptions, neighbours: RecalledMemory[]): MemoryRecall {
  return {
    schemaVersion: 1,
    exchange: o.exchange,
    symbol: o.symbol,
    timeframe: o.timeframe,
    asOf: o.asOf,
    featureVersion: o.featureVersion,
    scope: o.scope,
    k: o.k,
    neighbours,
    stats: memoryStats(neighbours),
  };
}
