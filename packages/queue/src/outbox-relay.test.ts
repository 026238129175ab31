import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrderRequest } from '@meridian/contracts';
import { SimulatedClock, uuidv7 } from '@meridian/core';
import { getOutboxEntry, insertOutbox, migrate, openDb, type Db } from '@meridian/db';
import { InProcessQueue } from './in-process-queue.ts';
import { orderRequestJob } from './jobs.ts';
import { OutboxRelay } from './outbox-relay.ts';
import { freshOrderRequest } from '@meridian/test/support';

let db: Db;
const T0 = Date.UTC(2024, 0, 1);

beforeAll(async () => {
  db = await openDb({ kind: 'pglite', dataDir: 'memory' });
  await migrate(db);
}, 120_000);
afterAll(async () => db?.close());

function request(): OrderRequest {
  return { ...freshOrderRequest({ createdAt: T0 }), approval: { keyId: 'k1', limitsVersion: 1, expiresAt: T0 + 60_000, signature: 'b'.repeat(64) } };
}

async function clearOutbox(): Promise<void> {
  await db.query('DELETE FROM outbox');
}

describe('OutboxRelay', () => {
  it('dispatches unacked rows with jobId = order id and marks them; acked rows stay put', async () => {
    await clearOutbox();
    const clock = new SimulatedClock(T0);
    const queue = new InProcessQueue();
    const relay = new OutboxRelay({ db, queue, clock, redeliverAfterMs: 10_000 });
    const a = request();
    const b = request();
    const acked = request();
    for (const r of [a, b, acked]) await insertOutbox(db, { orderId: r.orderId, payload: r, createdAt: T0 });
    await db.query('UPDATE outbox SET acked_at = $2 WHERE order_id = $1', [acked.orderId, T0]);

    expect(await relay.runOnce()).toEqual({ dispatched: 2, deadLettered: 0 });
    expect(await queue.pendingCount(orderRequestJob)).toBe(2);
    expect(await getOutboxEntry(db, a.orderId)).toMatchObject({ dispatchedAt: T0, dispatchCount: 1, claimedUntil: null });
    expect((await getOutboxEntry(db, acked.orderId))?.dispatchCount).toBe(0);
    // nothing more to do until the redelivery delay has passed
    expect(await relay.runOnce()).toEqual({ dispatched: 0, deadLettered: 0 });
    await queue.close();
  });

  it('dispatches unacked rows again after the delay: deduplicated while queued, re-added after Redis lost them', async () => {
    await clearOutbox();
    const clock = new SimulatedClock(T0);
    const queue = new InProcessQueue();
    const relay = new OutboxRelay({ db, queue, clock, redeliverAfterMs: 10_000 });
    const r = request();
    await insertOutbox(db, { orderId: r.orderId, payload: r, createdAt: T0 });
    await relay.runOnce();
    clock.advance(10_000);
    expect((await relay.runOnce()).dispatched).toBe(1);
    expect(await queue.pendingCount(orderRequestJob)).toBe(1); // deduplicated by jobId
    expect((await getOutboxEntry(db, r.orderId))?.dispatchCount).toBe(2);

    // "Redis flushed": a fresh, empty queue
    const fresh = new InProcessQueue();
    const relay2 = new OutboxRelay({ db, queue: fresh, clock, redeliverAfterMs: 10_000 });
    clock.advance(10_000);
    expect((await relay2.runOnce()).dispatched).toBe(1);
    expect(await fresh.pendingCount(orderRequestJob)).toBe(1);

    // once the executor acks, it is never dispatched again
    await db.query('UPDATE outbox SET acked_at = $2 WHERE order_id = $1', [r.orderId, clock.now()]);
    clock.advance(60_000);
    expect((await relay2.runOnce()).dispatched).toBe(0);
    await queue.close();
    await fresh.close();
  });

  it('dead-letters a payload that can never parse instead of dispatching it forever', async () => {
    await clearOutbox();
    const clock = new SimulatedClock(T0);
    const queue = new InProcessQueue();
    const relay = new OutboxRelay({ db, queue, clock, redeliverAfterMs: 1000 });
    const orderId = uuidv7();
    await insertOutbox(db, { orderId, payload: { orderId, quantity: -1 }, createdAt: T0 });
    expect(await relay.runOnce()).toEqual({ dispatched: 0, deadLettered: 1 });
    const row = await db.query<{ acked_at: number | null; dead_reason: string | null }>('SELECT acked_at, dead_reason FROM outbox WHERE order_id = $1', [orderId]);
    expect(row.rows[0]?.acked_at).toBe(T0);
    expect(row.rows[0]?.dead_reason).toMatch(/not a valid orderRequest/);
    clock.advance(5000);
    expect(await relay.runOnce()).toEqual({ dispatched: 0, deadLettered: 0 });
    expect(await queue.pendingCount(orderRequestJob)).toBe(0);
    await queue.close();
  });

  it('the loop dispatches a new row on wake() without waiting for the poll', async () => {
    await clearOutbox();
    const queue = new InProcessQueue();
    const got: string[] = [];
    let arrived: (() => void) | undefined;
    const consumer = queue.process(orderRequestJob, async (p) => {
      got.push(p.orderId);
      arrived?.();
    });
    const relay = new OutboxRelay({ db, queue, pollMs: 3_600_000 });
    relay.start();
    const r = request();
    const seen = new Promise<void>((resolve) => (arrived = resolve));
    await insertOutbox(db, { orderId: r.orderId, payload: r, createdAt: Date.now() });
    relay.wake();
    await seen;
    expect(got).toEqual([r.orderId]);
    await relay.stop();
    await consumer.close();
    await queue.close();
  });
});
