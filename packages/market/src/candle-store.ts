import type { Bar, SeriesKey } from './bar.ts';

/** Columns of one batch of bars for a bulk upsert (one array per column: cheap to bind). */
export interface BarColumns {
  readonly ts: number[];
  readonly open: number[];
  readonly high: number[];
  readonly low: number[];
  readonly close: number[];
  readonly volume: number[];
}

export interface UpsertCounts {
  /** rows that did not exist */
  readonly inserted: number;
  /** rows that existed with different values and were overwritten */
  readonly updated: number;
  /** rows that existed with the same values (nothing written) */
  readonly unchanged: number;
}

export interface SeriesSummary extends SeriesKey {
  readonly first: number;
  readonly last: number;
  readonly count: number;
  /** bars missing between first and last: (last − first)/tf + 1 − count */
  readonly missingBars: number;
  /** number of separate holes */
  readonly gapRuns: number;
}

/**
 * Where candles are kept. The Postgres/PGlite implementation is `DbCandleStore`; tests may use
 * `MemoryCandleStore`. Upserts are idempotent: the same bars twice change nothing.
 */
export interface CandleStore {
  upsert(key: SeriesKey, batch: BarColumns): Promise<UpsertCounts>;
  /** open time of the newest stored bar, or null */
  lastTs(key: SeriesKey): Promise<number | null>;
  /** bars with from ≤ ts < to, oldest first */
  range(key: SeriesKey, from: number, to: number): Promise<Bar[]>;
  list(): Promise<SeriesSummary[]>;
  /** run `fn` so that either all of its writes stay or none do */
  atomically<T>(fn: (store: CandleStore) => Promise<T>): Promise<T>;
}

export function emptyColumns(): BarColumns {
  return { ts: [], open: [], high: [], low: [], close: [], volume: [] };
}

export function pushBar(c: BarColumns, b: Bar): void {
  c.ts.push(b.ts);
  c.open.push(b.open);
  c.high.push(b.high);
  c.low.push(b.low);
  c.close.push(b.close);
  c.volume.push(b.volume);
}

export function seriesId(k: SeriesKey): string {
  return `${k.exchange}|${k.symbol}|${k.timeframe}`;
}
