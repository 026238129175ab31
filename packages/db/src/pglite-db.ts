import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { AppError } from '@meridian/core';
import { sqlText, type Db, type NamedStatement, type QueryResult, type SqlValue } from './db.ts';
import { mapDbError } from './db-errors.ts';
import { TransactionHandle, type TxConnection } from './transaction-handle.ts';
import { INT8_OID, parseInt8 } from './type-parsers.ts';

export interface PgliteDbOptions {
  /** a directory for the database files, or 'memory' for a throw-away in-memory database */
  readonly dataDir: string;
}

interface PgliteResults {
  rows: unknown[];
  rowCount?: number;
  affectedRows?: number;
}

function toResult(r: PgliteResults): QueryResult<Record<string, unknown>> {
  // PGlite returns rows as objects keyed by column name (rowMode 'object', the default)
  const rows = r.rows as Record<string, unknown>[];
  return { rows, rowCount: r.rowCount ?? r.affectedRows ?? rows.length };
}

/**
 * Embedded Postgres (PGlite, WASM) with the pgvector extension, in one process.
 * A data directory may be opened by one process at a time: a `<dataDir>.lock` file with
 * the owner's pid guards it (two PGlite instances on one directory corrupt it).
 */
export class PgliteDb implements Db {
  readonly kind = 'pglite' as const;
  readonly location: string;
  #pg: PGlite;
  #als = new AsyncLocalStorage<TransactionHandle>();
  #releaseLock: () => void;
  #closing: Promise<void> | undefined;

  private constructor(pg: PGlite, location: string, releaseLock: () => void) {
    this.#pg = pg;
    this.location = location;
    this.#releaseLock = releaseLock;
  }

  static async open(opts: PgliteDbOptions): Promise<PgliteDb> {
    const inMemory = opts.dataDir === 'memory' || opts.dataDir === 'memory://';
    const location = inMemory ? 'memory' : path.resolve(opts.dataDir);
    let release = (): void => undefined;
    if (!inMemory) {
      try {
        fs.mkdirSync(location, { recursive: true });
      } catch (e) {
        throw new AppError('DB_UNAVAILABLE', `cannot create the embedded database directory ${location}: ${(e as Error).message}`, {
          hint: 'check that MERIDIAN_HOME points to a writable directory',
          cause: e,
        });
      }
      release = acquireDirLock(location);
    }
    try {
      const pg = await PGlite.create({
        ...(inMemory ? {} : { dataDir: location }),
        extensions: { vector },
        parsers: { [INT8_OID]: parseInt8 },
      });
      return new PgliteDb(pg, location, release);
    } catch (e) {
      release();
      throw new AppError('DB_UNAVAILABLE', `cannot open the embedded database at ${location}: ${(e as Error).message}`, {
        hint: 'check that the directory is readable and writable and not damaged; move it aside to start with an empty database',
        cause: e,
      });
    }
  }

  async query<T extends object = Record<string, unknown>>(sql: string | NamedStatement, params: readonly SqlValue[] = []): Promise<QueryResult<T>> {
    const tx = this.#als.getStore();
    if (tx !== undefined) return tx.query<T>(sql, params); // a finished transaction refuses: never silently outside it
    try {
      // the row type is the caller's claim about its SELECT list (see Db.query)
      return toResult(await this.#pg.query(sqlText(sql), [...params])) as QueryResult<T>;
    } catch (e) {
      throw mapDbError(e, this);
    }
  }

  async exec(sql: string): Promise<void> {
    const tx = this.#als.getStore();
    if (tx !== undefined) return tx.exec(sql);
    try {
      await this.#pg.exec(sql);
    } catch (e) {
      throw mapDbError(e, this);
    }
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    const outer = this.#als.getStore();
    // joining the open transaction: PGlite has one connection, a second BEGIN would wait forever
    if (outer !== undefined) return outer.transaction(fn);
    try {
      return await this.#pg.transaction(async (t: Transaction) => {
        const conn: TxConnection = {
          query: async (sql, params) => toResult(await t.query(sqlText(sql), [...params])),
          exec: async (sql) => {
            await t.exec(sql);
          },
        };
        const handle = new TransactionHandle(this.kind, this.location, conn, this.#als);
        try {
          return await this.#als.run(handle, () => fn(handle));
        } finally {
          handle.finish(); // PGlite sends COMMIT or ROLLBACK after this
        }
      });
    } catch (e) {
      throw mapDbError(e, this);
    }
  }

  async maintenance(statements: readonly string[]): Promise<void> {
    const tx = this.#als.getStore();
    if (tx !== undefined) return tx.maintenance(statements);
    try {
      for (const sql of statements) await this.#pg.exec(sql);
    } catch (e) {
      throw mapDbError(e, this);
    } finally {
      await this.#pg.exec('RESET ALL').catch(() => undefined);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        if (!this.#pg.closed) await this.#pg.close();
      } finally {
        this.#releaseLock();
      }
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take `<dir>.lock` (O_EXCL); a lock left by a dead process is taken over. */
function acquireDirLock(dir: string): () => void {
  const lockPath = `${dir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        fs.rmSync(lockPath, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new AppError('DB_UNAVAILABLE', `cannot lock the embedded database ${dir}: ${(e as Error).message}`, {
          hint: 'check that its parent directory is writable',
          cause: e,
        });
      }
      const owner = Number.parseInt(fs.readFileSync(lockPath, 'utf8'), 10);
      if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) {
        throw new AppError('DB_UNAVAILABLE', `the embedded database ${dir} is in use by process ${owner}`, {
          hint: `stop that process first (an embedded database belongs to one process; set DATABASE_URL to share a PostgreSQL server), or delete ${lockPath} if no such meridian process is running`,
        });
      }
      fs.rmSync(lockPath, { force: true }); // stale: its owner is gone
    }
  }
  throw new AppError('DB_UNAVAILABLE', `cannot lock the embedded database ${dir}: another process keeps taking the lock`, {
    hint: 'stop the other meridian processes using this MERIDIAN_HOME and retry',
  });
}
