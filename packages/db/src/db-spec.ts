/**
 * The one suite every Db implementation must pass (PGlite in pglite.test.ts, server
 * PostgreSQL in postgres.int.test.ts). One database per run, migrated once; every test
 * uses its own keys (exchange ids, scopes, names) so none depends on another's rows.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, uuidv7 } from '@meridian/core';
import type { DecisionTrace, Fill, Order, OrderRequest } from '@meridian/contracts';
import { namedStatement, type Db } from './db.ts';
import { pgErrorCode } from './db-errors.ts';
import { checksumOf, loadMigrations, migrate, migrationStatus, type Migration } from './migrate.ts';
import { candleStats, readCandles, upsertCandles, type CandleRow } from './repos/candle-repo.ts';
import { getMemory, insertMemory, listUnresolvedMemories, recallMemories, resolveMemory } from './repos/memory-repo.ts';
import { getDecisionTrace, insertDecisionTrace, listDecisionTraces } from './repos/decision-trace-repo.ts';
import { appendRiskLimits, getRiskLimits, latestRiskLimits, listRiskLimitVersions } from './repos/risk-limit-repo.ts';
import { appendAudit, listAudit } from './repos/audit-log-repo.ts';
import { getTradingState, listTradingStateTransitions, transitionTradingState } from './repos/trading-state-repo.ts';
import { getOrder, insertOrder, listOpenOrders, listOrderTransitions, listOrders, updateOrder } from './repos/order-repo.ts';
import { insertFill, listFills } from './repos/fill-repo.ts';
import { getPosition, listPositions, upsertPosition } from './repos/position-repo.ts';
import { ackOutbox, claimOutbox, getOutboxEntry, insertOutbox, markOutboxDispatched } from './repos/outbox-repo.ts';
import { createBacktestRun, finishBacktestRun, getBacktestRun, listBacktestRuns } from './repos/backtest-run-repo.ts';
import { createUser, getUserByName, listUsers } from './repos/user-repo.ts';
import { authenticateApiToken, createApiToken, hashApiToken, listApiTokens, revokeApiToken } from './repos/api-token-repo.ts';

/** the tables of 0001_initial (later migrations may add more) */
const INITIAL_TABLES = [
  'api_tokens',
  'audit_log',
  'backtest_runs',
  'candles',
  'decision_traces',
  'fills',
  'memories',
  'order_transitions',
  'orders',
  'outbox',
  'positions',
  'risk_limit_versions',
  'schema_migrations',
  'trading_state',
  'trading_state_transitions',
  'users',
];

const T0 = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;

/** a key no other test uses: a valid exchange id */
const uniq = (): string => `t${randomBytes(5).toString('hex')}`;

class Rollback extends Error {}

/** Run fn in a transaction that is always rolled back (scratch schemas, planted rows). */
async function inRolledBackTx(db: Db, fn: (tx: Db) => Promise<void>): Promise<void> {
  await expect(
    db.transaction(async (tx) => {
      await fn(tx);
      throw new Rollback();
    }),
  ).rejects.toBeInstanceOf(Rollback);
}

async function expectAppError(p: Promise<unknown>, code: AppError['code']): Promise<AppError> {
  const e: unknown = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(AppError);
  const a = e as AppError;
  expect(a.code).toBe(code);
  return a;
}

async function expectSqlState(p: Promise<unknown>, sqlstate: string, message?: RegExp): Promise<void> {
  const e: unknown = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(pgErrorCode(e), `expected SQLSTATE ${sqlstate}, got ${String(e)}`).toBe(sqlstate);
  if (message) expect((e as Error).message).toMatch(message);
}

/** Columns, indexes, triggers and constraints of the current schema: equal snapshots = the same schema. */
export async function schemaSnapshot(db: Db): Promise<unknown> {
  const cols = await db.query(
    `SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default
       FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, column_name`,
  );
  const idx = await db.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname`);
  const trg = await db.query(`SELECT tgname, tgrelid::regclass::text AS tbl FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname`);
  const con = await db.query(
    `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY conname`,
  );
  return { cols: cols.rows, idx: idx.rows, trg: trg.rows, con: con.rows };
}

function trace(over: Partial<DecisionTrace> & Pick<DecisionTrace, 'exchange'>): DecisionTrace {
  return {
    schemaVersion: 1,
    asOf: T0 + HOUR,
    traceId: uuidv7(),
    decisionId: uuidv7(),
    runner: 'fast',
    runScope: 'live',
    symbol: 'BTC/USDT',
    timeframe: '1h',
    nodes: [],
    recalledMemoryIds: [],
    verdict: null,
    orderRequest: null,
    outcome: 'hold',
    resolution: null,
    ...over,
  };
}

function order(exchange: string, over: Partial<Order> = {}): Order {
  return {
    schemaVersion: 1,
    orderId: uuidv7(),
    decisionId: uuidv7(),
    exchange,
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    quantity: 1.5,
    limitPrice: 42_000.5,
    status: 'NEW',
    statusReason: null,
    exchangeOrderId: null,
    filledQuantity: 0,
    avgFillPrice: null,
    fees: 0,
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

function requestFor(o: Order): OrderRequest {
  return {
    schemaVersion: 1,
    orderId: o.orderId,
    decisionId: o.decisionId,
    exchange: o.exchange,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    quantity: o.quantity,
    limitPrice: o.limitPrice,
    stopPrice: null,
    reduceOnly: false,
    createdAt: o.createdAt,
    approval: { keyId: 'k1', limitsVersion: 1, expiresAt: o.createdAt + 60_000, signature: 'ab'.repeat(32) },
  };
}

function fill(o: Order, over: Partial<Fill> = {}): Fill {
  return {
    schemaVersion: 1,
    fillId: `trade-${uniq()}`,
    orderId: o.orderId,
    exchange: o.exchange,
    symbol: o.symbol,
    side: o.side,
    quantity: 0.5,
    price: 42_000,
    fee: 0.01,
    feeCurrency: 'USDT',
    liquidity: 'taker',
    ts: T0 + 1000,
    ...over,
  };
}

/**
 * @param open opens a new, empty database; the spec migrates it and closes it at the end.
 * @param opts.skip skip the whole suite (the title then carries the reason).
 */
export function runDbSpec(name: string, open: () => Promise<Db>, opts: { skip?: boolean } = {}): void {
  describe.skipIf(opts.skip === true)(name, () => {
    let db: Db;
    let firstRun: Awaited<ReturnType<typeof migrate>>;

    beforeAll(async () => {
      db = await open();
      firstRun = await migrate(db);
    }, 120_000); // PGlite's WASM start-up takes seconds on a busy machine
    afterAll(async () => {
      await db?.close();
    });

    describe('engine', () => {
      it('maps types the same way on both engines', async () => {
        const r = await db.query<{ big: number; f: number; j: unknown; u: string; b: boolean; n: null; arr: number }>(
          `SELECT 9007199254740991::bigint AS big, 0.1::float8 AS f, $1::jsonb AS j, $2::uuid AS u, true AS b, NULL AS n,
                  cardinality($3::bigint[]) AS arr`,
          [JSON.stringify({ a: [1, 'x'], b: null }), '0190a0b0-0000-7000-8000-000000000001', [1, 2, 3]],
        );
        expect(r.rows).toEqual([{ big: 9007199254740991, f: 0.1, j: { a: [1, 'x'], b: null }, u: '0190a0b0-0000-7000-8000-000000000001', b: true, n: null, arr: 3 }]);
        expect(r.rowCount).toBe(1);
      });

      it('runs a named statement like its text, again and inside a transaction', async () => {
        const s = namedStatement('SELECT $1::int + 1 AS n, $2::text AS t');
        expect((await db.query<{ n: number; t: string }>(s, [41, 'a'])).rows).toEqual([{ n: 42, t: 'a' }]);
        expect((await db.query<{ n: number; t: string }>(s, [1, 'b'])).rows).toEqual([{ n: 2, t: 'b' }]);
        await db.transaction(async (tx) => {
          expect((await tx.query<{ n: number; t: string }>(s, [-3, 'c'])).rows).toEqual([{ n: -2, t: 'c' }]);
        });
      });
      it('refuses a bigint a JS number cannot hold exactly', async () => {
        await expectAppError(db.query('SELECT 9007199254740993::bigint AS x'), 'DATA_INTEGRITY');
      });

      it('reports the SQLSTATE of a failed statement and stays usable', async () => {
        await expectSqlState(db.query('SELECT 1 / 0'), '22012');
        expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
      });

      it('has pgvector: CREATE EXTENSION is idempotent and <-> finds the nearest neighbour first', async () => {
        await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
        const t = `vec_${uniq()}`;
        await db.exec(`CREATE TABLE ${t} (id text PRIMARY KEY, e vector(3))`);
        try {
          await db.query(`INSERT INTO ${t} (id, e) VALUES ('far', '[10,10,10]'), ('near', '[1,1,1.5]'), ('mid', '[3,3,3]')`);
          const r = await db.query<{ id: string; d: number }>(`SELECT id, e <-> $1::vector AS d FROM ${t} ORDER BY e <-> $1::vector`, ['[1,1,1]']);
          expect(r.rows.map((x) => x.id)).toEqual(['near', 'mid', 'far']);
          expect(r.rows[0]?.d).toBeCloseTo(0.5, 12);
        } finally {
          await db.exec(`DROP TABLE ${t}`);
        }
      });
    });

    describe('migrations', () => {
      it('the first run applied every migration, recorded once with its checksum', async () => {
        const files = loadMigrations();
        expect(firstRun.applied.map((m) => m.version)).toEqual(files.map((m) => m.version));
        const rows = await db.query<{ version: number; checksum: string; n: number }>(
          'SELECT version, checksum, count(*) OVER (PARTITION BY version) AS n FROM schema_migrations ORDER BY version',
        );
        expect(rows.rows).toEqual(files.map((m) => ({ version: m.version, checksum: m.checksum, n: 1 })));
        const tables = await db.query<{ t: string }>(
          `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
        );
        expect(tables.rows.map((x) => x.t)).toEqual(expect.arrayContaining(INITIAL_TABLES));
      });

      it('running again applies nothing and leaves the schema exactly as it was', async () => {
        const before = await schemaSnapshot(db);
        const again = await migrate(db);
        expect(again.applied).toEqual([]);
        expect(again.alreadyApplied).toBe(loadMigrations().length);
        expect(await schemaSnapshot(db)).toEqual(before);
        const count = await db.query<{ n: number }>('SELECT count(*) AS n FROM schema_migrations');
        expect(count.rows[0]?.n).toBe(loadMigrations().length);
        const status = await migrationStatus(db);
        expect(status.pending).toEqual([]);
        expect(status.unknown).toEqual([]);
        expect(status.applied.map((a) => a.changed)).toEqual(loadMigrations().map(() => false));
      });

      // the rules below run on a scratch schema inside a transaction that is rolled back
      const m = (version: number, name: string, sql: string): Migration => ({ version, name, sql, checksum: checksumOf(sql) });
      const scratch = async (tx: Db) => {
        const s = `scratch_${uniq()}`;
        await tx.exec(`CREATE SCHEMA ${s}; SET LOCAL search_path = ${s}`);
      };

      it('applies pending migrations in order, each once, and reports status', async () => {
        await inRolledBackTx(db, async (tx) => {
          await scratch(tx);
          const one = [m(1, 'a', 'CREATE TABLE a (x int)')];
          const two = [...one, m(2, 'b', 'CREATE TABLE b (y int); INSERT INTO a VALUES (1)')];
          expect((await migrationStatus(tx, { migrations: two })).pending).toEqual([
            { version: 1, name: 'a' },
            { version: 2, name: 'b' },
          ]);
          expect((await migrate(tx, { migrations: one, now: () => 123 })).applied.map((x) => x.version)).toEqual([1]);
          const progress: number[] = [];
          const r = await migrate(tx, { migrations: two, onApplied: (x) => progress.push(x.version) });
          expect(r.applied.map((x) => x.version)).toEqual([2]);
          expect(progress).toEqual([2]);
          expect(r.alreadyApplied).toBe(1);
          expect((await migrate(tx, { migrations: two })).applied).toEqual([]);
          expect((await tx.query<{ n: number }>('SELECT count(*) AS n FROM a')).rows[0]?.n).toBe(1);
          const st = await migrationStatus(tx, { migrations: two });
          expect(st.pending).toEqual([]);
          expect(st.applied.map((a) => [a.version, a.name, a.changed])).toEqual([
            [1, 'a', false],
            [2, 'b', false],
          ]);
          expect(st.applied[0]?.appliedAt).toBe(123);
        });
      });

      it('refuses to run when an applied migration was changed, or the database knows a newer one', async () => {
        await inRolledBackTx(db, async (tx) => {
          await scratch(tx);
          await migrate(tx, { migrations: [m(1, 'a', 'CREATE TABLE a (x int)'), m(2, 'b', 'CREATE TABLE b (x int)')] });
          const changed = await expectAppError(
            migrate(tx, { migrations: [m(1, 'a', 'CREATE TABLE a (x bigint)'), m(2, 'b', 'CREATE TABLE b (x int)')] }),
            'DATA_INTEGRITY',
          );
          expect(changed.message).toContain('0001_a was changed');
          const st = await migrationStatus(tx, { migrations: [m(1, 'a', 'CREATE TABLE a (x bigint)')] });
          expect(st.applied.map((a) => a.changed)).toEqual([true]);
          expect(st.unknown.map((u) => u.version)).toEqual([2]);
          await expectAppError(migrate(tx, { migrations: [m(1, 'a', 'CREATE TABLE a (x int)')] }), 'CONFLICT');
        });
      });

      it('a failing migration leaves nothing behind and the earlier ones recorded', async () => {
        await inRolledBackTx(db, async (tx) => {
          await scratch(tx);
          const ok = m(1, 'ok', 'CREATE TABLE ok (x int)');
          const bad = m(2, 'bad', 'CREATE TABLE half (x int); SELECT * FROM no_such_table');
          const e = await expectAppError(migrate(tx, { migrations: [ok, bad] }), 'INTERNAL');
          expect(e.message).toContain('0002_bad failed');
          const st = await migrationStatus(tx, { migrations: [ok, bad] });
          expect(st.applied.map((a) => a.version)).toEqual([1]);
          expect(st.pending.map((p) => p.version)).toEqual([2]);
          expect((await tx.query<{ t: string | null }>("SELECT to_regclass('half')::text AS t")).rows[0]?.t).toBeNull();
        });
      });

      it('refuses a pending migration numbered below an applied one', async () => {
        await inRolledBackTx(db, async (tx) => {
          await scratch(tx);
          await migrate(tx, { migrations: [m(1, 'a', 'SELECT 1'), m(3, 'c', 'SELECT 3')] });
          await expectAppError(migrate(tx, { migrations: [m(1, 'a', 'SELECT 1'), m(2, 'b', 'SELECT 2'), m(3, 'c', 'SELECT 3')] }), 'DATA_INTEGRITY');
        });
      });
    });

    describe('transactions', () => {
      const table = async () => {
        const t = `tx_${uniq()}`;
        await db.exec(`CREATE TABLE ${t} (k text PRIMARY KEY)`);
        return t;
      };
      const keys = async (t: string) => (await db.query<{ k: string }>(`SELECT k FROM ${t} ORDER BY k`)).rows.map((r) => r.k);

      it('commits when the callback resolves and returns its value', async () => {
        const t = await table();
        try {
          const v = await db.transaction(async (tx) => {
            await tx.query(`INSERT INTO ${t} VALUES ('a')`);
            return 42;
          });
          expect(v).toBe(42);
          expect(await keys(t)).toEqual(['a']);
        } finally {
          await db.exec(`DROP TABLE ${t}`);
        }
      });

      it('rolls back everything when the callback throws, and rethrows the error', async () => {
        const t = await table();
        try {
          const boom = new Error('boom');
          await expect(
            db.transaction(async (tx) => {
              await tx.query(`INSERT INTO ${t} VALUES ('a')`);
              throw boom;
            }),
          ).rejects.toBe(boom);
          expect(await keys(t)).toEqual([]);
          await expectSqlState(
            db.transaction(async (tx) => {
              await tx.query(`INSERT INTO ${t} VALUES ('b')`);
              await tx.query(`INSERT INTO ${t} VALUES ('b')`);
            }),
            '23505',
          );
          expect(await keys(t)).toEqual([]);
        } finally {
          await db.exec(`DROP TABLE ${t}`);
        }
      });

      it('nests: an inner failure rolls back only the inner part (savepoint); the outer handle joins the open transaction', async () => {
        const t = await table();
        try {
          await db.transaction(async (tx) => {
            await tx.query(`INSERT INTO ${t} VALUES ('outer')`);
            await expect(
              tx.transaction(async (inner) => {
                await inner.query(`INSERT INTO ${t} VALUES ('inner-rolled-back')`);
                throw new Error('inner');
              }),
            ).rejects.toThrow('inner');
            await tx.transaction(async (inner) => {
              await inner.query(`INSERT INTO ${t} VALUES ('inner-kept')`);
            });
            // a repository called with the outer Db from inside the callback: same transaction, no deadlock
            await db.transaction(async (again) => {
              await again.query(`INSERT INTO ${t} VALUES ('outer-handle')`);
            });
            const seen = await db.query<{ k: string }>(`SELECT k FROM ${t} ORDER BY k`);
            expect(seen.rows.map((r) => r.k)).toEqual(['inner-kept', 'outer', 'outer-handle']);
            // concurrent calls inside one transaction are serialised, not interleaved
            await Promise.all([tx.query(`INSERT INTO ${t} VALUES ('p1')`), tx.query(`INSERT INTO ${t} VALUES ('p2')`)]);
          });
          expect(await keys(t)).toEqual(['inner-kept', 'outer', 'outer-handle', 'p1', 'p2']);
          await expect(
            db.transaction(async (tx) => {
              await tx.transaction(async (inner) => {
                await inner.query(`INSERT INTO ${t} VALUES ('gone')`);
              });
              throw new Error('outer fails');
            }),
          ).rejects.toThrow('outer fails');
          expect(await keys(t)).not.toContain('gone');
        } finally {
          await db.exec(`DROP TABLE ${t}`);
        }
      });

      it('a transaction handle cannot be used after its callback, nor closed', async () => {
        let leaked: Db | undefined;
        await db.transaction(async (tx) => {
          leaked = tx;
          await expectAppError(tx.close(), 'INTERNAL');
        });
        if (!leaked) throw new Error('callback did not run');
        await expectAppError(leaked.query('SELECT 1'), 'INTERNAL');
      });

      it('work a transaction started and left running is refused on the Db itself once the transaction ended — never run outside it', async () => {
        let later: Promise<unknown> | undefined;
        let went: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => (went = resolve));
        await expect(
          db.transaction(async () => {
            // still running when the transaction rolls back: its statements come from inside it
            later = gate.then(() => db.query('SELECT 1'));
            later.catch(() => undefined);
            throw new Error('the callback failed');
          }),
        ).rejects.toThrow('the callback failed');
        went();
        await expectAppError(later!, 'INTERNAL');
        let laterTx: Promise<unknown> | undefined;
        const gate2 = new Promise<void>((resolve) => (went = resolve));
        await db.transaction(async () => {
          laterTx = gate2.then(() => db.transaction((t) => t.query('SELECT 1')));
          laterTx.catch(() => undefined);
        });
        went();
        await expectAppError(laterTx!, 'INTERNAL');
        // and the Db itself is fine
        expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      });

      it('maintenance: statements share one session outside any transaction, and its settings do not leak', async () => {
        const t = `maint_${db.kind}_${Date.now()}`;
        await db.exec(`CREATE TABLE ${t} (v integer)`);
        try {
          // CREATE INDEX CONCURRENTLY refuses to run inside a transaction block: it runs here, and
          // the SET before it applied to the same session (the index's own statement saw 'maint')
          await db.maintenance([
            "SET application_name = 'maint'",
            `CREATE INDEX CONCURRENTLY ${t}_v ON ${t} (v)`,
            `INSERT INTO ${t} SELECT 1 WHERE current_setting('application_name') = 'maint'`,
          ]);
          expect((await db.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0]).toEqual({ n: 1 });
          expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = '${t}_v'`)).rows[0]!.n).toBe(1);
          // afterwards: the setting is gone (server: the connection was closed; PGlite: RESET ALL)
          expect((await db.query<{ a: string }>("SELECT current_setting('application_name') AS a")).rows[0]!.a).not.toBe('maint');
          // the first failure stops the run and is thrown with its SQLSTATE
          await expectSqlState(db.maintenance([`INSERT INTO ${t} VALUES (2)`, 'SELECT * FROM no_such_table', `INSERT INTO ${t} VALUES (3)`]), '42P01');
          expect((await db.query<{ v: number }>(`SELECT v FROM ${t} ORDER BY v`)).rows.map((r) => r.v)).toEqual([1, 2]);
          // inside a transaction it is refused
          await db.transaction(async (tx) => {
            await expectAppError(tx.maintenance(['SELECT 1']), 'INTERNAL');
          });
        } finally {
          await db.exec(`DROP TABLE ${t}`);
        }
      });
    });

    describe('append-only tables', () => {
      it.each(['audit_log', 'risk_limit_versions', 'trading_state_transitions'])('%s refuses UPDATE, DELETE and TRUNCATE', async (table) => {
        const actor = uniq();
        await appendAudit(db, { at: T0, actor, action: 'test', entity: 'x' });
        await appendRiskLimits(db, { limits: {}, author: actor, reason: 'append-only test', createdAt: T0 });
        await transitionTradingState(db, { scope: uniq(), to: 'HALTED', reason: 'append-only test', actor, at: T0 });
        const rows = await db.query(`SELECT count(*) AS n FROM ${table}`);
        await expectSqlState(db.query(`UPDATE ${table} SET reason = reason`), '23001', /append-only/);
        await expectSqlState(db.query(`DELETE FROM ${table}`), '23001', /append-only/);
        await expectSqlState(db.query(`TRUNCATE ${table}`), '23001', /append-only/);
        expect((await db.query(`SELECT count(*) AS n FROM ${table}`)).rows).toEqual(rows.rows);
      });
    });

    describe('repositories', () => {
      it('candles: batched upsert counts inserted / updated / unchanged; range read in ts order; stats', async () => {
        const exchange = uniq();
        const bar = (i: number, close = 100 + i, symbol = 'BTC/USDT'): CandleRow => ({
          exchange,
          symbol,
          timeframe: '1h',
          ts: T0 + i * HOUR,
          open: 100,
          high: 200,
          low: 50,
          close,
          volume: 0.1 * i,
        });
        const bars = [3, 1, 0, 2, 4].map((i) => bar(i));
        expect(await upsertCandles(db, bars, { batchSize: 2 })).toEqual({ inserted: 5, updated: 0, unchanged: 0 });
        expect(await upsertCandles(db, bars, { batchSize: 2 })).toEqual({ inserted: 0, updated: 0, unchanged: 5 });
        // a corrected bar, a new bar, and a duplicate within the input (last one wins)
        const r = await upsertCandles(db, [bar(1, 111.25), bar(5), bar(0), bar(5, 105.5)]);
        expect(r).toEqual({ inserted: 1, updated: 1, unchanged: 1 });
        await upsertCandles(db, [bar(0, 100, 'ETH/USDT')]);

        const all = await readCandles(db, { exchange, symbol: 'BTC/USDT', timeframe: '1h' });
        expect(all.map((c) => c.ts)).toEqual([0, 1, 2, 3, 4, 5].map((i) => T0 + i * HOUR));
        expect(all[1]).toEqual({ schemaVersion: 1, exchange, symbol: 'BTC/USDT', timeframe: '1h', ts: T0 + HOUR, open: 100, high: 200, low: 50, close: 111.25, volume: 0.1 });
        expect(all[5]?.close).toBe(105.5);
        const window = await readCandles(db, { exchange, symbol: 'BTC/USDT', timeframe: '1h', from: T0 + HOUR, to: T0 + 4 * HOUR });
        expect(window.map((c) => c.ts)).toEqual([1, 2, 3].map((i) => T0 + i * HOUR));
        expect((await readCandles(db, { exchange, symbol: 'BTC/USDT', timeframe: '1h', limit: 2 })).map((c) => c.ts)).toEqual([T0, T0 + HOUR]);

        expect(await candleStats(db, { exchange })).toEqual([
          { exchange, symbol: 'BTC/USDT', timeframe: '1h', first: T0, last: T0 + 5 * HOUR, count: 6 },
          { exchange, symbol: 'ETH/USDT', timeframe: '1h', first: T0, last: T0, count: 1 },
        ]);
        await expectSqlState(upsertCandles(db, [{ ...bar(9), low: 300 }]), '23514');
      });

      it('candles: a large import goes through in batches and round-trips doubles exactly', async () => {
        const exchange = uniq();
        const n = 6_000; // two batches of CANDLE_BATCH_SIZE
        const bars: CandleRow[] = Array.from({ length: n }, (_, i) => ({
          exchange,
          symbol: 'BTC/USDT',
          timeframe: '1m',
          ts: T0 + i * 60_000,
          open: 1 / 3 + i,
          high: 1 / 3 + i + 1,
          low: 1 / 3 + i - 0.1,
          close: Math.PI * i + 0.1,
          volume: 1e-9 * i,
        }));
        expect(await upsertCandles(db, bars)).toEqual({ inserted: n, updated: 0, unchanged: 0 });
        const back = await readCandles(db, { exchange, symbol: 'BTC/USDT', timeframe: '1m' });
        expect(back.length).toBe(n);
        expect(back[n - 1]).toEqual({ schemaVersion: 1, ...bars[n - 1] });
        expect(back.every((c, i) => c.close === bars[i]?.close && c.open === bars[i]?.open)).toBe(true);
      });

      it('memories: idempotent insert, one-time resolve, point-in-time exact kNN', async () => {
        const exchange = uniq();
        const base = { exchange, timeframe: '1h' as const, featureVersion: 7, horizonBars: 4, createdAt: T0 };
        const a = await insertMemory(db, { ...base, symbol: 'BTC/USDT', ts: T0, embedding: [0, 0, 0] });
        const b = await insertMemory(db, { ...base, symbol: 'BTC/USDT', ts: T0 + HOUR, embedding: [1, 0, 0] });
        const c = await insertMemory(db, { ...base, symbol: 'ETH/USDT', ts: T0, embedding: [0.5, 0, 0] });
        const other = await insertMemory(db, { ...base, symbol: 'BTC/USDT', ts: T0, featureVersion: 8, embedding: [0.9, 0, 0, 0] });
        expect([a.inserted, b.inserted, c.inserted, other.inserted]).toEqual([true, true, true, true]);
        expect(await insertMemory(db, { ...base, symbol: 'BTC/USDT', ts: T0, embedding: [9, 9, 9] })).toEqual({ inserted: false, id: a.id });

        const unresolved = async (featureVersion?: number) =>
          (await listUnresolvedMemories(db, { exchange, symbol: 'BTC/USDT', timeframe: '1h', before: T0 + 2 * HOUR, featureVersion })).map((x) => x.id);
        expect(await unresolved(7)).toEqual([a.id, b.id]);
        expect(await unresolved()).toEqual([a.id, other.id, b.id]); // ts order, then id
        const outcome = (resolvedAt: number, forwardReturn: number) => ({ forwardReturn, mfe: 0.03, mae: -0.01, resolvedAt });
        expect(await resolveMemory(db, a.id, outcome(T0 + 4 * HOUR, 0.02))).toBe(true);
        expect(await resolveMemory(db, a.id, outcome(T0 + 4 * HOUR, 0.99))).toBe(false);
        expect(await resolveMemory(db, b.id, outcome(T0 + 5 * HOUR, -0.01))).toBe(true);
        expect(await resolveMemory(db, c.id, outcome(T0 + 4 * HOUR, 0.05))).toBe(true);
        expect(await resolveMemory(db, other.id, outcome(T0 + 4 * HOUR, 0.07))).toBe(true);

        const stored = await getMemory(db, a.id);
        expect(stored).toMatchObject({ id: a.id, embedding: [0, 0, 0], featureVersion: 7, outcome: outcome(T0 + 4 * HOUR, 0.02) });

        const q = { embedding: [0.95, 0, 0], featureVersion: 7, exchange, k: 10 };
        // at T0+4h only a and c are known: b resolves an hour later (no look-ahead)
        const at4 = await recallMemories(db, { ...q, asOf: T0 + 4 * HOUR });
        expect(at4.map((x) => x.memoryId)).toEqual([c.id, a.id]);
        expect(at4[0]).toEqual({
          memoryId: c.id,
          exchange,
          symbol: 'ETH/USDT',
          timeframe: '1h',
          ts: T0,
          distance: expect.closeTo(0.45, 6) as number, // pgvector stores float4
          horizonBars: 4,
          forwardReturn: 0.05,
          mfe: 0.03,
          mae: -0.01,
          resolvedAt: T0 + 4 * HOUR,
        });
        const at5 = await recallMemories(db, { ...q, asOf: T0 + 5 * HOUR });
        expect(at5.map((x) => x.memoryId)).toEqual([b.id, c.id, a.id]);
        expect((await recallMemories(db, { ...q, asOf: T0 + 5 * HOUR, k: 1 })).map((x) => x.memoryId)).toEqual([b.id]);
        expect((await recallMemories(db, { ...q, asOf: T0 + 5 * HOUR, symbol: 'BTC/USDT' })).map((x) => x.memoryId)).toEqual([b.id, a.id]);
        expect((await recallMemories(db, { ...q, asOf: T0 + 3 * HOUR })).length).toBe(0);
        expect((await recallMemories(db, { ...q, embedding: [1, 0, 0, 0], featureVersion: 8, asOf: T0 + 5 * HOUR })).map((x) => x.memoryId)).toEqual([other.id]);
      });

      it('decision traces: one per bar and scope, returned on redelivery; get and list', async () => {
        const exchange = uniq();
        const first = trace({ exchange });
        const r1 = await insertDecisionTrace(db, first, T0 + 5);
        expect(r1.inserted).toBe(true);
        expect(r1.stored).toEqual({ trace: first, createdAt: T0 + 5 });
        // the same candle redelivered: a new run of the graph produces new ids, but the bar already has its decision
        const redelivered = await insertDecisionTrace(db, trace({ exchange, outcome: 'hold' }), T0 + 9);
        expect(redelivered).toEqual({ inserted: false, stored: { trace: first, createdAt: T0 + 5 } });
        // the same bar in a backtest run is a different scope
        const bt = trace({ exchange, runScope: uuidv7() });
        expect((await insertDecisionTrace(db, bt, T0 + 6)).inserted).toBe(true);
        const later = trace({ exchange, asOf: T0 + 2 * HOUR });
        await insertDecisionTrace(db, later, T0 + 7);

        expect((await getDecisionTrace(db, first.decisionId))?.trace).toEqual(first);
        expect(await getDecisionTrace(db, uuidv7())).toBeUndefined();
        expect((await listDecisionTraces(db, { exchange, runScope: 'live' })).map((s) => s.trace.decisionId)).toEqual([later.decisionId, first.decisionId]);
        expect((await listDecisionTraces(db, { exchange, runScope: 'live', before: T0 + 2 * HOUR })).map((s) => s.trace.decisionId)).toEqual([first.decisionId]);
        expect((await listDecisionTraces(db, { exchange, runScope: bt.runScope })).map((s) => s.trace.decisionId)).toEqual([bt.decisionId]);
        await expectAppError(insertDecisionTrace(db, { ...trace({ exchange }), outcome: 'order' }, T0), 'VALIDATION');
      });

      it('risk limits: gapless versions, latest/get/list, optimistic concurrency, validation', async () => {
        const author = uniq();
        const latest = (await latestRiskLimits(db))?.version ?? 0;
        const v1 = await appendRiskLimits(db, { limits: { maxOrderNotional: 1000 }, author, reason: 'initial', createdAt: T0, expectedLatest: latest });
        expect(v1).toEqual({
          version: latest + 1,
          limits: { schemaVersion: 1, allowedSymbols: [], requireStopLoss: false, maxOrderNotional: 1000 },
          author,
          reason: 'initial',
          createdAt: T0,
        });
        const v2 = await appendRiskLimits(db, { limits: { maxOrderNotional: 500 }, author, reason: 'tighter', createdAt: T0 + 1, expectedLatest: v1.version });
        expect(v2.version).toBe(v1.version + 1);
        await expectAppError(appendRiskLimits(db, { limits: {}, author, reason: 'stale edit', createdAt: T0 + 2, expectedLatest: v1.version }), 'CONFLICT');
        await expectAppError(appendRiskLimits(db, { limits: { maxOrderNotional: -1 }, author, reason: 'bad', createdAt: T0 + 2 }), 'VALIDATION');
        expect((await latestRiskLimits(db))?.version).toBe(v2.version);
        expect(await getRiskLimits(db, v1.version)).toEqual(v1);
        expect(await getRiskLimits(db, 999_999)).toBeUndefined();
        expect((await listRiskLimitVersions(db, { limit: 2 })).map((v) => v.version)).toEqual([v2.version, v1.version]);
      });

      it('audit log: append and list newest first by entity', async () => {
        const entity = `user:${uniq()}`;
        const a = await appendAudit(db, { at: T0, actor: 'alice', action: 'user.create', entity, after: { role: 'quant' } });
        const b = await appendAudit(db, { at: T0 + 1, actor: 'bob', action: 'user.role', entity, before: { role: 'quant' }, after: { role: 'admin' }, reason: 'promotion' });
        expect(b).toEqual({ id: b.id, at: T0 + 1, actor: 'bob', action: 'user.role', entity, before: { role: 'quant' }, after: { role: 'admin' }, reason: 'promotion' });
        expect(await listAudit(db, { entity })).toEqual([b, a]);
        expect(await listAudit(db, { entity, actor: 'alice' })).toEqual([a]);
        expect(await listAudit(db, { entity, beforeId: b.id })).toEqual([a]);
        expect(a.before).toBeNull();
      });

      it('trading state: transitions update the state and record history in one transaction', async () => {
        const scope = uniq();
        expect(await getTradingState(db, scope)).toBeUndefined();
        const h = await transitionTradingState(db, { scope, to: 'HALTED', reason: 'kill switch', actor: 'risk', at: T0, until: T0 + HOUR, expectedVersion: 0 });
        expect(h.state).toEqual({ scope, version: 1, state: { schemaVersion: 1, state: 'HALTED', reason: 'kill switch', actor: 'risk', since: T0, until: T0 + HOUR } });
        expect(h.transition).toMatchObject({ scope, from: null, to: 'HALTED', at: T0, until: T0 + HOUR });
        const a = await transitionTradingState(db, { scope, to: 'ACTIVE', reason: 'resume', actor: 'risk', at: T0 + 2, expectedVersion: 1 });
        expect(a.state.version).toBe(2);
        expect(a.state.state.until).toBeNull();
        await expectAppError(transitionTradingState(db, { scope, to: 'HALTED', reason: 'stale', actor: 'x', at: T0 + 3, expectedVersion: 1 }), 'CONFLICT');
        expect(await getTradingState(db, scope)).toEqual(a.state);
        const history = await listTradingStateTransitions(db, { scope });
        expect(history.map((t) => [t.from, t.to, t.reason])).toEqual([
          ['HALTED', 'ACTIVE', 'resume'],
          [null, 'HALTED', 'kill switch'],
        ]);
      });

      it('orders: idempotent insert, open list, guarded updates with transition rows', async () => {
        const exchange = uniq();
        const o = order(exchange);
        const request = requestFor(o);
        const ins = await insertOrder(db, { order: o, request });
        expect(ins).toEqual({ inserted: true, order: { ...o, approval: request.approval, request } });
        expect(await insertOrder(db, { order: { ...o, quantity: 99 } })).toEqual({ inserted: false, order: ins.order });
        const market = order(exchange, { type: 'market', limitPrice: null, createdAt: T0 + 1 });
        await insertOrder(db, { order: market });
        expect((await getOrder(db, market.orderId))?.approval).toBeNull();
        expect((await listOpenOrders(db, { exchange })).map((x) => x.orderId)).toEqual([o.orderId, market.orderId]);

        await updateOrder(db, o.orderId, { expectedStatus: 'NEW', status: 'OPEN', at: T0 + 10, exchangeOrderId: 'ex-1' });
        await expectAppError(updateOrder(db, o.orderId, { expectedStatus: 'NEW', status: 'CANCELED', at: T0 + 11 }), 'CONFLICT');
        await expectAppError(updateOrder(db, o.orderId, { expectedStatus: 'OPEN', status: 'FILLED', at: T0 + 11, filledQuantity: 5, avgFillPrice: 1 }), 'VALIDATION');
        await expectAppError(updateOrder(db, uuidv7(), { expectedStatus: 'NEW', status: 'OPEN', at: T0 }), 'NOT_FOUND');
        const filled = await updateOrder(db, o.orderId, {
          expectedStatus: ['OPEN', 'PARTIALLY_FILLED'],
          status: 'FILLED',
          at: T0 + 20,
          filledQuantity: 1.5,
          avgFillPrice: 42_000.25,
          fees: 0.63,
          reason: 'filled',
        });
        expect(filled).toMatchObject({ status: 'FILLED', filledQuantity: 1.5, avgFillPrice: 42_000.25, fees: 0.63, exchangeOrderId: 'ex-1', statusReason: 'filled', updatedAt: T0 + 20 });
        expect(await getOrder(db, o.orderId)).toEqual(filled);
        expect((await listOpenOrders(db, { exchange })).map((x) => x.orderId)).toEqual([market.orderId]);
        expect((await listOrderTransitions(db, o.orderId)).map((t) => [t.from, t.to, t.at])).toEqual([
          [null, 'NEW', T0],
          ['NEW', 'OPEN', T0 + 10],
          ['OPEN', 'FILLED', T0 + 20],
        ]);
        expect((await listOrders(db, { decisionId: o.decisionId })).map((x) => x.orderId)).toEqual([o.orderId]);
      });

      it('fills: idempotent on the exchange trade id, listed by order in time order', async () => {
        const exchange = uniq();
        const o = order(exchange);
        await insertOrder(db, { order: o });
        const f2 = fill(o, { ts: T0 + 2000, fillId: 'trade-2' });
        const f1 = fill(o, { ts: T0 + 1000, fillId: 'trade-1', liquidity: null });
        expect(await insertFill(db, f2)).toEqual({ inserted: true });
        expect(await insertFill(db, f1)).toEqual({ inserted: true });
        expect(await insertFill(db, { ...f1, price: 1 })).toEqual({ inserted: false });
        expect(await listFills(db, o.orderId)).toEqual([f1, f2]);
        await expectSqlState(insertFill(db, fill(order(exchange))), '23503');
      });

      it('positions: upsert and list', async () => {
        const exchange = uniq();
        const p = { exchange, symbol: 'BTC/USDT', quantity: 0.5, avgEntryPrice: 40_000, realizedPnl: 0, openedAt: T0, updatedAt: T0 };
        expect(await upsertPosition(db, p)).toEqual(p);
        const short = { ...p, symbol: 'ETH/USDT', quantity: -2, avgEntryPrice: 2000 };
        await upsertPosition(db, short);
        const flat = { ...p, quantity: 0, realizedPnl: 125.5, openedAt: null, updatedAt: T0 + 5 };
        await upsertPosition(db, flat);
        expect(await getPosition(db, exchange, 'BTC/USDT')).toEqual(flat);
        expect(await listPositions(db, { exchange })).toEqual([flat, short]);
        expect(await listPositions(db, { exchange, openOnly: true })).toEqual([short]);
      });

      it('outbox: once per order; claim leases, dispatch, redelivery when unacked, ack ends it', async () => {
        const a = uuidv7();
        const b = uuidv7();
        const mine = (xs: { orderId: string }[]) => xs.map((x) => x.orderId).filter((id) => id === a || id === b);
        expect(await insertOutbox(db, { orderId: a, payload: { orderId: a, n: 1 }, createdAt: T0 })).toEqual({ inserted: true });
        expect(await insertOutbox(db, { orderId: a, payload: { other: true }, createdAt: T0 + 1 })).toEqual({ inserted: false });
        await insertOutbox(db, { orderId: b, payload: { orderId: b }, createdAt: T0 + 1 });
        const opts = { leaseMs: 1000, redeliverAfterMs: 10_000, limit: 1000 };

        const claimed = await claimOutbox(db, { ...opts, now: T0 + 100 });
        expect(mine(claimed)).toEqual([a, b]);
        expect(claimed.find((x) => x.orderId === a)).toMatchObject({ payload: { orderId: a, n: 1 }, claimedUntil: T0 + 1100, dispatchCount: 0 });
        expect(mine(await claimOutbox(db, { ...opts, now: T0 + 200 }))).toEqual([]); // leased
        const entryA = claimed.find((x) => x.orderId === a);
        if (!entryA) throw new Error('a not claimed');
        await markOutboxDispatched(db, entryA.id, T0 + 300);
        // b's lease ran out without a dispatch (its claimer died): handed out again; a is dispatched and waits for its ack
        expect(mine(await claimOutbox(db, { ...opts, now: T0 + 1200 }))).toEqual([b]);
        expect(await ackOutbox(db, b, T0 + 1300)).toBe(true);
        // a was never acked: redelivered after redeliverAfterMs
        expect(mine(await claimOutbox(db, { ...opts, now: T0 + 300 + 10_000 }))).toEqual([a]);
        expect(await ackOutbox(db, a, T0 + 20_000)).toBe(true);
        expect(await ackOutbox(db, a, T0 + 20_001)).toBe(false);
        expect(mine(await claimOutbox(db, { ...opts, now: T0 + 10_000_000 }))).toEqual([]);
        expect(await getOutboxEntry(db, a)).toMatchObject({ dispatchedAt: T0 + 300, dispatchCount: 1, ackedAt: T0 + 20_000 });
      });

      it('backtest runs: create, finish once, get, list', async () => {
        const id = uuidv7();
        const run = await createBacktestRun(db, { id, params: { symbol: 'BTC/USDT', from: T0 }, outDir: '/tmp/bt', createdAt: T0 });
        expect(run).toEqual({ id, status: 'running', params: { symbol: 'BTC/USDT', from: T0 }, summary: null, outDir: '/tmp/bt', createdAt: T0, finishedAt: null });
        const done = await finishBacktestRun(db, id, { status: 'completed', summary: { sharpe: 1.25 }, finishedAt: T0 + 9 });
        expect(done).toMatchObject({ status: 'completed', summary: { sharpe: 1.25 }, finishedAt: T0 + 9 });
        await expectAppError(finishBacktestRun(db, id, { status: 'failed', summary: null, finishedAt: T0 + 10 }), 'CONFLICT');
        await expectAppError(finishBacktestRun(db, uuidv7(), { status: 'failed', summary: null, finishedAt: T0 }), 'NOT_FOUND');
        expect(await getBacktestRun(db, id)).toEqual(done);
        expect((await listBacktestRuns(db, { limit: 1000 })).map((r) => r.id)).toContain(id);
      });

      it('users and api tokens: unique names, only the token hash stored, revocation', async () => {
        const name = uniq();
        const u = await createUser(db, { name, role: 'risk_officer', createdAt: T0 });
        await expectAppError(createUser(db, { name, role: 'admin', createdAt: T0 }), 'CONFLICT');
        expect(await getUserByName(db, name)).toEqual(u);
        expect((await listUsers(db)).map((x) => x.name)).toContain(name);

        const { token, record } = await createApiToken(db, { userId: u.id, label: 'laptop', createdAt: T0 });
        expect(token).toMatch(/^mrd_[A-Za-z0-9_-]{43}$/);
        const stored = await db.query<{ token_hash: string }>('SELECT token_hash FROM api_tokens WHERE id = $1', [record.id]);
        expect(stored.rows[0]?.token_hash).toBe(hashApiToken(token));
        expect(stored.rows[0]?.token_hash).not.toContain(token.slice(4));

        expect(await authenticateApiToken(db, token, T0 + 5)).toEqual({ user: u, tokenId: record.id });
        expect(await authenticateApiToken(db, `${token}x`, T0 + 5)).toBeUndefined();
        expect((await listApiTokens(db, u.id))[0]?.lastUsedAt).toBe(T0 + 5);
        expect(await revokeApiToken(db, record.id, T0 + 6)).toBe(true);
        expect(await revokeApiToken(db, record.id, T0 + 7)).toBe(false);
        expect(await authenticateApiToken(db, token, T0 + 8)).toBeUndefined();
        expect(await listApiTokens(db, u.id)).toEqual([{ ...record, lastUsedAt: T0 + 5, revokedAt: T0 + 6 }]);
      });
    });
  });
}
