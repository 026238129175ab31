import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@meridian/config';
import type { RiskLimits } from '@meridian/contracts';
import { SimulatedClock, createLogger } from '@meridian/core';
import { migrate, openDb, setRiskLimits, upsertCandles, type Db } from '@meridian/db';
import { InProcessQueue } from '@meridian/queue';
import { openWorker, type Worker } from '../../apps/worker/src/index.ts';
import { ETH_BTC_CANDLES, PERMISSIVE_LIMITS, TEST_SIGNING_KEY } from './worker-fixtures.ts';

/**
 * The worker's housekeeping: a pending approval nobody answers is marked expired by the worker's own
 * periodic sweep once its TTL has passed (on the worker's clock). Embedded database (PGlite), no services.
 */
// every order above 0.05 BTC waits for a risk officer
const LIMITS: RiskLimits = { ...PERMISSIVE_LIMITS, requireApprovalAboveNotional: 0.05 };
const TTL = 15 * 60_000;

describe('worker housekeeping (PGlite)', () => {
  let dir: string;
  let db: Db;
  let worker: Worker | null = null;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'meridian-housekeeping-'));
    db = await openDb({ kind: 'pglite', dataDir: path.join(dir, 'pgdata') });
    await migrate(db);
    await setRiskLimits(db, { limits: LIMITS, author: 'test', reason: 'approvals required', at: 0 });
  }, 120_000);
  afterAll(async () => {
    await worker?.stop();
    await db?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('marks an unanswered pending approval expired once its TTL has passed', async () => {
    const candles = ETH_BTC_CANDLES();
    const start = candles.findIndex((c) => c.ts === Date.parse('2018-01-11T10:00:00Z'));
    await upsertCandles(db, candles.slice(0, start));
    const clock = new SimulatedClock(Date.parse('2026-01-01T00:00:00Z'));
    const expiredLogs: string[][] = [];
    let onExpired: (() => void) | null = null;
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          const e = JSON.parse(line) as { msg?: string; decisions?: string[] };
          if (e.msg === 'pending approvals expired') {
            expiredLogs.push(e.decisions ?? []);
            onExpired?.();
          }
        }
        done();
      },
    });
    const config = parseConfig({ MERIDIAN_HOME: dir, MERIDIAN_RISK_SIGNING_KEY: TEST_SIGNING_KEY, MERIDIAN_PENDING_APPROVAL_TTL_MS: String(TTL) });
    worker = await openWorker({
      config,
      db,
      queue: new InProcessQueue(),
      logger: createLogger({ name: 'housekeeping-test', level: 'info', destination }),
      clock,
      settings: { runner: 'fast', capital: { BTC: 1 }, expireApprovalsEveryMs: 5 },
    });
    // decide bar by bar until the gate asks for an officer
    let pendingId: string | null = null;
    for (let i = start; i < candles.length && pendingId === null; i++) {
      const r = await worker.decider.handle(candles[i]!);
      if (r.status === 'decided') pendingId = r.traces.find((t) => t.outcome === 'pending_approval')?.decisionId ?? null;
    }
    expect(pendingId).not.toBeNull();
    const outcome = async () => (await db.query<{ outcome: string }>('SELECT outcome FROM decision_traces WHERE decision_id = $1', [pendingId])).rows[0]?.outcome;

    expect(await outcome()).toBe('pending_approval');
    // past the TTL (on the worker's clock) the worker's own sweep, every 5 ms, expires it
    const swept = new Promise<void>((resolve) => (onExpired = resolve));
    clock.advance(TTL + 1);
    worker.service.start();
    await swept;
    expect(expiredLogs.flat()).toContain(pendingId);
    expect(await outcome()).toBe('expired');
  }, 120_000);
});
