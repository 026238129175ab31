import { AppError } from '@meridian/core';
import type { Db } from '../db.ts';
import { POSITION_COLUMNS, positionFromRow, type PositionRow, type StoredPosition } from './position-repo.ts';

/**
 * Writes the executor needs beyond the basic repositories: batch outbox marking, dead letters, an
 * order field update that is not a status change, and a locked position read.
 */

/** The relay handed these rows to the queue: count them and release their leases, in one statement. */
export async function markOutboxDispatchedBatch(db: Db, ids: readonly string[], at: number): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    'UPDATE outbox SET dispatched_at = $2, dispatch_count = dispatch_count + 1, claimed_until = NULL WHERE id = ANY($1::uuid[])',
    [ids, at],
  );
}

/** A row that can never be dispatched: acked with the reason, so it is not claimed again. */
export async function deadLetterOutbox(db: Db, id: string, reason: string, at: number): Promise<void> {
  await db.query('UPDATE outbox SET acked_at = $2, dead_reason = $3, claimed_until = NULL WHERE id = $1 AND acked_at IS NULL', [id, at, reason]);
}

/**
 * Same-status changes of an order (a new exchange order id, more filled in an OPEN order): no
 * transition row, because the status did not change. CONFLICT if the status is not `expectedStatus`.
 */
export async function updateOrderFields(
  db: Db,
  orderId: string,
  u: { expectedStatus: string; at: number; exchangeOrderId: string | null; filledQuantity: number; avgFillPrice: number | null; fees: number },
): Promise<void> {
  const r = await db.query(
    `UPDATE orders SET exchange_order_id = $3, filled_quantity = $4, avg_fill_price = $5, fees = $6, updated_at = GREATEST(updated_at, $7)
      WHERE order_id = $1 AND status = $2`,
    [orderId, u.expectedStatus, u.exchangeOrderId, u.filledQuantity, u.avgFillPrice, u.fees, u.at],
  );
  if (r.rowCount !== 1) throw new AppError('CONFLICT', `order ${orderId} is not ${u.expectedStatus} any more`, { hint: 'reload the order and retry' });
}

/** The position row locked until the transaction ends (two fills of one symbol never lose an update). */
export async function getPositionForUpdate(db: Db, exchange: string, symbol: string): Promise<StoredPosition | undefined> {
  const r = await db.query<PositionRow>(`SELECT ${POSITION_COLUMNS} FROM positions WHERE exchange = $1 AND symbol = $2 FOR UPDATE`, [exchange, symbol]);
  const x = r.rows[0];
  return x ? positionFromRow(x) : undefined;
}

/** The close of the newest stored candle of a symbol (any exchange or timeframe): the paper exchange's price. */
export async function latestCandleClose(db: Db, symbol: string): Promise<{ price: number; ts: number } | undefined> {
  const r = await db.query<{ c: number; ts: number }>('SELECT c, ts FROM candles WHERE symbol = $1 ORDER BY ts DESC LIMIT 1', [symbol]);
  const x = r.rows[0];
  return x ? { price: x.c, ts: x.ts } : undefined;
}
