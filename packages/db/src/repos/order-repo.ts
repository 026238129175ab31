import { AppError } from '@meridian/core';
import {
  ApprovalSchema,
  OrderRequestSchema,
  OrderSchema,
  SCHEMA_VERSION,
  TERMINAL_ORDER_STATUSES,
  type Approval,
  type Order,
  type OrderRequest,
  type OrderStatus,
  type OrderType,
  type Side,
} from '@meridian/contracts';
import { jsonParam, type Db } from '../db.ts';
import { parseWith } from '../validate.ts';

/** An order with the signed approval and the request it was created from (null for orders not from the risk gate). */
export interface StoredOrder extends Order {
  readonly approval: Approval | null;
  readonly request: OrderRequest | null;
}

export interface OrderTransition {
  readonly id: number;
  readonly orderId: string;
  readonly from: OrderStatus | null;
  readonly to: OrderStatus;
  readonly at: number;
  readonly reason: string | null;
}

interface Row {
  order_id: string;
  decision_id: string;
  exchange: string;
  symbol: string;
  side: Side;
  type: OrderType;
  quantity: number;
  limit_price: number | null;
  status: OrderStatus;
  status_reason: string | null;
  exchange_order_id: string | null;
  filled_quantity: number;
  avg_fill_price: number | null;
  fees: number;
  approval: unknown;
  request: unknown;
  created_at: number;
  updated_at: number;
}

const COLUMNS =
  'order_id, decision_id, exchange, symbol, side, type, quantity, limit_price, status, status_reason, exchange_order_id, filled_quantity, avg_fill_price, fees, approval, request, created_at, updated_at';

/** the same literal list as the orders_open_idx predicate, so the planner can use that index */
const NON_TERMINAL = `status NOT IN (${TERMINAL_ORDER_STATUSES.map((s) => `'${s}'`).join(', ')})`;

function toOrder(r: Row): StoredOrder {
  return {
    schemaVersion: SCHEMA_VERSION,
    orderId: r.order_id,
    decisionId: r.decision_id,
    exchange: r.exchange,
    symbol: r.symbol,
    side: r.side,
    type: r.type,
    quantity: r.quantity,
    limitPrice: r.limit_price,
    status: r.status,
    statusReason: r.status_reason,
    exchangeOrderId: r.exchange_order_id,
    filledQuantity: r.filled_quantity,
    avgFillPrice: r.avg_fill_price,
    fees: r.fees,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    approval: r.approval === null ? null : parseWith(ApprovalSchema, r.approval, `approval of order ${r.order_id}`, 'DATA_INTEGRITY'),
    request: r.request === null ? null : parseWith(OrderRequestSchema, r.request, `request of order ${r.order_id}`, 'DATA_INTEGRITY'),
  };
}

async function insertTransition(db: Db, orderId: string, from: OrderStatus | null, to: OrderStatus, at: number, reason: string | null): Promise<void> {
  await db.query('INSERT INTO order_transitions (order_id, from_status, to_status, at, reason) VALUES ($1, $2, $3, $4, $5)', [
    orderId,
    from,
    to,
    at,
    reason,
  ]);
}

/**
 * Record a new order and its first transition (null → status). Idempotent on the order id
 * (the client order id): inserting it again returns the stored order with `inserted: false`.
 */
export async function insertOrder(
  db: Db,
  input: { order: Order; approval?: Approval | null; request?: OrderRequest | null },
): Promise<{ inserted: boolean; order: StoredOrder }> {
  const o = parseWith(OrderSchema, input.order, 'order', 'VALIDATION');
  const approval = input.approval ?? input.request?.approval ?? null;
  return db.transaction(async (tx) => {
    const r = await tx.query<Row>(
      `INSERT INTO orders (order_id, decision_id, exchange, symbol, side, type, quantity, limit_price, status, status_reason,
                           exchange_order_id, filled_quantity, avg_fill_price, fees, approval, request, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, $16::jsonb, $17, $18)
       ON CONFLICT (order_id) DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        o.orderId,
        o.decisionId,
        o.exchange,
        o.symbol,
        o.side,
        o.type,
        o.quantity,
        o.limitPrice,
        o.status,
        o.statusReason,
        o.exchangeOrderId,
        o.filledQuantity,
        o.avgFillPrice,
        o.fees,
        approval === null ? null : jsonParam(approval),
        input.request ? jsonParam(input.request) : null,
        o.createdAt,
        o.updatedAt,
      ],
    );
    const row = r.rows[0];
    if (row) {
      await insertTransition(tx, o.orderId, null, o.status, o.createdAt, o.statusReason);
      return { inserted: true, order: toOrder(row) };
    }
    const existing = await getOrder(tx, o.orderId);
    if (!existing) throw new AppError('INTERNAL', `order ${o.orderId} conflicted but was not found`);
    return { inserted: false, order: existing };
  });
}

export async function getOrder(db: Db, orderId: string): Promise<StoredOrder | undefined> {
  const r = await db.query<Row>(`SELECT ${COLUMNS} FROM orders WHERE order_id = $1`, [orderId]);
  return r.rows[0] ? toOrder(r.rows[0]) : undefined;
}

/** Every order not in a terminal state, oldest first (reconciliation on executor start). */
export async function listOpenOrders(db: Db, opts: { exchange?: string } = {}): Promise<StoredOrder[]> {
  const r = await db.query<Row>(
    `SELECT ${COLUMNS} FROM orders WHERE ${NON_TERMINAL} AND ($1::text IS NULL OR exchange = $1) ORDER BY created_at, order_id`,
    [opts.exchange ?? null],
  );
  return r.rows.map(toOrder);
}

/** Newest first. */
export async function listOrders(db: Db, opts: { decisionId?: string; before?: number; limit?: number } = {}): Promise<StoredOrder[]> {
  const r = await db.query<Row>(
    `SELECT ${COLUMNS} FROM orders
      WHERE ($1::uuid IS NULL OR decision_id = $1) AND ($2::bigint IS NULL OR created_at < $2)
      ORDER BY created_at DESC, order_id DESC LIMIT $3`,
    [opts.decisionId ?? null, opts.before ?? null, opts.limit ?? 100],
  );
  return r.rows.map(toOrder);
}

export interface OrderUpdate {
  /** the status the caller believes the order has (one of them); CONFLICT otherwise */
  readonly expectedStatus: OrderStatus | readonly OrderStatus[];
  readonly status: OrderStatus;
  readonly at: number;
  readonly reason?: string | null;
  readonly filledQuantity?: number;
  readonly avgFillPrice?: number | null;
  readonly fees?: number;
  readonly exchangeOrderId?: string | null;
}

/**
 * Change an order and record the transition, in one transaction, with the row locked.
 * Whether the transition is legal is the execution package's state machine; this checks
 * only that nobody moved the order since the caller read it, and that the result is a valid Order.
 */
export async function updateOrder(db: Db, orderId: string, u: OrderUpdate): Promise<StoredOrder> {
  return db.transaction(async (tx) => {
    const r = await tx.query<Row>(`SELECT ${COLUMNS} FROM orders WHERE order_id = $1 FOR UPDATE`, [orderId]);
    if (!r.rows[0]) throw new AppError('NOT_FOUND', `order ${orderId} does not exist`);
    const cur = toOrder(r.rows[0]);
    const expected: readonly OrderStatus[] = typeof u.expectedStatus === 'string' ? [u.expectedStatus] : u.expectedStatus;
    if (!expected.includes(cur.status)) {
      throw new AppError('CONFLICT', `order ${orderId} is ${cur.status}, not ${expected.join(' or ')}`, {
        hint: 'another process updated it; reload the order and retry',
      });
    }
    const { approval: _approval, request: _request, ...base } = cur;
    const next = parseWith(
      OrderSchema,
      {
        ...base,
        status: u.status,
        statusReason: u.reason === undefined ? cur.statusReason : u.reason,
        filledQuantity: u.filledQuantity ?? cur.filledQuantity,
        avgFillPrice: u.avgFillPrice === undefined ? cur.avgFillPrice : u.avgFillPrice,
        fees: u.fees ?? cur.fees,
        exchangeOrderId: u.exchangeOrderId === undefined ? cur.exchangeOrderId : u.exchangeOrderId,
        updatedAt: u.at,
      },
      `order ${orderId} after update`,
      'VALIDATION',
    );
    const w = await tx.query<Row>(
      `UPDATE orders SET status = $2, status_reason = $3, filled_quantity = $4, avg_fill_price = $5, fees = $6,
                         exchange_order_id = $7, updated_at = $8
        WHERE order_id = $1 RETURNING ${COLUMNS}`,
      [orderId, next.status, next.statusReason, next.filledQuantity, next.avgFillPrice, next.fees, next.exchangeOrderId, next.updatedAt],
    );
    const row = w.rows[0];
    if (!row) throw new AppError('INTERNAL', `order ${orderId} vanished during update`);
    await insertTransition(tx, orderId, cur.status, next.status, u.at, u.reason ?? null);
    return toOrder(row);
  });
}

/** Oldest first. */
export async function listOrderTransitions(db: Db, orderId: string): Promise<OrderTransition[]> {
  const r = await db.query<{ id: number; order_id: string; from_status: OrderStatus | null; to_status: OrderStatus; at: number; reason: string | null }>(
    'SELECT id, order_id, from_status, to_status, at, reason FROM order_transitions WHERE order_id = $1 ORDER BY id',
    [orderId],
  );
  return r.rows.map((x) => ({ id: x.id, orderId: x.order_id, from: x.from_status, to: x.to_status, at: x.at, reason: x.reason }));
}
