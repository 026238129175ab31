import { AppError, uuidv7 } from '@meridian/core';
import type { RecalledMemory, Timeframe } from '@meridian/contracts';
import type { Db } from '../db.ts';
import { parseVector, vectorParam } from '../vector.ts';

export interface NewMemory {
  /** default: a new UUIDv7 */
  readonly id?: string;
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  /** the situation's time (close time of the bar the features describe) */
  readonly ts: number;
  readonly featureVersion: number;
  readonly embedding: readonly number[];
  readonly horizonBars: number;
  readonly createdAt: number;
}

export interface MemoryOutcome {
  readonly forwardReturn: number;
  readonly mfe: number;
  readonly mae: number;
  /** when the outcome became known (≥ ts + horizon) */
  readonly resolvedAt: number;
}

export interface StoredMemory extends Omit<NewMemory, 'id' | 'embedding'> {
  readonly id: string;
  readonly embedding: number[];
  readonly outcome: MemoryOutcome | null;
}

interface Row {
  id: string;
  exchange: string;
  symbol: string;
  timeframe: Timeframe;
  ts: number;
  feature_version: number;
  embedding: string;
  horizon_bars: number;
  forward_return: number | null;
  mfe: number | null;
  mae: number | null;
  resolved_at: number | null;
  created_at: number;
}

const COLUMNS = 'id, exchange, symbol, timeframe, ts, feature_version, embedding::text AS embedding, horizon_bars, forward_return, mfe, mae, resolved_at, created_at';

function toMemory(r: Row): StoredMemory {
  return {
    id: r.id,
    exchange: r.exchange,
    symbol: r.symbol,
    timeframe: r.timeframe,
    ts: r.ts,
    featureVersion: r.feature_version,
    embedding: parseVector(r.embedding),
    horizonBars: r.horizon_bars,
    createdAt: r.created_at,
    outcome:
      r.resolved_at === null || r.forward_return === null || r.mfe === null || r.mae === null
        ? null
        : { forwardReturn: r.forward_return, mfe: r.mfe, mae: r.mae, resolvedAt: r.resolved_at },
  };
}

/**
 * Store a situation once: a second insert of the same (exchange, symbol, timeframe, ts,
 * featureVersion, horizonBars) keeps the first row and returns its id.
 */
export async function insertMemory(db: Db, m: NewMemory): Promise<{ inserted: boolean; id: string }> {
  const id = m.id ?? uuidv7(m.createdAt);
  const r = await db.query<{ id: string }>(
    `INSERT INTO memories (id, exchange, symbol, timeframe, ts, feature_version, embedding, horizon_bars, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::vector, $8, $9)
     ON CONFLICT (exchange, symbol, timeframe, ts, feature_version, horizon_bars) DO NOTHING
     RETURNING id`,
    [id, m.exchange, m.symbol, m.timeframe, m.ts, m.featureVersion, vectorParam(m.embedding), m.horizonBars, m.createdAt],
  );
  if (r.rows[0]) return { inserted: true, id: r.rows[0].id };
  const existing = await db.query<{ id: string }>(
    `SELECT id FROM memories WHERE exchange = $1 AND symbol = $2 AND timeframe = $3 AND ts = $4 AND feature_version = $5 AND horizon_bars = $6`,
    [m.exchange, m.symbol, m.timeframe, m.ts, m.featureVersion, m.horizonBars],
  );
  const found = existing.rows[0];
  if (!found) throw new AppError('INTERNAL', `memory insert conflicted but no row was found for ${m.symbol} ${m.timeframe} ${m.ts}`);
  return { inserted: false, id: found.id };
}

/** Record a memory's outcome once. Returns false when it was already resolved (or does not exist). */
export async function resolveMemory(db: Db, id: string, outcome: MemoryOutcome): Promise<boolean> {
  const r = await db.query(
    `UPDATE memories SET forward_return = $2, mfe = $3, mae = $4, resolved_at = $5 WHERE id = $1 AND resolved_at IS NULL`,
    [id, outcome.forwardReturn, outcome.mfe, outcome.mae, outcome.resolvedAt],
  );
  return r.rowCount === 1;
}

export async function getMemory(db: Db, id: string): Promise<StoredMemory | undefined> {
  const r = await db.query<Row>(`SELECT ${COLUMNS} FROM memories WHERE id = $1`, [id]);
  return r.rows[0] ? toMemory(r.rows[0]) : undefined;
}

/** Unresolved memories of one series with ts < before, oldest first (for the outcome resolver). */
export async function listUnresolvedMemories(
  db: Db,
  q: { exchange: string; symbol: string; timeframe: Timeframe; before: number; featureVersion?: number; limit?: number },
): Promise<StoredMemory[]> {
  const r = await db.query<Row>(
    `SELECT ${COLUMNS} FROM memories
      WHERE exchange = $1 AND symbol = $2 AND timeframe = $3 AND resolved_at IS NULL AND ts < $4
        AND ($6::integer IS NULL OR feature_version = $6)
      ORDER BY ts, id LIMIT $5`,
    [q.exchange, q.symbol, q.timeframe, q.before, q.limit ?? 1000, q.featureVersion ?? null],
  );
  return r.rows.map(toMemory);
}

export interface RecallQuery {
  readonly embedding: readonly number[];
  readonly featureVersion: number;
  /** only outcomes known at this time (resolved_at ≤ asOf): no look-ahead */
  readonly asOf: number;
  readonly k: number;
  readonly timeframe?: Timeframe;
  readonly exchange?: string;
  /** omit for all symbols */
  readonly symbol?: string;
  readonly horizonBars?: number;
}

/**
 * Exact k nearest neighbours by Euclidean distance (`<->`) among resolved memories.
 * Ties break by ts then id, so a backtest recalls the same neighbours on every run.
 */
export async function recallMemories(db: Db, q: RecallQuery): Promise<RecalledMemory[]> {
  const r = await db.query<RecalledMemoryRow>(
    `SELECT id, exchange, symbol, timeframe, ts, horizon_bars, forward_return, mfe, mae, resolved_at,
            embedding <-> $1::vector AS distance
       FROM memories
      WHERE feature_version = $2 AND resolved_at IS NOT NULL AND resolved_at <= $3
        AND ($5::text IS NULL OR timeframe = $5) AND ($6::text IS NULL OR exchange = $6)
        AND ($7::text IS NULL OR symbol = $7) AND ($8::integer IS NULL OR horizon_bars = $8)
      ORDER BY embedding <-> $1::vector, ts, id
      LIMIT $4`,
    [vectorParam(q.embedding), q.featureVersion, q.asOf, q.k, q.timeframe ?? null, q.exchange ?? null, q.symbol ?? null, q.horizonBars ?? null],
  );
  return r.rows.map(recalledMemoryFromRow);
}

/** A recall row (memory columns + `distance`) as the contracts' RecalledMemory; shared by every recall query. */
export interface RecalledMemoryRow {
  id: string;
  exchange: string;
  symbol: string;
  timeframe: Timeframe;
  ts: number;
  horizon_bars: number;
  forward_return: number | null;
  mfe: number | null;
  mae: number | null;
  resolved_at: number | null;
  distance: number;
}

export function recalledMemoryFromRow(x: RecalledMemoryRow): RecalledMemory {
  // recall queries filter on resolved_at, and the table's CHECK keeps a resolved outcome complete
  if (x.forward_return === null || x.mfe === null || x.mae === null || x.resolved_at === null) {
    throw new AppError('DATA_INTEGRITY', `memory ${x.id} is resolved without a complete outcome`);
  }
  return {
    memoryId: x.id,
    exchange: x.exchange,
    symbol: x.symbol,
    timeframe: x.timeframe,
    ts: x.ts,
    distance: x.distance,
    horizonBars: x.horizon_bars,
    forwardReturn: x.forward_return,
    mfe: x.mfe,
    mae: x.mae,
    resolvedAt: x.resolved_at,
  };
}
