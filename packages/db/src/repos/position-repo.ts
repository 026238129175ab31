import { AppError } from '@meridian/core';
import type { Db } from '../db.ts';

/**
 * What is stored of a position. Mark-dependent values of the `Position` message
 * (markPrice, notional, unrealizedPnl) are computed from the latest price, not stored.
 */
export interface StoredPosition {
  readonly exchange: string;
  readonly symbol: string;
  /** signed base quantity: > 0 long, < 0 short, 0 flat */
  readonly quantity: number;
  readonly avgEntryPrice: number;
  readonly realizedPnl: number;
  readonly openedAt: number | null;
  readonly updatedAt: number;
}

/** A positions row as a query returns it (also when built with json_build_object, where numbers may be text). */
export interface PositionRow {
  exchange: string;
  symbol: string;
  quantity: number | string;
  avg_entry_price: number | string;
  realized_pnl: number | string;
  opened_at: number | string | null;
  updated_at: number | string;
}

/** The positions columns, in PositionRow's order, for a select-list or RETURNING. */
export const POSITION_COLUMNS = 'exchange, symbol, quantity, avg_entry_price, realized_pnl, opened_at, updated_at';

/** The one mapping of a positions row to a StoredPosition. */
export const positionFromRow = (r: PositionRow): StoredPosition => ({
  exchange: r.exchange,
  symbol: r.symbol,
  quantity: Number(r.quantity),
  avgEntryPrice: Number(r.avg_entry_price),
  realizedPnl: Number(r.realized_pnl),
  openedAt: r.opened_at === null ? null : Number(r.opened_at),
  updatedAt: Number(r.updated_at),
});

/** Write the position as computed by the execution package (last write wins). */
export async function upsertPosition(db: Db, p: StoredPosition): Promise<StoredPosition> {
  const r = await db.query<PositionRow>(
    `INSERT INTO positions (${POSITION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (exchange, symbol) DO UPDATE
       SET quantity = excluded.quantity, avg_entry_price = excluded.avg_entry_price, realized_pnl = excluded.realized_pnl,
           opened_at = excluded.opened_at, updated_at = excluded.updated_at
     RETURNING ${POSITION_COLUMNS}`,
    [p.exchange, p.symbol, p.quantity, p.avgEntryPrice, p.realizedPnl, p.openedAt, p.updatedAt],
  );
  if (!r.rows[0]) throw new AppError('INTERNAL', 'position upsert returned no row');
  return positionFromRow(r.rows[0]);
}

export async function getPosition(db: Db, exchange: string, symbol: string): Promise<StoredPosition | undefined> {
  const r = await db.query<PositionRow>(`SELECT ${POSITION_COLUMNS} FROM positions WHERE exchange = $1 AND symbol = $2`, [exchange, symbol]);
  return r.rows[0] ? positionFromRow(r.rows[0]) : undefined;
}

/** All positions (including flat ones unless `openOnly`), by exchange and symbol. */
export async function listPositions(db: Db, opts: { exchange?: string; openOnly?: boolean } = {}): Promise<StoredPosition[]> {
  const r = await db.query<PositionRow>(
    `SELECT ${POSITION_COLUMNS} FROM positions
      WHERE ($1::text IS NULL OR exchange = $1) AND (NOT $2::boolean OR quantity <> 0)
      ORDER BY exchange, symbol`,
    [opts.exchange ?? null, opts.openOnly ?? false],
  );
  return r.rows.map(positionFromRow);
}
