import type { z } from 'zod';
import { AppError, systemClock, type Clock, type Logger } from '@meridian/core';
import { claimOutbox, type Db } from '@meridian/db';
import { deadLetterOutbox, markOutboxDispatchedBatch } from '@meridian/db';
import type { JobDefinition } from './job-definition.ts';
import type { JobQueue } from './job-queue.ts';
import { orderRequestJob } from './jobs.ts';

export interface OutboxRelayOptions {
  readonly db: Db;
  readonly queue: JobQueue;
  /** the job the outbox payloads are (default: orderRequestJob) */
  readonly job?: JobDefinition;
  readonly clock?: Clock;
  /** look for work at least this often even without a wake-up (default 1000 ms) */
  readonly pollMs?: number;
  /** rows per claim (default 100) */
  readonly batchSize?: number;
  /** a claim lapses after this long if the relay dies before marking the rows dispatched (default 30 s) */
  readonly leaseMs?: number;
  /** dispatched but not acked by the executor after this long: dispatch again (default 60 s) */
  readonly redeliverAfterMs?: number;
  readonly logger?: Logger;
}

export interface RelayRound {
  /** rows added to the queue (including ones the queue already held: BullMQ dedupes on the order id) */
  readonly dispatched: number;
  /** rows whose payload does not parse: dead-lettered, never dispatched */
  readonly deadLettered: number;
}

/**
 * Moves approved orders from the Postgres outbox to the `orders` queue. Each round claims unacked rows
 * that were never dispatched, or were dispatched more than `redeliverAfterMs` ago without an ack
 * (`FOR UPDATE SKIP LOCKED` with a lease, so several relays share the work), adds each to the queue with
 * jobId = order id, and marks them dispatched. Because only the executor's ack ends a row's life, a
 * restart of anything — or Redis losing every key — only delays orders; BullMQ's jobId dedupe and the
 * executor's idempotency on the order id make the re-dispatch harmless.
 *
 * The loop runs a round, then waits `pollMs` or until `wake()` (called by an in-process producer, or by a
 * Postgres LISTEN on `meridian_outbox` — see `listenForOutbox`), whichever comes first; a full batch
 * runs the next round at once.
 */
export class OutboxRelay {
  readonly #o: Required<Omit<OutboxRelayOptions, 'logger'>> & { logger: Logger | undefined };
  #running = false;
  #loop: Promise<void> | undefined;
  #woken = false;
  #wakeUp: (() => void) | undefined;

  constructor(opts: OutboxRelayOptions) {
    this.#o = {
      db: opts.db,
      queue: opts.queue,
      job: opts.job ?? orderRequestJob,
      clock: opts.clock ?? systemClock,
      pollMs: opts.pollMs ?? 1000,
      batchSize: opts.batchSize ?? 100,
      leaseMs: opts.leaseMs ?? 30_000,
      redeliverAfterMs: opts.redeliverAfterMs ?? 60_000,
      logger: opts.logger,
    };
  }

  /** One claim → enqueue → mark round. */
  async runOnce(): Promise<RelayRound> {
    const { db, queue, job, clock, batchSize, leaseMs, redeliverAfterMs, logger } = this.#o;
    const rows = await claimOutbox(db, { now: clock.now(), limit: batchSize, leaseMs, redeliverAfterMs });
    if (rows.length === 0) return { dispatched: 0, deadLettered: 0 };
    const dispatchedIds: string[] = [];
    let deadLettered = 0;
    let queueError: unknown;
    await Promise.all(
      rows.map(async (row) => {
        const parsed = (job.schema as z.ZodType).safeParse(row.payload);
        if (!parsed.success) {
          deadLettered++;
          const reason = `payload is not a valid ${job.name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
          logger?.error({ orderId: row.orderId, outboxId: row.id }, `outbox row dead-lettered: ${reason}`);
          await deadLetterOutbox(db, row.id, reason, clock.now());
          return;
        }
        try {
          // enqueue, not add: the relay does not need the duplicate report (one Redis round trip, not two)
          await queue.enqueue(job, parsed.data);
          dispatchedIds.push(row.id);
        } catch (e) {
          // leave the row claimed: its lease lapses and a later round retries it
          queueError = e;
        }
      }),
    );
    if (dispatchedIds.length > 0) await markOutboxDispatchedBatch(db, dispatchedIds, clock.now());
    if (queueError !== undefined) throw queueError instanceof AppError ? queueError : new AppError('QUEUE_UNAVAILABLE', String(queueError));
    return { dispatched: dispatchedIds.length, deadLettered };
  }

  /** Run rounds until `stop()`. Errors (database or Redis down) are logged and retried after `pollMs`. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        let full = false;
        try {
          this.#woken = false;
          const r = await this.runOnce();
          full = r.dispatched + r.deadLettered >= this.#o.batchSize;
        } catch (e) {
          this.#o.logger?.warn({ err: (e as Error).message }, 'outbox relay round failed; retrying');
        }
        if (!this.#running) break;
        if (full || this.#woken) continue;
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, this.#o.pollMs);
          function done(): void {
            clearTimeout(t);
            resolve();
          }
          this.#wakeUp = done;
        });
        this.#wakeUp = undefined;
      }
    })();
  }

  /** New rows are there: run a round now (coalesces; cheap to call often). */
  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wakeUp?.();
    await this.#loop;
  }
}
