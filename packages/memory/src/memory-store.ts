import type { MemoryRecall, MemoryScope, Timeframe } from '@meridian/contracts';

/**
 * The memory's one interface: store situations, resolve their outcomes, recall the nearest
 * resolved ones as of a time. Implementations: `PgMemoryStore` (PGlite exact, server Postgres
 * HNSW) and `InProcessMemoryStore` (the backtest hot path). Both pass `memoryStoreSpec`.
 *
 * Times (see docs/memory.md): a memory's `ts` is the CLOSE time of the bar its features
 * describe (candle open `ts` + timeframe), i.e. the first moment the situation was observable.
 * Its outcome over `horizonBars` bars is known at `resolvedAt` = close time of the bar
 * `horizonBars` bars later. Recall at `asOf` sees only memories with `resolvedAt ≤ asOf`.
 */

/** What identifies one memory (the table's unique key). */
export interface MemoryKey {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  /** close time of the situation's bar, UTC epoch ms */
  readonly ts: number;
  readonly featureVersion: number;
  readonly horizonBars: number;
}

/** How the situation turned out, as fractions of the situation bar's close. */
export interface MemoryOutcomeValues {
  /** close[t+h] / close[t] − 1 */
  readonly forwardReturn: number;
  /** max(high[t+1..t+h]) / close[t] − 1 (maximum favourable excursion for a long) */
  readonly mfe: number;
  /** min(low[t+1..t+h]) / close[t] − 1 (maximum adverse excursion for a long; ≤ 0 unless price only rose) */
  readonly mae: number;
  /** when the outcome became known: close time of bar t+h */
  readonly resolvedAt: number;
}

export interface Situation extends MemoryKey {
  /** the feature vector (FEATURE_DIM values of `featureVersion`), copied on store */
  readonly features: ArrayLike<number>;
  /** set when the outcome is already known (historical builds): stored resolved in one write */
  readonly outcome?: MemoryOutcomeValues;
}

export interface Outcome extends MemoryKey, MemoryOutcomeValues {}

export interface RecallOptions {
  /** only memories resolved at or before this time (UTC epoch ms): no look-ahead */
  readonly asOf: number;
  readonly k: number;
  /** same-symbol: this exchange + symbol only; all-symbols: any exchange and symbol */
  readonly scope: MemoryScope;
  /** the subject of the recall (the situation being decided on) */
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  /** vectors of different feature versions are never compared */
  readonly featureVersion: number;
  /** outcome horizon to compare (default DEFAULT_HORIZON_BARS): mixing horizons would mix outcomes */
  readonly horizonBars?: number;
}

export interface StoreResult {
  /** rows that did not exist before */
  readonly inserted: number;
  /** existing situations that this call gave their outcome (historical rebuilds) */
  readonly resolved: number;
}

export interface MemoryStore {
  /** Idempotent: a situation already stored is kept as it is (its outcome is only filled if missing). */
  store(situations: readonly Situation[]): Promise<StoreResult>;
  /** Record outcomes; the first resolution of a memory wins. Returns how many memories were resolved now. */
  resolve(outcomes: readonly Outcome[]): Promise<number>;
  /** k nearest resolved memories (Euclidean distance) with resolvedAt ≤ asOf, plus their statistics. */
  recall(vector: ArrayLike<number>, options: RecallOptions): Promise<MemoryRecall>;
}

export const DEFAULT_HORIZON_BARS = 12;
/** the most neighbours one recall may ask for */
export const MAX_RECALL_K = 1000;
