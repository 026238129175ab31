import { isTerminalStatus, type OrderRequest, type OrderStatus } from '@meridian/contracts';
import { AppError, systemClock, type Clock, type Logger } from '@meridian/core';
import { ackOutbox, getRiskLimits, getTradingState, listOpenOrders, type Db, type StoredOrder } from '@meridian/db';
import {
  FinalExchangeError,
  OrderStore,
  RetryableExchangeError,
  UnknownOutcomeError,
  type ExchangeAdapter,
  type ExchangeOrder,
  type FinalReason,
} from '@meridian/execution';
import { orderRequestJob, type JobConsumer, type JobQueue } from '@meridian/queue';
import { effectiveTradingState, verifyApproval } from '@meridian/risk';

export interface RetryPolicy {
  /** exchange calls per order per job run before the job is handed back to the queue (default 6) */
  readonly maxAttempts: number;
  /** first backoff (default 100 ms); doubles each attempt, with ±25 % jitter */
  readonly baseDelayMs: number;
  /** backoff cap (default 3000 ms) */
  readonly maxDelayMs: number;
}

export interface ExecutorServiceOptions {
  readonly db: Db;
  readonly queue: JobQueue;
  readonly exchange: ExchangeAdapter;
  /** every risk approval key accepted, by key id (config `risk.verifyKeys`) */
  readonly verifyKeys: Readonly<Record<string, string>>;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** orders handled at the same time (default 4) */
  readonly concurrency?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** how often OPEN / PARTIALLY_FILLED orders are synced with the exchange (default 5000 ms; 0 = never) */
  readonly syncOpenOrdersMs?: number;
  /** injectable for tests */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface ReconcileSummary {
  readonly checked: number;
  readonly changed: number;
  readonly failed: number;
}

/** a stored step of an order, and whether its outbox row was acked in the same transaction */
interface Step {
  readonly order: StoredOrder;
  readonly acked: boolean;
}

/** store writes that leave SUBMITTING ack the outbox row in their own transaction */
const ACK = { ack: true } as const;

/** final exchange errors that mean the order never got in (our side is wrong), as opposed to a refusal of the order */
const NEVER_ACCEPTED: readonly FinalReason[] = ['authentication', 'permission_denied'];

/**
 * The executor: the only code path that sends an order to an exchange.
 *
 * Per order (from the `orders` queue, or found non-terminal at start-up):
 * 1. store it NEW (idempotent on the order id — a redelivered job finds the stored order and resumes);
 * 2. preflight: the risk approval verifies (signature over the exact fields, known key id, not expired), the
 *    order is for this exchange, its limits version exists, and trading is not HALTED (REDUCING: reduce-only
 *    orders only). A failure stores REJECTED with the reason; nothing is sent;
 * 3. store SUBMITTING, then `createOrder` with the order id as client order id. Retryable errors are retried
 *    with capped exponential backoff; an unknown outcome (timeout, dropped answer, 5xx) is followed by a
 *    lookup by client order id, and only if the exchange has no such order is the same request sent again;
 *    a final error stores REJECTED (FAILED when our credentials were refused); the approval's expiry is
 *    checked before every send;
 * 4. store the result (transitions, fills, positions, an ExecutionReport) and ack the outbox row, in one transaction.
 * A job run that runs out of attempts throws; the order stays SUBMITTING and the next run (a queue retry,
 * an outbox re-dispatch or the next start-up) begins with a lookup.
 */
export class ExecutorService {
  readonly #o: ExecutorServiceOptions;
  readonly #store: OrderStore;
  readonly #clock: Clock;
  readonly #retry: RetryPolicy;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #knownLimits = new Set<number>();
  readonly #locks = new Map<string, Promise<unknown>>();
  #consumer: JobConsumer | undefined;
  #syncTimer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  #stopped = false;

  constructor(opts: ExecutorServiceOptions) {
    this.#o = opts;
    this.#store = new OrderStore(opts.db);
    this.#clock = opts.clock ?? systemClock;
    this.#retry = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 3000, ...opts.retry };
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  get store(): OrderStore {
    return this.#store;
  }

  /** Reconcile, then take orders from the queue and sync open orders periodically. */
  async start(): Promise<ReconcileSummary> {
    const summary = await this.reconcile();
    this.#consumer = this.#o.queue.process(orderRequestJob, (req) => this.handle(req).then(() => undefined), {
      concurrency: this.#o.concurrency ?? 4,
      onInvalidPayload: async (jobId, _raw, error) => {
        // a payload that does not parse can never become valid: ack it so it is not dispatched again
        this.#o.logger.error({ orderId: jobId }, `order job payload is invalid, dropped: ${error}`);
        await ackOutbox(this.#o.db, jobId, this.#clock.now());
      },
      onFailed: (jobId, e) => this.#o.logger.warn({ orderId: jobId, err: e.message }, 'order job gave up; the outbox will dispatch it again'),
    });
    const every = this.#o.syncOpenOrdersMs ?? 5000;
    if (every > 0) {
      this.#syncTimer = setInterval(() => {
        if (this.#syncing) return;
        this.#syncing = this.syncOpenOrders()
          .catch((e: unknown) => this.#o.logger.warn({ err: (e as Error).message }, 'open order sync failed'))
          .finally(() => (this.#syncing = undefined));
      }, every);
    }
    return summary;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#syncTimer) clearInterval(this.#syncTimer);
    await this.#consumer?.close();
    await this.#syncing;
  }

  /** One order from the queue. Resolves with the stored order; throws when the job should be retried. */
  handle(req: OrderRequest): Promise<StoredOrder> {
    return this.#locked(req.orderId, async () => {
      // a first delivery is the common case: no read first. The request checks (approval, exchange, limits
      // version) run here; the trading state is checked by the insert itself — NEW + SUBMITTING are written
      // only while it is stored ACTIVE (or was never set). A redelivery finds the stored order and resumes it.
      if ((await this.#checkRequest(req, this.#clock.now())) === null) {
        const fast = await this.#store.createAndTransition(req, 'SUBMITTING', `sending to ${this.#o.exchange.id}`, this.#clock.now(), {
          ack: true,
          requireTradingActive: true,
        });
        if (fast.inserted) return this.#ackIfHandedOver(await this.#submit(fast.order, req));
        if (!fast.blocked) return this.#ackIfHandedOver(await this.#advance(fast.order, fast.order.request ?? req));
      }
      // a refused request, or trading not plainly ACTIVE: the full preflight decides, then NEW and its next step
      // (and the ack of a REJECTED one) in one statement that is idempotent on the order id
      const refusal = await this.#preflight(req);
      const to: OrderStatus = refusal === null ? 'SUBMITTING' : 'REJECTED';
      const created = await this.#store.createAndTransition(req, to, refusal ?? `sending to ${this.#o.exchange.id}`, this.#clock.now(), { ack: true });
      if (created.inserted) {
        if (refusal !== null) this.#o.logger.warn({ orderId: req.orderId, reason: refusal }, 'order REJECTED');
        const done = to === 'SUBMITTING' ? await this.#submit(created.order, req) : created;
        return this.#ackIfHandedOver(done);
      }
      const order = created.order;
      return this.#ackIfHandedOver(await this.#advance(order, order.request ?? req));
    });
  }

  /**
   * Every non-terminal order of this exchange: NEW and SUBMITTING ones continue exactly as a redelivered job
   * would (lookup first for SUBMITTING); OPEN / PARTIALLY_FILLED ones are looked up and synced.
   */
  async reconcile(): Promise<ReconcileSummary> {
    const open = await listOpenOrders(this.#o.db, { exchange: this.#o.exchange.id });
    let changed = 0;
    let failed = 0;
    for (const order of open) {
      try {
        const after = await this.#locked(order.orderId, async () => {
          const cur = (await this.#store.get(order.orderId)) ?? order;
          return this.#ackIfHandedOver(await this.#reconcileOne(cur));
        });
        if (after.status !== order.status) changed++;
      } catch (e) {
        failed++;
        this.#o.logger.error({ orderId: order.orderId, status: order.status, err: (e as Error).message }, 'reconciliation of order failed');
      }
    }
    this.#o.logger.info({ checked: open.length, changed, failed, exchange: this.#o.exchange.id }, 'reconciled non-terminal orders with the exchange');
    return { checked: open.length, changed, failed };
  }

  /** Sync OPEN / PARTIALLY_FILLED orders (fills of resting orders arrive this way). */
  async syncOpenOrders(): Promise<void> {
    const open = await listOpenOrders(this.#o.db, { exchange: this.#o.exchange.id });
    for (const o of open) {
      if (this.#stopped) return;
      if (o.status !== 'OPEN' && o.status !== 'PARTIALLY_FILLED') continue;
      await this.#locked(o.orderId, async () => {
        const cur = await this.#store.get(o.orderId);
        if (!cur || (cur.status !== 'OPEN' && cur.status !== 'PARTIALLY_FILLED')) return;
        const ex = await this.#o.exchange.fetchOrderByClientId(cur.orderId, cur.symbol);
        if (ex) await this.#store.applyExchangeOrder(cur, ex, this.#clock.now());
      }).catch((e: unknown) => this.#o.logger.warn({ orderId: o.orderId, err: (e as Error).message }, 'open order sync failed'));
    }
  }

  /** An exchange update pushed to us (paper fills from the price feed). */
  applyExchangeUpdate(ex: ExchangeOrder): Promise<void> {
    return this.#locked(ex.clientOrderId, async () => {
      const cur = await this.#store.get(ex.clientOrderId);
      if (!cur || isTerminalStatus(cur.status) || cur.status === 'NEW') return;
      await this.#store.applyExchangeOrder(cur, ex, this.#clock.now());
    });
  }

  // ---- the order path ---------------------------------------------------------------------------------------

  async #reconcileOne(order: StoredOrder): Promise<Step> {
    if (order.status === 'NEW' || order.status === 'SUBMITTING') {
      if (!order.request) {
        return this.#store.transition(order, 'FAILED', 'no approved request stored with the order; it cannot be verified', this.#clock.now(), {}, ACK);
      }
      return this.#advance(order, order.request);
    }
    const ex = await this.#lookup(order);
    if (ex) return this.#store.applyExchangeOrder(order, ex, this.#clock.now(), ACK);
    if (this.#o.exchange.id === 'paper') {
      // the paper exchange lives in the executor's memory: a restart loses its resting orders
      return this.#store.transition(order, 'EXPIRED', 'the paper exchange restarted; its open orders are gone', this.#clock.now(), {}, ACK);
    }
    this.#o.logger.error({ orderId: order.orderId, status: order.status }, 'order is open here but unknown to the exchange; left for a person to reconcile');
    return { order, acked: false };
  }

  /** Moves a NEW or SUBMITTING order as far as it can go; returns it as stored. */
  async #advance(start: StoredOrder, req: OrderRequest): Promise<Step> {
    let order = start;
    if (order.status === 'SUBMITTING') {
      // we may have sent it before a crash or a lost answer: the exchange decides
      const ex = await this.#lookup(order);
      if (ex) return this.#store.applyExchangeOrder(order, ex, this.#clock.now(), ACK);
    } else if (order.status !== 'NEW') {
      return { order, acked: false };
    }
    const refusal = await this.#preflight(req);
    if (refusal !== null) {
      const to: OrderStatus = order.status === 'SUBMITTING' && refusal.startsWith('approval expired') ? 'FAILED' : 'REJECTED';
      this.#o.logger.warn({ orderId: order.orderId, reason: refusal }, `order ${to}`);
      return this.#store.transition(order, to, refusal, this.#clock.now(), {}, ACK);
    }
    if (order.status === 'NEW') order = (await this.#store.transition(order, 'SUBMITTING', `sending to ${this.#o.exchange.id}`, this.#clock.now())).order;
    return this.#submit(order, req);
  }

  /** null when the order may be sent, else the reason it may not */
  async #preflight(req: OrderRequest): Promise<string | null> {
    const now = this.#clock.now();
    const refused = await this.#checkRequest(req, now);
    if (refused !== null) return refused;
    const ts = await getTradingState(this.#o.db);
    const state = ts ? effectiveTradingState(ts.state, now) : 'ACTIVE';
    if (state === 'HALTED') return `trading is HALTED (${ts?.state.reason ?? 'no reason'}); no order is sent`;
    if (state === 'REDUCING' && !req.reduceOnly) return 'trading is REDUCING; only reduce-only orders are sent';
    return null;
  }

  /** the preflight without the trading state: approval, exchange, limits version */
  async #checkRequest(req: OrderRequest, now: number): Promise<string | null> {
    const v = verifyApproval(req, this.#o.verifyKeys, now);
    if (!v.ok) return `approval ${v.error.reason === 'expired' ? 'expired' : `invalid (${v.error.reason})`}: ${v.error.message}`;
    if (req.exchange !== this.#o.exchange.id) return `the order is for exchange ${req.exchange}; this executor trades on ${this.#o.exchange.id}`;
    const version = req.approval.limitsVersion;
    if (!this.#knownLimits.has(version)) {
      // versions are append-only, so a known version stays known
      if (!(await getRiskLimits(this.#o.db, version))) return `approval names risk limits version ${version}, which does not exist`;
      this.#knownLimits.add(version);
    }
    return null;
  }

  /** Sends the order; the exchange's answer is stored and the outbox row acked in one transaction. */
  async #submit(order: StoredOrder, req: OrderRequest): Promise<Step> {
    const input = { orderId: req.orderId, symbol: req.symbol, side: req.side, type: req.type, quantity: req.quantity, limitPrice: req.limitPrice };
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= this.#retry.maxAttempts; attempt++) {
      if (this.#stopped) break;
      if (!(this.#clock.now() < req.approval.expiresAt)) {
        return this.#store.transition(order, 'FAILED', 'approval expired before the exchange accepted the order', this.#clock.now(), {}, ACK);
      }
      try {
        const ex = await this.#o.exchange.createOrder(input);
        return await this.#store.applyExchangeOrder(order, ex, this.#clock.now(), ACK);
      } catch (e) {
        if (e instanceof FinalExchangeError) {
          const to: OrderStatus = NEVER_ACCEPTED.includes(e.reason) ? 'FAILED' : 'REJECTED';
          this.#o.logger.warn({ orderId: order.orderId, reason: e.reason }, `exchange refused the order: ${to}`);
          return await this.#store.transition(order, to, `${e.reason}: ${e.message}`, this.#clock.now(), {}, ACK);
        }
        if (e instanceof UnknownOutcomeError) {
          this.#o.logger.info({ orderId: order.orderId, reason: e.reason }, 'order create outcome unknown; looking it up before any resend');
          const found = await this.#lookup(order);
          if (found) return await this.#store.applyExchangeOrder(order, found, this.#clock.now(), ACK);
          lastError = e;
        } else if (e instanceof RetryableExchangeError) {
          lastError = e;
        } else {
          throw e;
        }
        await this.#sleep(this.#backoff(attempt));
      }
    }
    throw new AppError('EXCHANGE_UNAVAILABLE', `order ${order.orderId} not accepted after ${this.#retry.maxAttempts} attempts: ${lastError?.message ?? 'stopped'}`, {
      hint: 'the order stays SUBMITTING; the next delivery looks it up before sending it again',
      cause: lastError,
    });
  }

  /** fetchOrderByClientId, retrying retryable errors; throws when the exchange cannot say */
  async #lookup(order: StoredOrder): Promise<ExchangeOrder | null> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.#retry.maxAttempts; attempt++) {
      try {
        return await this.#o.exchange.fetchOrderByClientId(order.orderId, order.symbol);
      } catch (e) {
        if (!(e instanceof RetryableExchangeError)) throw e;
        lastError = e;
        await this.#sleep(this.#backoff(attempt));
      }
    }
    throw new AppError('EXCHANGE_UNAVAILABLE', `cannot look up order ${order.orderId}: ${(lastError as Error).message}`, {
      hint: 'the order stays as it is; it is looked up again on the next delivery or start-up',
      cause: lastError,
    });
  }

  #backoff(attempt: number): number {
    const d = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(d * (0.75 + Math.random() * 0.5));
  }

  /**
   * The executor owns the order once the exchange has answered for it (or it ended before): ack the outbox —
   * unless the write that stored that step already did, in its own transaction (the usual case).
   */
  async #ackIfHandedOver(step: Step): Promise<StoredOrder> {
    const { order } = step;
    if (!step.acked && order.status !== 'NEW' && order.status !== 'SUBMITTING') await ackOutbox(this.#o.db, order.orderId, this.#clock.now());
    return order;
  }

  /** one thing at a time per order inside this process (queue job, reconciliation, sync, paper fills) */
  async #locked<T>(orderId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(orderId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#locks.set(orderId, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(orderId) === tail) this.#locks.delete(orderId);
    }
  }
}
