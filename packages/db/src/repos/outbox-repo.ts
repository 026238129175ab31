import { uuidv7 } from '@meridian/core';
import { jsonParam, type Db } from '../db.ts';

/**
 * Orders on their way to the executor. The payload's schema belongs to the queue job that
 * carries it (packages/queue); this table only guarantees that nothing is lost.
 */
export interface OutboxEntry {
  readonly id: string;
  readonly orderId: string;
  readonly payload: unknown;
  readonly createdAt: number;
  readonly claimedUntil: number | null;
  readonly dispatchedAt: number | null;
  readonly dispatchCount: number;
  readonly ackedAt: number | null;
}

interface Row {
  id: string;
  order_id: string;
  payload: unknown;
  created_at: number;
  claimed_until: number | null;
  dispatched_at: number | null;
  dispatch_count: number;
  acked_at: number | null;
}

const COLUMNS = 'id, order_id, payload, created_at, claimed_until, dispatched_at, dispatch_count, acked_at';

const toEntry = (r: Row): OutboxEntry => ({
  id: r.id,
  orderId: r.order_id,
  payload: r.payload,
  createdAt: r.created_at,
  claimedUntil: r.claimed_until,
  dispatchedAt: r.dispatched_at,
  dispatchCount: r.dispatch_count,
  ackedAt: r.acked_at,
});

/** Add an order to the outbox, once per order id (call it in the transaction that records the decision). */
export async function insertOutbox(db: Db, e: { orderId: string; payload: unknown; createdAt: number; id?: string }): Promise<{ inserted: boolean }> {
  const r = await db.query(
    'INSERT INTO outbox (id, order_id, payload, created_at) VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT DO NOTHING',
    [e.id ?? uuidv7(e.createdAt), e.orderId, jsonParam(e.payload), e.createdAt],
  );
  return { inserted: r.rowCount === 1 };
}

export interface ClaimOptions {
  readonly now: number;
  /** at most this many entries (default 100) */
  readonly limit?: number;
  /** the claim expires after this long if the claimer dies before marking dispatch (default 30 s) */
  readonly leaseMs?: number;
  /** a dispatched entry not acked after this long is handed out again (default 60 s) */
  readonly redeliverAfterMs?: number;
}

/**
 * Lease unacked entries that are not dispatched yet, or dispatched too long ago without an
 * ack, and not leased by someone else. Concurrent relays get disjoint sets (SKIP LOCKED).
 * Oldest first.
 */
export async function claimOutbox(db: Db, o: ClaimOptions): Promise<OutboxEntry[]> {
  const r = await db.query<Row>(
    `UPDATE outbox SET claimed_until = $2::bigint + $3::bigint
      WHERE id IN (
        SELECT id FROM outbox
         WHERE acked_at IS NULL
           AND (claimed_until IS NULL OR claimed_until <= $2::bigint)
           AND (dispatched_at IS NULL OR dispatched_at <= $2::bigint - $4::bigint)
         ORDER BY created_at, id
         LIMIT $1
         FOR UPDATE SKIP LOCKED)
      RETURNING ${COLUMNS}`,
    [o.limit ?? 100, o.now, o.leaseMs ?? 30_000, o.redeliverAfterMs ?? 60_000],
  );
  return r.rows.map(toEntry).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}

/** The entry was handed to the queue: count it and release the lease. */
export async function markOutboxDispatched(db: Db, id: string, at: number): Promise<void> {
  await db.query('UPDATE outbox SET dispatched_at = $2, dispatch_count = dispatch_count + 1, claimed_until = NULL WHERE id = $1', [id, at]);
}

/** The executor has the order: never dispatch it again. Returns false if it was already acked or is unknown. */
export async function ackOutbox(db: Db, orderId: string, at: number): Promise<boolean> {
  const r = await db.query('UPDATE outbox SET acked_at = $2 WHERE order_id = $1 AND acked_at IS NULL', [orderId, at]);
  return r.rowCount === 1;
}

export async function getOutboxEntry(db: Db, orderId: string): Promise<OutboxEntry | undefined> {
  const r = await db.query<Row>(`SELECT ${COLUMNS} FROM outbox WHERE order_id = $1`, [orderId]);
  return r.rows[0] ? toEntry(r.rows[0]) : undefined;
}
