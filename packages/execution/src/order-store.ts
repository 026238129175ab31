import { SCHEMA_VERSION, type ExecutionReport, type Fill, type Order, type OrderRequest, type OrderStatus } from '@meridian/contracts';
import {
  getOrder,
  getPositionForUpdate,
  insertExecutionReport,
  insertFill,
  insertOrder,
  listFills,
  updateOrder,
  updateOrderFields,
  upsertPosition,
  type Db,
  type StoredOrder,
} from '@meridian/db';
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
}

/**
 * Persists the order lifecycle: every status change goes through the state machine first (an illegal
 * transition is a CONFLICT and writes nothing), and is stored together with its transition row (time and
 * reason), the new fills (idempotent by fill id), the positions those fills move (PortfolioLedger
 * accounting, row locked) and an ExecutionReport — all in one transaction, so a crash leaves either the
 * old order or the whole new one.
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
    const order: Order = {
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
    return insertOrder(this.#db, { order, request: req });
  }

  /**
   * Store a new order and its first step in one transaction (null → NEW → `to`): the executor's fast path,
   * where the preflight already decided SUBMITTING (or REJECTED). Idempotent: if the order exists, nothing is
   * written and `inserted` is false.
   */
  async createAndTransition(req: OrderRequest, to: OrderStatus, reason: string, at: number): Promise<StoreResult & { inserted: boolean }> {
    return this.#db.transaction(async (tx) => {
      const created = await new OrderStore(tx).createFromRequest(req, at);
      if (!created.inserted) return { order: created.order, report: null, newFills: [], inserted: false };
      const r = await new OrderStore(tx).transition(created.order, to, reason, at);
      return { ...r, inserted: true };
    });
  }

  /** One status change, checked by the state machine. */
  async transition(order: Order, to: OrderStatus, reason: string, at: number, update: OrderUpdate = {}): Promise<StoreResult> {
    const r = transition(order, to, reason, at, update);
    if (!r.ok) throw r.error;
    const next = r.value.order;
    return this.#db.transaction(async (tx) => {
      const stored = await updateOrder(tx, order.orderId, {
        expectedStatus: order.status,
        status: to,
        at,
        reason,
        filledQuantity: next.filledQuantity,
        avgFillPrice: next.avgFillPrice,
        fees: next.fees,
        exchangeOrderId: next.exchangeOrderId,
      });
      const report = reportOf(stored, order.status, [], reason, at);
      await insertExecutionReport(tx, report);
      return { order: stored, report, newFills: [] };
    });
  }

  /**
   * Fold what the exchange reports into the stored order (`syncOrder`): the transitions, new fills,
   * positions and one report. A report that needs an illegal step (e.g. a terminal order changing) is a CONFLICT.
   */
  async applyExchangeOrder(order: StoredOrder, ex: ExchangeOrder, at: number): Promise<StoreResult> {
    return this.#db.transaction(async (tx) => {
      const known = new Set((await listFills(tx, order.orderId)).map((f) => f.fillId));
      const { approval: _a, request: _r, ...base } = order;
      const s = syncOrder(base, ex, at, known);
      if (!s.ok) throw s.error;
      const { transitions, newFills } = s.value;
      const next = s.value.order;
      if (transitions.length === 0 && next === base && newFills.length === 0) return { order, report: null, newFills: [] };

      let stored: StoredOrder | undefined;
      if (transitions.length === 0) {
        await updateOrderFields(tx, order.orderId, {
          expectedStatus: order.status,
          at,
          exchangeOrderId: next.exchangeOrderId,
          filledQuantity: next.filledQuantity,
          avgFillPrice: next.avgFillPrice,
          fees: next.fees,
        });
      }
      for (const [i, t] of transitions.entries()) {
        const last = i === transitions.length - 1;
        stored = await updateOrder(tx, order.orderId, {
          expectedStatus: t.from,
          status: t.to,
          at: t.at,
          reason: t.reason,
          ...(last
            ? { filledQuantity: next.filledQuantity, avgFillPrice: next.avgFillPrice, fees: next.fees, exchangeOrderId: next.exchangeOrderId }
            : {}),
        });
      }
      const stored2 = stored ?? (await getOrder(tx, order.orderId));
      if (!stored2) throw new AppError('INTERNAL', `order ${order.orderId} vanished while syncing`);

      const inserted: Fill[] = [];
      for (const f of newFills) {
        if (!(await insertFill(tx, f)).inserted) continue;
        inserted.push(f);
        const prev = await getPositionForUpdate(tx, f.exchange, f.symbol);
        await upsertPosition(tx, positionAfterFill(prev, f));
      }
      const report = reportOf(stored2, order.status, inserted, transitions.at(-1)?.reason ?? 'exchange update', at);
      await insertExecutionReport(tx, report);
      return { order: stored2, report, newFills: inserted };
    });
  }
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
