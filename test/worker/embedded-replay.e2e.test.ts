import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processEnv } from '@meridian/config';
import { openDb, type Db } from '@meridian/db';
import { REPO_ROOT, runMeridian, runProcess, type CliRun } from '@meridian/test/support';
import { PERMISSIVE_LIMITS, TEST_SIGNING_KEY } from './worker-fixtures.ts';

/**
 * Embedded mode end to end, no services: the real worker process with `--replay` feeds stored ETH/BTC
 * candles (from ../shared/data) into its in-process queue on PGlite and decides them; then a risk officer
 * answers the pending approvals with the real `meridian risk approve|deny`. The steps build on each other
 * (one MERIDIAN_HOME for the file, made here).
 */
let home: string;
const FROM = '2018-01-11T10:00:00Z';
const TO = '2018-01-13T00:00:00Z'; // 456 five-minute candles
const EVENTS = 456;
// permissive notional limits, but every order above 0.05 BTC waits for a risk officer
const LIMITS = { ...PERMISSIVE_LIMITS, requireApprovalAboveNotional: 0.05 };

const env = { MERIDIAN_RISK_SIGNING_KEY: TEST_SIGNING_KEY, REDIS_URL: undefined };
const meridian = (...args: string[]) => runMeridian(home, args, env);
function worker(...args: string[]): Promise<CliRun> {
  const full: NodeJS.ProcessEnv = { ...processEnv(), MERIDIAN_HOME: home, MERIDIAN_LOG_LEVEL: 'silent', MERIDIAN_RISK_SIGNING_KEY: TEST_SIGNING_KEY };
  delete full['DATABASE_URL'];
  delete full['REDIS_URL'];
  return runProcess(process.execPath, ['--conditions=@meridian/source', '--import', 'tsx', path.join(REPO_ROOT, 'apps/worker/src/main.ts'), ...args], full);
}
// one event at a time: with two, a later bar's event may catch up an earlier bar first (then counted as "already decided")
const replay = () => worker('--replay', '--symbol', 'ETH/BTC', '--timeframe', '5m', '--capital', 'BTC=1', '--concurrency', '1', '--from', FROM, '--to', TO);

/** the embedded database, opened after the processes above have exited (PGlite allows one process at a time) */
async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb({ kind: 'pglite', dataDir: path.join(home, 'pgdata') });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

let pendingIds: string[] = [];

describe('embedded worker: --replay through the in-process queue, then risk approve|deny (PGlite, no services)', () => {
  beforeAll(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'meridian-embedded-replay-'));
    const imp = await meridian('data', 'import', path.join(REPO_ROOT, 'test/fixtures/candles/binance_ETH_BTC-5m.csv'), '--symbol', 'ETH/BTC', '--timeframe', '5m');
    expect(imp.code, imp.stderr).toBe(0);
    await fs.writeFile(path.join(home, 'limits.json'), JSON.stringify(LIMITS));
    const set = await meridian('risk', 'set', '--file', path.join(home, 'limits.json'), '--reason', 'e2e', '--author', 'setup');
    expect(set.code, set.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await fs.rm(home, { recursive: true, force: true });
  });

  it('decides every replayed candle exactly once and lists the pending approvals with their decision ids', async () => {
    const r = await replay();
    expect(r.code, r.stderr).toBe(0);
    const m = /: (\d+) events, (\d+) decisions \((\d+) orders to the outbox, (\d+) pending approval, (\d+) rejected, (\d+) holds\); 0 already decided, 0 warming up, 0 late, 0 failed/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const [events, decisions, orders, pending] = [Number(m![1]), Number(m![2]), Number(m![3]), Number(m![4])];
    expect(events).toBe(EVENTS);
    expect(decisions).toBeGreaterThanOrEqual(EVENTS); // the first event also decides the stored bars it catches up on
    expect(pending).toBeGreaterThanOrEqual(2);
    pendingIds = [...r.stdout.matchAll(/pending approval: ([0-9a-f-]{36}) ETH\/BTC/g)].map((x) => x[1]!);
    expect(pendingIds).toHaveLength(pending);
    expect(r.stdout).toContain('answer each with: meridian risk approve|deny DECISION_ID --author NAME --reason TEXT');
    await withDb(async (db) => {
      const traces = await db.query<{ n: number; bars: number; pending: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT as_of)::int AS bars, count(*) FILTER (WHERE outcome = 'pending_approval')::int AS pending
           FROM decision_traces WHERE symbol = 'ETH/BTC'`,
      );
      expect(traces.rows[0]).toEqual({ n: decisions, bars: decisions, pending });
      // nothing reached the outbox but the orders the gate approved (with these limits every order waits for an officer)
      const all = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox`);
      expect(all.rows[0]!.n).toBe(orders);
    });
  }, 180_000);

  it('a second replay of the same candles decides nothing again', async () => {
    const r = await replay();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`: ${EVENTS} events, 0 decisions .*; ${EVENTS} already decided, 0 warming up, 0 late, 0 failed`));
  }, 180_000);

  it('risk approve signs the order into the outbox; risk deny sends nothing; both need --author and are audited', async () => {
    expect(pendingIds.length).toBeGreaterThanOrEqual(2);
    const [approveId, denyId] = pendingIds as [string, string];
    const noAuthor = await meridian('risk', 'approve', approveId, '--reason', 'looks fine');
    expect(noAuthor.code).not.toBe(0);
    expect(noAuthor.stderr).toMatch(/--author/);

    const ok = await meridian('risk', 'approve', approveId, '--author', 'alice', '--reason', 'within mandate');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`approved decision ${approveId} \\(ETH/BTC\\): order [0-9a-f-]{36} buy [0-9.]+ ETH/BTC is in the outbox`));
    const no = await meridian('risk', 'deny', denyId, '--author', 'bob', '--reason', 'too large for today');
    expect(no.code, no.stderr).toBe(0);
    expect(no.stdout).toContain(`denied decision ${denyId} (ETH/BTC) by bob: too large for today. Nothing was sent.`);
    const again = await meridian('risk', 'approve', denyId, '--author', 'alice', '--reason', 'changed my mind');
    expect(again.code).not.toBe(0);

    await withDb(async (db) => {
      const rows = await db.query<{ decision_id: string; outcome: string }>(`SELECT decision_id::text AS decision_id, outcome FROM decision_traces WHERE decision_id = ANY($1::uuid[])`, [[approveId, denyId]]);
      expect(Object.fromEntries(rows.rows.map((x) => [x.decision_id, x.outcome]))).toEqual({ [approveId]: 'approved_by_officer', [denyId]: 'denied' });
      // the outbox row of the approved decision, written in the transaction that resolved its trace; none for the denied one
      const out = await db.query<{ decision_id: string; same_tx: boolean }>(
        `SELECT t.decision_id::text AS decision_id, t.xmin::text = o.xmin::text AS same_tx
           FROM decision_traces t JOIN outbox o ON o.order_id = (t.trace->'orderRequest'->>'orderId')::uuid
          WHERE t.decision_id = ANY($1::uuid[])`,
        [[approveId, denyId]],
      );
      expect(out.rows).toEqual([{ decision_id: approveId, same_tx: true }]);
      // each answer is in the audit log with who gave it and why
      const audit = await db.query<{ actor: string; reason: string }>(`SELECT actor, reason FROM audit_log WHERE entity LIKE '%' || $1 || '%' OR entity LIKE '%' || $2 || '%' ORDER BY id`, [approveId, denyId]);
      expect(audit.rows).toEqual([
        { actor: 'alice', reason: 'within mandate' },
        { actor: 'bob', reason: 'too large for today' },
      ]);
    });
  }, 120_000);
});
