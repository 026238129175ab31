import { SCHEMA_VERSION, type Candle, type Timeframe } from '@meridian/contracts';
import { namedStatement, type Db } from '../db.ts';

/** The stored fields of a candle (a `Candle` message fits). */
export type CandleRow = Pick<Candle, 'exchange' | 'symbol' | 'timeframe' | 'ts' | 'open' | 'high' | 'low' | 'close' | 'volume'>;

export interface UpsertCandlesResult {
  /** new bars */
  readonly inserted: number;
  /** bars that existed with different values (a corrected or re-closed bar) and were overwritten */
  readonly updated: number;
  /** bars that existed with identical values */
  readonly unchanged: number;
}

/** rows per statement: one round trip and nine array parameters each, whatever the size */
export const CANDLE_BATCH_SIZE = 5000;

// named: the worker runs it on every event
const UPSERT = namedStatement(`
INSERT INTO candles AS t (exchange, symbol, timeframe, ts, o, h, l, c, v)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[],
                     $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[])
ON CONFLICT (exchange, symbol, timeframe, ts) DO UPDATE
  SET o = excluded.o, h = excluded.h, l = excluded.l, c = excluded.c, v = excluded.v
  WHERE (t.o, t.h, t.l, t.c, t.v) IS DISTINCT FROM (excluded.o, excluded.h, excluded.l, excluded.c, excluded.v)
RETURNING (xmax = 0) AS inserted`);

const keyOf = (c: CandleRow) => `${c.exchange}\u0000${c.symbol}\u0000${c.timeframe}\u0000${c.ts}`;

/**
 * Insert or correct candles in batches (array parameters + unnest: a fixed statement, fast
 * on both engines). Identical bars are left alone and counted as unchanged. When the input
 * holds one bar twice, the last one wins; counts are over distinct bars.
 * Validation is the caller's job (packages/market); the table only refuses low > high or volume < 0.
 */
export async function upsertCandles(db: Db, candles: readonly CandleRow[], opts: { batchSize?: number } = {}): Promise<UpsertCandlesResult> {
  const distinct = [...new Map(candles.map((c) => [keyOf(c), c])).values()];
  const size = opts.batchSize ?? CANDLE_BATCH_SIZE;
  let inserted = 0;
  let updated = 0;
  for (let i = 0; i < distinct.length; i += size) {
    const batch = distinct.slice(i, i + size);
    const r = await db.query<{ inserted: boolean }>(UPSERT, [
      batch.map((c) => c.exchange),
      batch.map((c) => c.symbol),
      batch.map((c) => c.timeframe),
      batch.map((c) => c.ts),
      batch.map((c) => c.open),
      batch.map((c) => c.high),
      batch.map((c) => c.low),
      batch.map((c) => c.close),
      batch.map((c) => c.volume),
    ]);
    const ins = r.rows.filter((x) => x.inserted).length;
    inserted += ins;
    updated += r.rows.length - ins;
  }
  return { inserted, updated, unchanged: distinct.length - inserted - updated };
}

export interface CandleRange {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  /** inclusive open time */
  readonly from?: number;
  /** exclusive open time */
  readonly to?: number;
  readonly limit?: number;
}

interface Row {
  exchange: string;
  symbol: string;
  timeframe: Timeframe;
  ts: number;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
}

/** Candles of one series with from ≤ ts < to, oldest first. */
export async function readCandles(db: Db, q: CandleRange): Promise<Candle[]> {
  const r = await db.query<Row>(
    `SELECT exchange, symbol, timeframe, ts, o, h, l, c, v FROM candles
      WHERE exchange = $1 AND symbol = $2 AND timeframe = $3
        AND ($4::bigint IS NULL OR ts >= $4::bigint) AND ($5::bigint IS NULL OR ts < $5::bigint)
      ORDER BY ts
      LIMIT $6::bigint`,
    [q.exchange, q.symbol, q.timeframe, q.from ?? null, q.to ?? null, q.limit ?? null],
  );
  return r.rows.map((x) => ({
    schemaVersion: SCHEMA_VERSION,
    exchange: x.exchange,
    symbol: x.symbol,
    timeframe: x.timeframe,
    ts: x.ts,
    open: x.o,
    high: x.h,
    low: x.l,
    close: x.c,
    volume: x.v,
  }));
}

export interface CandleSeriesStats {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: string;
  /** open time of the first and last bar */
  readonly first: number;
  readonly last: number;
  readonly count: number;
}

/** One line per stored series, optionally narrowed by exchange/symbol/timeframe. */
export async function candleStats(db: Db, filter: { exchange?: string; symbol?: string; timeframe?: string } = {}): Promise<CandleSeriesStats[]> {
  const r = await db.query<{ exchange: string; symbol: string; timeframe: string; first: number; last: number; count: number }>(
    `SELECT exchange, symbol, timeframe, min(ts) AS first, max(ts) AS last, count(*) AS count FROM candles
      WHERE ($1::text IS NULL OR exchange = $1) AND ($2::text IS NULL OR symbol = $2) AND ($3::text IS NULL OR timeframe = $3)
      GROUP BY exchange, symbol, timeframe
      ORDER BY exchange, symbol, timeframe`,
    [filter.exchange ?? null, filter.symbol ?? null, filter.timeframe ?? null],
  );
  return r.rows;
}
