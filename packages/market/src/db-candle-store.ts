import { TIMEFRAME_MS, type Timeframe } from '@meridian/contracts';
import { type Db, candleStats, isUniqueViolation, readCandles } from '@meridian/db';
import type { Bar, SeriesKey } from './bar.ts';
import type { BarColumns, CandleStore, SeriesSummary, UpsertCounts } from './candle-store.ts';

/**
 * CandleStore on the `candles` table (migration 0001, packages/db) for PGlite and server
 * Postgres. Reads go through @meridian/db's candle repository; the bulk upsert is a columnar
 * variant of its `upsertCandles`: the series key is bound once and each column is one array,
 * so a 5,000-bar batch is one statement with seven parameters, and the database reports how
 * many rows it inserted and changed in a single row (identical bars are not written).
 */
const UPSERT = `
WITH w AS (
  INSERT INTO candles AS t (exchange, symbol, timeframe, ts, o, h, l, c, v)
  SELECT $1::text, $2::text, $3::text, u.ts, u.o, u.h, u.l, u.c, u.v
    FROM unnest($4::bigint[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[]) AS u(ts, o, h, l, c, v)
  ON CONFLICT (exchange, symbol, timeframe, ts) DO UPDATE
    SET o = excluded.o, h = excluded.h, l = excluded.l, c = excluded.c, v = excluded.v
    WHERE (t.o, t.h, t.l, t.c, t.v) IS DISTINCT FROM (excluded.o, excluded.h, excluded.l, excluded.c, excluded.v)
  RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*)::int AS written FROM w`;

/** the same rows as UPSERT, for a batch whose time range holds no stored bar yet (the usual first import) */
const INSERT_NEW = `
INSERT INTO candles (exchange, symbol, timeframe, ts, o, h, l, c, v)
SELECT $1::text, $2::text, $3::text, u.ts, u.o, u.h, u.l, u.c, u.v
  FROM unnest($4::bigint[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[]) AS u(ts, o, h, l, c, v)`;

const ANY_STORED = `
SELECT EXISTS (SELECT 1 FROM candles WHERE exchange = $1 AND symbol = $2 AND timeframe = $3 AND ts BETWEEN $4::bigint AND $5::bigint) AS any`;

function arrayLiteral(xs: readonly number[]): string {
  return `{${xs.join(',')}}`;
}

export class DbCandleStore implements CandleStore {
  constructor(readonly db: Db) {}

  async upsert(key: SeriesKey, b: BarColumns): Promise<UpsertCounts> {
    if (b.ts.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
    // arrays go as Postgres array literals built with join(): several times faster than the
    // driver's per-element array serialisation, and exact (JS prints the shortest round-trip
    // form of each double, which float8in reads back to the same bits)
    const params = [
      key.exchange,
      key.symbol,
      key.timeframe,
      arrayLiteral(b.ts),
      arrayLiteral(b.open),
      arrayLiteral(b.high),
      arrayLiteral(b.low),
      arrayLiteral(b.close),
      arrayLiteral(b.volume),
    ];
    // Fast path: nothing stored in the batch's range (a first import) → a plain INSERT, which skips
    // ON CONFLICT's speculative insertion. A row that appears meanwhile (a concurrent writer) makes it
    // fail with a unique violation inside its own savepoint, and the batch is upserted as usual.
    let lo = Infinity;
    let hi = -Infinity;
    for (const t of b.ts) {
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    const stored = await this.db.query<{ any: boolean }>(ANY_STORED, [key.exchange, key.symbol, key.timeframe, lo, hi]);
    if (stored.rows[0]?.any === false) {
      try {
        await this.db.transaction((tx) => tx.query(INSERT_NEW, params));
        return { inserted: b.ts.length, updated: 0, unchanged: 0 };
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
      }
    }
    const r = await this.db.query<{ inserted: number; written: number }>(UPSERT, params);
    const row = r.rows[0] ?? { inserted: 0, written: 0 };
    return { inserted: row.inserted, updated: row.written - row.inserted, unchanged: b.ts.length - row.written };
  }

  async lastTs(key: SeriesKey): Promise<number | null> {
    const r = await this.db.query<{ last: number | null }>(
      'SELECT max(ts) AS last FROM candles WHERE exchange = $1 AND symbol = $2 AND timeframe = $3',
      [key.exchange, key.symbol, key.timeframe],
    );
    return r.rows[0]?.last ?? null;
  }

  async range(key: SeriesKey, from: number, to: number): Promise<Bar[]> {
    const rows = await readCandles(this.db, { ...key, from, to });
    return rows.map((c) => ({ ts: c.ts, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume }));
  }

  async list(): Promise<SeriesSummary[]> {
    const stats = await candleStats(this.db);
    const out: SeriesSummary[] = [];
    for (const s of stats) {
      const tfMs = TIMEFRAME_MS[s.timeframe as Timeframe];
      if (tfMs === undefined) continue; // a timeframe this version does not know: not ours to summarise
      // holes = steps between consecutive bars longer than one timeframe (index-only scan of the key)
      const r = await this.db.query<{ runs: number }>(
        `SELECT count(*)::int AS runs FROM (
           SELECT ts - lag(ts) OVER (ORDER BY ts) AS step FROM candles
            WHERE exchange = $1 AND symbol = $2 AND timeframe = $3) x
          WHERE step > $4::bigint`,
        [s.exchange, s.symbol, s.timeframe, tfMs],
      );
      out.push({
        exchange: s.exchange,
        symbol: s.symbol,
        timeframe: s.timeframe as Timeframe,
        first: s.first,
        last: s.last,
        count: s.count,
        missingBars: (s.last - s.first) / tfMs + 1 - s.count,
        gapRuns: r.rows[0]?.runs ?? 0,
      });
    }
    return out;
  }

  atomically<T>(fn: (store: CandleStore) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new DbCandleStore(tx)));
  }
}
