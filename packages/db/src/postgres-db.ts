import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { sqlText, type Db, type NamedStatement, type QueryResult, type SqlValue } from './db.ts';
import { mapDbError } from './db-errors.ts';
import { redactDbUrl } from './redact-url.ts';
import { TransactionHandle, type TxConnection } from './transaction-handle.ts';
import { INT8_OID, parseInt8 } from './type-parsers.ts';

export interface PostgresDbOptions {
  readonly url: string;
  /** pool size (default 10) */
  readonly max?: number;
  /** shown in pg_stat_activity (default "meridian") */
  readonly applicationName?: string;
  /** how long to wait for a connection before failing with DB_UNAVAILABLE (default 5000 ms) */
  readonly connectionTimeoutMs?: number;
}

const typeOverrides = new pg.TypeOverrides();
typeOverrides.setTypeParser(INT8_OID, parseInt8);

type Row = Record<string, unknown>;
const toResult = (r: pg.QueryResult<Row>): QueryResult<Row> => ({ rows: r.rows, rowCount: r.rowCount ?? r.rows.length });

/** node-postgres' query config: a named statement is parsed once per connection (see NamedStatement) */
const pgQuery = (sql: string | NamedStatement, params: readonly SqlValue[]): pg.QueryConfig =>
  typeof sql === 'string' || sql.name === '' ? { text: sqlText(sql), values: [...params] } : { name: sql.name, text: sql.text, values: [...params] };

/** A PostgreSQL server through a node-postgres Pool; transactions pin one client. */
export class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  readonly location: string;
  #pool: pg.Pool;
  #als = new AsyncLocalStorage<TransactionHandle>();
  #closing: Promise<void> | undefined;

  private constructor(pool: pg.Pool, location: string) {
    this.#pool = pool;
    this.location = location;
  }

  /** Create the pool and check the server answers (fails fast with DB_UNAVAILABLE). */
  static async connect(opts: PostgresDbOptions): Promise<PostgresDb> {
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.max ?? 10,
      application_name: opts.applicationName ?? 'meridian',
      connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5000,
      types: typeOverrides,
    });
    // an idle client losing its server must not crash the process; the next query reports DB_UNAVAILABLE
    pool.on('error', () => undefined);
    const db = new PostgresDb(pool, redactDbUrl(opts.url));
    try {
      await db.query('SELECT 1');
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
    return db;
  }

  async query<T extends object = Record<string, unknown>>(sql: string | NamedStatement, params: readonly SqlValue[] = []): Promise<QueryResult<T>> {
    const tx = this.#als.getStore();
    if (tx !== undefined) return tx.query<T>(sql, params); // a finished transaction refuses: never silently outside it
    try {
      // the row type is the caller's claim about its SELECT list (see Db.query)
      return toResult(await this.#pool.query<Row>(pgQuery(sql, params))) as QueryResult<T>;
    } catch (e) {
      throw mapDbError(e, this);
    }
  }

  async exec(sql: string): Promise<void> {
    const tx = this.#als.getStore();
    if (tx !== undefined) return tx.exec(sql);
    try {
      await this.#pool.query(sql);
    } catch (e) {
      throw mapDbError(e, this);
    }
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    const outer = this.#als.getStore();
    // called from inside a transaction on the outer handle: join it (a savepoint), as PGlite does
    if (outer !== undefined) return outer.transaction(fn);
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw mapDbError(e, this);
    }
    const conn: TxConnection = {
      query: async (sql, params) => toResult(await client.query<Row>(pgQuery(sql, params))),
      exec: async (sql) => {
        await client.query(sql);
      },
    };
    const handle = new TransactionHandle(this.kind, this.location, conn, this.#als);
    let broken: unknown;
    try {
      await handle.exec('BEGIN');
      const result = await this.#als.run(handle, () => fn(handle));
      await handle.exec('COMMIT');
      return result;
    } catch (e) {
      try {
        await handle.exec('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError; // the connection is unusable: destroy it rather than return it to the pool
      }
      throw e;
    } finally {
      handle.finish();
      client.release(broken !== undefined);
    }
  }

  async maintenance(statements: readonly string[]): Promise<void> {
    const tx = this.#als.getStore();
    if (tx !== undefined) return tx.maintenance(statements);
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw mapDbError(e, this);
    }
    try {
      for (const sql of statements) await client.query(sql);
    } catch (e) {
      throw mapDbError(e, this);
    } finally {
      // destroyed, not returned: its session settings must not reach the pool's next user
      client.release(true);
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#pool.end();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
