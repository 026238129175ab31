import {
  ExecutionReportSchema,
  FillSchema,
  OrderSchema,
  SCHEMA_VERSION,
  type ExecutionReport,
  type Fill,
  type Order,
  type OrderRequest,
  type OrderStatus,
} from '@meridian/contracts';
import { GLOBAL_SCOPE, getOrder, insertOrder, jsonParam, listFills, positionFromRow, type Db, type PositionRow, type StoredOrder, type StoredPosition } from '@meridian/db';
import { AppError } from '@meridian/core';
import type { ExchangeOrder } from './exchange-adapter.ts';
import { transition, type OrderUpdate } from './order-state-machine.ts';
import { syncOrder } from './order-sync.ts';
import { positionAfterFill } from './position-update.ts';

export interface StoreResult {
  readonly order: StoredOrder;
  /** the report published with this change (null when nothing changed) */
  readonly report: ExecutionReport | null;
  /** fills stored for the first time */
  readonly newFills: readonly Fill[];
  /** true when the order's outbox row was acked in the same transaction (`WriteOptions.ack`) */
  readonly acked: boolean;
}

export interface WriteOptions {
  /**
   * Also ack the order's outbox row in the same statement/transaction when the stored order has left NEW and
   * SUBMITTING (the executor's "handed over" rule), so the result and the ack commit together.
   */
  readonly ack?: boolean;
}

export interface CreateOptions extends WriteOptions {
  /**
   * Write only if the global trading state is stored ACTIVE or was never set — i.e. effectively ACTIVE with
   * no rule to apply (only a stored HALTED can be effectively ACTIVE, after its `until`). Otherwise nothing is
   * written and `blocked` is true: the caller runs its full trading-state check. Read in the same statement,
   * so the kill switch is seen as of the insert itself.
   */
  readonly requireTradingActive?: boolean;
}

/** NEW and SUBMITTING orders are still the outbox's: everything else may be acked */
const handedOver = (s: OrderStatus): boolean => s !== 'NEW' && s !== 'SUBMITTING';

/**
 * Persists the order lifecycle: every status change goes through the state machine first (an illegal
 * transition is a CONFLICT and writes nothing), and is stored together with its transition rows (time and
 * reason), the new fills (idempotent by fill id), the positions those fills move (PortfolioLedger
 * accounting, row locked), an ExecutionReport and optionally the outbox ack — all atomically, so a crash
 * leaves either the old order or the whole new one.
 *
 * This is the executor's hot path, so the writes are folded into as few round trips as possible (the
 * repository functions each open a savepoint and check one thing per statement): creating an order with its
 * first step, and a status change, are ONE statement each (data-modifying CTEs are atomic on their own);
 * applying an exchange answer is BEGIN + 2 statements + COMMIT. The guards stay the same: the order is only
 * changed if it still has the status the caller read (else CONFLICT, nothing written), every order and fill
 * is validated against its contracts schema before it is written.
 */
export class OrderStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  get(orderId: string): Promise<StoredOrder | undefined> {
    return getOrder(this.#db, orderId);
  }

  /** The order as the risk gate approved it, status NEW. Idempotent on the order id. */
  async createFromRequest(req: OrderRequest, at: number): Promise<{ order: StoredOrder; inserted: boolean }> {
    return insertOrder(this.#db, { order: newOrder(req, at), request: req });
  }

  /**
   * Store a new order and its first step in one statement (null → NEW → `to`, both transition rows, the
   * report, and with `ack` the outbox ack when `to` is REJECTED/FAILED): the executor's fast path, where the
   * preflight already decided SUBMITTING (or REJECTED). Idempotent: if the order exists, nothing is written,
   * `inserted` is false and the stored order is returned.
   */
  async createAndTransition(
    req: OrderRequest,
    to: OrderStatus,
    reason: string,
    at: number,
    opts: CreateOptions = {},
  ): Promise<StoreResult & { inserted: boolean; blocked: boolean }> {
    const created = newOrder(req, at);
    const r = transition(created, to, reason, at);
    if (!r.ok) throw r.error;
    const next = validOrder(r.value.order);
    const stored: StoredOrder = { ...next, approval: req.approval, request: req };
    const report = validReport(reportOf(next, 'NEW', [], reason, at));
    const ack = opts.ack === true && handedOver(to);
    const q = await this.#db.query<{ n: number; open: boolean }>(
      `WITH gate AS (
         SELECT NOT $22::boolean OR NOT EXISTS (SELECT 1 FROM trading_state WHERE scope = $23 AND state <> 'ACTIVE') AS open),
       ins AS (
         INSERT INTO orders (order_id, decision_id, exchange, symbol, side, type, quantity, limit_price, status, status_reason,
                             exchange_order_id, filled_quantity, avg_fill_price, fees, approval, request, created_at, updated_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, $16::jsonb, $17, $18 FROM gate WHERE gate.open
         ON CONFLICT (order_id) DO NOTHING
         RETURNING order_id),
       tr AS (
         INSERT INTO order_transitions (order_id, from_status, to_status, at, reason)
         SELECT ins.order_id, t.from_status, t.to_status, $17, t.reason
           FROM ins, (VALUES (1, NULL::text, 'NEW'::text, $19::text), (2, 'NEW'::text, $9::text, $10::text)) AS t(n, from_status, to_status, reason)
          ORDER BY t.n),
       rep AS (
         INSERT INTO execution_reports (order_id, status, report, created_at) SELECT ins.order_id, $9, $20::jsonb, $17 FROM ins),
       ack AS (
         UPDATE outbox SET acked_at = $17 WHERE order_id = $1 AND acked_at IS NULL AND $21::boolean AND EXISTS (SELECT 1 FROM ins))
       SELECT (SELECT count(*)::int FROM ins) AS n, (SELECT open FROM gate) AS open`,
      [
        next.orderId,
        next.decisionId,
        next.exchange,
        next.symbol,
        next.side,
        next.type,
        next.quantity,
        next.limitPrice,
        next.status,
        next.statusReason,
        next.exchangeOrderId,
        next.filledQuantity,
        next.avgFillPrice,
        next.fees,
        jsonParam(req.approval),
        jsonParam(req),
        at,
        next.updatedAt,
        created.statusReason,
        jsonParam(report),
        ack,
        opts.requireTradingActive === true,
        GLOBAL_SCOPE,
      ],
    );
    const row = q.rows[0];
    if (row?.n === 1) return { order: stored, report, newFills: [], acked: ack, inserted: true, blocked: false };
    const existing = await getOrder(this.#db, req.orderId);
    if (row?.open === false) return { order: existing ?? stored, report: null, newFills: [], acked: false, inserted: false, blocked: true };
    if (!existing) throw new AppError('INTERNAL', `order ${req.orderId} conflicted but was not found`);
    return { order: existing, report: null, newFills: [], acked: false, inserted: false, blocked: false };
  }

  /** One status change, checked by the state machine; one statement (order, transition row, report[, ack]). */
  async transition(order: StoredOrder, to: OrderStatus, reason: string, at: number, update: OrderUpdate = {}, opts: WriteOptions = {}): Promise<StoreResult> {
    const r = transition(order, to, reason, at, update);
    if (!r.ok) throw r.error;
    const { approval, request } = order;
    const next = validOrder(stripStored(r.value.order));
    const report = validReport(reportOf(next, order.status, [], reason, at));
    const ack = opts.ack === true && handedOver(to);
    const q = await this.#db.query<{ n: number }>(
      `WITH upd AS (
         UPDATE orders SET status = $3, status_reason = $4, filled_quantity = $5, avg_fill_price = $6, fees = $7, exchange_order_id = $8, updated_at = $9
          WHERE order_id = $1 AND status = $2
          RETURNING order_id),
       tr AS (
         INSERT INTO order_transitions (order_id, from_status, to_status, at, reason) SELECT upd.order_id, $2, $3, $9, $4 FROM upd),
       rep AS (
         INSERT INTO execution_reports (order_id, status, report, created_at) SELECT upd.order_id, $3, $10::jsonb, $9 FROM upd),
       ack AS (
         UPDATE outbox SET acked_at = $9 WHERE order_id = $1 AND acked_at IS NULL AND $11::boolean AND EXISTS (SELECT 1 FROM upd))
       SELECT count(*)::int AS n FROM upd`,
      [order.orderId, order.status, next.status, next.statusReason, next.filledQuantity, next.avgFillPrice, next.fees, next.exchangeOrderId, at, jsonParam(report), ack],
    );
    if ((q.rows[0]?.n ?? 0) !== 1) await this.#notChanged(this.#db, order);
    return { order: { ...next, approval, request }, report, newFills: [], acked: ack };
  }

  /**
   * Fold what the exchange reports into the stored order (`syncOrder`): the transitions, new fills,
   * positions, one report and (with `ack`) the outbox ack. A report that needs an illegal step (e.g. a
   * terminal order changing) is a CONFLICT.
   */
  async applyExchangeOrder(order: StoredOrder, ex: ExchangeOrder, at: number, opts: WriteOptions = {}): Promise<StoreResult> {
    // fills and filled_quantity are written together, so an order with nothing filled has no stored fills;
    // a fill stored concurrently anyway is caught by the fill id (ON CONFLICT) and moves no position twice
    const known = order.filledQuantity > 0 ? new Set((await listFills(this.#db, order.orderId)).map((f) => f.fillId)) : new Set<string>();
    const { approval, request } = order;
    const base = stripStored(order);
    const s = syncOrder(base, ex, at, known);
    if (!s.ok) throw s.error;
    const { transitions, newFills } = s.value;
    const synced = s.value.order;
    if (transitions.length === 0 && synced === base && newFills.length === 0) return { order, report: null, newFills: [], acked: false };

    const lastT = transitions.at(-1);
    const fills = newFills.map((f) => validFill(f));
    const keys = [...new Map(fills.map((f) => [`${f.exchange}|${f.symbol}`, { exchange: f.exchange, symbol: f.symbol }])).values()];
    const status = lastT?.to ?? order.status;
    const ack = opts.ack === true && handedOver(status);
    return this.#db.transaction(async (tx) => {
      // 1. the order (only if still as read), its transition rows and the fills; the positions those fills move, locked
      const w = await tx.query<{ upd: { status_reason: string | null; updated_at: number } | null; ins: string[] | null; pos: PositionRow[] | null }>(
        `WITH upd AS (
           UPDATE orders SET status = $3,
                             status_reason = CASE WHEN $9::boolean THEN $4 ELSE status_reason END,
                             filled_quantity = $5, avg_fill_price = $6, fees = $7, exchange_order_id = $8,
                             updated_at = CASE WHEN $9::boolean THEN $10::bigint ELSE GREATEST(updated_at, $10::bigint) END
            WHERE order_id = $1 AND status = $2
            RETURNING order_id, status_reason, updated_at),
         tr AS (
           INSERT INTO order_transitions (order_id, from_status, to_status, at, reason)
           SELECT upd.order_id, t.from_status, t.to_status, t.at, t.reason
             FROM upd, jsonb_to_recordset($11::jsonb) AS t(n int, from_status text, to_status text, at bigint, reason text)
            ORDER BY t.n),
         fi AS (
           INSERT INTO fills (exchange, fill_id, order_id, symbol, side, quantity, price, fee, fee_currency, liquidity, ts)
           SELECT f.exchange, f.fill_id, upd.order_id, f.symbol, f.side, f.quantity, f.price, f.fee, f.fee_currency, f.liquidity, f.ts
             FROM upd, jsonb_to_recordset($12::jsonb) AS f(exchange text, fill_id text, symbol text, side text, quantity float8, price float8,
                                                            fee float8, fee_currency text, liquidity text, ts bigint)
           ON CONFLICT (exchange, fill_id) DO NOTHING
           RETURNING fill_id),
         pos AS (
           SELECT exchange, symbol, quantity, avg_entry_price, realized_pnl, opened_at, updated_at FROM positions
            WHERE (exchange, symbol) IN (SELECT k.exchange, k.symbol FROM jsonb_to_recordset($13::jsonb) AS k(exchange text, symbol text))
              AND EXISTS (SELECT 1 FROM upd)
            FOR UPDATE)
         SELECT (SELECT row_to_json(upd) FROM upd) AS upd,
                (SELECT json_agg(fill_id) FROM fi) AS ins,
                (SELECT json_agg(row_to_json(pos)) FROM pos) AS pos`,
        [
          order.orderId,
          order.status,
          status,
          lastT?.reason ?? null,
          synced.filledQuantity,
          synced.avgFillPrice,
          synced.fees,
          synced.exchangeOrderId,
          lastT !== undefined,
          lastT?.at ?? at,
          jsonParam(transitions.map((t, n) => ({ n, from_status: t.from, to_status: t.to, at: t.at, reason: t.reason }))),
          jsonParam(
            fills.map((f) => ({
              exchange: f.exchange,
              fill_id: f.fillId,
              symbol: f.symbol,
              side: f.side,
              quantity: f.quantity,
              price: f.price,
              fee: f.fee,
              fee_currency: f.feeCurrency,
              liquidity: f.liquidity,
              ts: f.ts,
            })),
          ),
          jsonParam(keys),
        ],
      );
      const row = w.rows[0];
      if (!row?.upd) return this.#notChanged(tx, order);
      const stored: StoredOrder = validOrder({
        ...synced,
        status,
        statusReason: row.upd.status_reason,
        updatedAt: Number(row.upd.updated_at),
        approval,
        request,
      }) as StoredOrder;
      const insertedIds = new Set(row.ins ?? []);
      const inserted = fills.filter((f) => insertedIds.has(f.fillId));
      // 2. positions after the fills that were new (PortfolioLedger accounting), the report, the ack
      const positions = new Map<string, StoredPosition | undefined>((row.pos ?? []).map((p) => [`${p.exchange}|${p.symbol}`, positionFromRow(p)]));
      const moved = new Set<string>();
      for (const f of inserted) {
        const k = `${f.exchange}|${f.symbol}`;
        positions.set(k, positionAfterFill(positions.get(k), f));
        moved.add(k);
      }
      const report = validReport(reportOf(stored, order.status, inserted, lastT?.reason ?? 'exchange update', at));
      await tx.query(
        `WITH p AS (
           INSERT INTO positions (exchange, symbol, quantity, avg_entry_price, realized_pnl, opened_at, updated_at)
           SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(exchange text, symbol text, quantity float8, avg_entry_price float8,
                                                           realized_pnl float8, opened_at bigint, updated_at bigint)
           ON CONFLICT (exchange, symbol) DO UPDATE
             SET quantity = excluded.quantity, avg_entry_price = excluded.avg_entry_price, realized_pnl = excluded.realized_pnl,
                 opened_at = excluded.opened_at, updated_at = excluded.updated_at),
         rep AS (
           INSERT INTO execution_reports (order_id, status, report, created_at) VALUES ($2, $3, $4::jsonb, $5)),
         ack AS (
           UPDATE outbox SET acked_at = $5 WHERE order_id = $2 AND acked_at IS NULL AND $6::boolean)
         SELECT 1`,
        [
          jsonParam(
            [...moved].map((k) => {
              const p = positions.get(k) as StoredPosition;
              return { exchange: p.exchange, symbol: p.symbol, quantity: p.quantity, avg_entry_price: p.avgEntryPrice, realized_pnl: p.realizedPnl, opened_at: p.openedAt, updated_at: p.updatedAt };
            }),
          ),
          order.orderId,
          report.status,
          jsonParam(report),
          at,
          ack,
        ],
      );
      return { order: stored, report, newFills: inserted, acked: ack };
    });
  }

  /** the guarded UPDATE matched no row: NOT_FOUND or CONFLICT, with the stored status in the message */
  async #notChanged(db: Db, order: Order): Promise<never> {
    const cur = await db.query<{ status: OrderStatus }>('SELECT status FROM orders WHERE order_id = $1', [order.orderId]);
    const status = cur.rows[0]?.status;
    if (status === undefined) throw new AppError('NOT_FOUND', `order ${order.orderId} does not exist`);
    throw new AppError('CONFLICT', `order ${order.orderId} is ${status}, not ${order.status}`, { hint: 'another process updated it; reload the order and retry' });
  }
}

function newOrder(req: OrderRequest, at: number): Order {
  return {
    schemaVersion: SCHEMA_VERSION,
    orderId: req.orderId,
    decisionId: req.decisionId,
    exchange: req.exchange,
    symbol: req.symbol,
    side: req.side,
    type: req.type,
    quantity: req.quantity,
    limitPrice: req.limitPrice,
    status: 'NEW',
    statusReason: 'received from the outbox',
    exchangeOrderId: null,
    filledQuantity: 0,
    avgFillPrice: null,
    fees: 0,
    createdAt: at,
    updatedAt: at,
  };
}

function stripStored(o: Order | StoredOrder): Order {
  const { approval: _a, request: _r, ...base } = o as StoredOrder;
  return base;
}

function invalid(what: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): AppError {
  return new AppError('VALIDATION', `${what} is invalid: ${issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ')}`, {
    hint: 'fix the value and retry',
  });
}

function validOrder<T extends Order>(o: T): T {
  const r = OrderSchema.safeParse(stripStored(o));
  if (!r.success) throw invalid(`order ${o.orderId} after update`, r.error.issues);
  return o;
}

function validFill(f: Fill): Fill {
  const r = FillSchema.safeParse(f);
  if (!r.success) throw invalid('fill', r.error.issues);
  return r.data;
}

function validReport(x: ExecutionReport): ExecutionReport {
  const r = ExecutionReportSchema.safeParse(x);
  if (!r.success) throw invalid('execution report', r.error.issues);
  return r.data;
}

function reportOf(o: Order, previous: OrderStatus, fills: readonly Fill[], reason: string, at: number): ExecutionReport {
  return {
    schemaVersion: SCHEMA_VERSION,
    orderId: o.orderId,
    exchange: o.exchange,
    symbol: o.symbol,
    status: o.status,
    previousStatus: previous,
    exchangeOrderId: o.exchangeOrderId,
    filledQuantity: o.filledQuantity,
    avgFillPrice: o.avgFillPrice,
    fills: [...fills],
    reason,
    ts: at,
  };
}
