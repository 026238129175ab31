import type { AsyncLocalStorage } from 'node:async_hooks';
import { AppError } from '@meridian/core';
import type { Db, DbKind, NamedStatement, QueryResult, SqlValue } from './db.ts';
import { mapDbError } from './db-errors.ts';

/** One pinned connection inside BEGIN … COMMIT (a pg PoolClient or a PGlite Transaction). */
export interface TxConnection {
  query(sql: string | NamedStatement, params: readonly SqlValue[]): Promise<QueryResult<Record<string, unknown>>>;
  exec(sql: string): Promise<void>;
}

/**
 * The `Db` handed to a transaction callback. Queries are chained so they reach the one
 * connection in call order (PGlite's transaction object and a pg client must not see
 * interleaved savepoints); nested transactions become savepoints.
 */
export class TransactionHandle implements Db {
  readonly kind: DbKind;
  readonly location: string;
  #conn: TxConnection;
  #als: AsyncLocalStorage<TransactionHandle>;
  #tail: Promise<unknown> = Promise.resolve();
  #open = true;
  #savepoints = 0;

  constructor(kind: DbKind, location: string, conn: TxConnection, als: AsyncLocalStorage<TransactionHandle>) {
    this.kind = kind;
    this.location = location;
    this.#conn = conn;
    this.#als = als;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** called by the owning Db once COMMIT/ROLLBACK has been sent */
  finish(): void {
    this.#open = false;
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    if (!this.#open) {
      return Promise.reject(
        new AppError('INTERNAL', 'query on a finished transaction', {
          hint: 'a transaction handle was used after its callback returned; await every query inside the callback',
        }),
      );
    }
    const run = this.#tail.then(op, op);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  query<T extends object = Record<string, unknown>>(sql: string | NamedStatement, params: readonly SqlValue[] = []): Promise<QueryResult<T>> {
    return this.#serial(async () => {
      try {
        // the row type is the caller's claim about its SELECT list (see Db.query)
        return (await this.#conn.query(sql, params)) as QueryResult<T>;
      } catch (e) {
        throw mapDbError(e, this);
      }
    });
  }

  exec(sql: string): Promise<void> {
    return this.#serial(async () => {
      try {
        await this.#conn.exec(sql);
      } catch (e) {
        throw mapDbError(e, this);
      }
    });
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    const sp = `meridian_sp_${++this.#savepoints}`;
    await this.exec(`SAVEPOINT ${sp}`);
    let result: T;
    try {
      result = await this.#als.run(this, () => fn(this));
    } catch (e) {
      if (this.#open) {
        await this.exec(`ROLLBACK TO SAVEPOINT ${sp}; RELEASE SAVEPOINT ${sp}`);
      }
      throw e;
    }
    await this.exec(`RELEASE SAVEPOINT ${sp}`);
    return result;
  }

  maintenance(_statements?: readonly string[]): Promise<void> {
    return Promise.reject(
      new AppError('INTERNAL', 'maintenance statements cannot run inside a transaction', {
        hint: 'call maintenance() on the Db itself, outside transaction()',
      }),
    );
  }

  close(): Promise<void> {
    return Promise.reject(new AppError('INTERNAL', 'cannot close a transaction handle; close the Db that opened it'));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
