import { createHash } from 'node:crypto';

/**
 * One database interface over two engines: PGlite (embedded, in-process WASM Postgres)
 * and a PostgreSQL server (node-postgres Pool). Repositories take a `Db` and never
 * know which engine they run on.
 */

export type DbKind = 'pglite' | 'postgres';

/**
 * A bind parameter. JSON is never passed as an object (the two drivers serialise objects
 * and arrays differently): stringify it and cast in SQL (`$1::jsonb`), see `jsonParam`.
 * Arrays are bound as Postgres arrays (`$1::text[]`), used by bulk inserts via `unnest`.
 */
export type SqlValue = string | number | boolean | null | readonly (string | number | boolean | null)[];

/**
 * A statement the server keeps parsed, and planned once its plan settles, on each connection that
 * has run it (node-postgres named statements): for the few statements run on every event. After
 * five runs Postgres may switch to a generic plan — one made without the parameter values — so a
 * named statement must not depend on a value to choose its index (a partial index whose predicate
 * names a symbol or an exchange would no longer be proven to apply); keep such values literal in
 * the text, or the statement unnamed. PGlite runs the text.
 */
export interface NamedStatement {
  readonly name: string;
  readonly text: string;
}

const named = new Map<string, NamedStatement>();
/**
 * The most texts named per process. Each named text is prepared on every connection that runs it, so a
 * caller that builds texts without bound (values in the text) would fill the server's memory: past this
 * many, further texts run unnamed (`name` ''), as plain queries.
 */
export const NAMED_STATEMENT_LIMIT = 1_000;

/** Name a statement by its text (a hash: the same text gets the same name in every process and connection). */
export function namedStatement(text: string): NamedStatement {
  let s = named.get(text);
  if (s === undefined) {
    if (named.size >= NAMED_STATEMENT_LIMIT) return { name: '', text };
    s = { name: `meridian_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`, text };
    named.set(text, s);
  }
  return s;
}

/** the SQL text of a statement, named or not */
export const sqlText = (sql: string | NamedStatement): string => (typeof sql === 'string' ? sql : sql.text);

export interface QueryResult<T> {
  readonly rows: T[];
  /** rows returned, or rows affected by INSERT/UPDATE/DELETE without RETURNING */
  readonly rowCount: number;
}

export interface Db {
  readonly kind: DbKind;
  /** where the data lives, safe to print (no password): a directory, "memory", or a URL */
  readonly location: string;

  /**
   * One statement with `$1…$n` parameters. The row type is the caller's claim about the
   * SELECT list; map rows to domain types in the repository.
   * Type mapping is the same on both engines: bigint → number (throws past 2^53),
   * double precision → number, jsonb → parsed value, uuid/text/vector → string.
   */
  query<T extends object = Record<string, unknown>>(sql: string | NamedStatement, params?: readonly SqlValue[]): Promise<QueryResult<T>>;

  /** A script of several statements, no parameters (migrations, DDL). */
  exec(sql: string): Promise<void>;

  /**
   * Run `fn` in a transaction: COMMIT when it resolves, ROLLBACK when it throws.
   * Nesting never breaks: `tx.transaction(...)` — and `db.transaction(...)`/`db.query(...)`
   * called from inside `fn` on the outer handle — join the open transaction, a nested
   * transaction becoming a SAVEPOINT that is rolled back alone when its `fn` throws.
   * Queries inside one transaction run one at a time, in call order.
   */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;

  /**
   * Maintenance statements, run one after another on one connection, each on its own (autocommit, no
   * transaction block): session settings made by an earlier one (`SET maintenance_work_mem …`) apply to
   * the later ones, and statements that may not run inside a transaction (`CREATE INDEX CONCURRENTLY`)
   * can. On a server the connection is closed afterwards, so no setting outlives the call; PGlite's one
   * connection gets `RESET ALL`. Not allowed inside a transaction (its handle rejects). The first failing
   * statement stops the run and its error is thrown.
   */
  maintenance(statements: readonly string[]): Promise<void>;

  /** Close the pool / embedded engine. Idempotent. A transaction handle cannot be closed. */
  close(): Promise<void>;

  [Symbol.asyncDispose](): Promise<void>;
}

/** The `db` part of `@meridian/config`'s Config; `dataDir: 'memory'` keeps PGlite in memory (tests). */
export type DbConfig = { readonly kind: 'pglite'; readonly dataDir: string } | { readonly kind: 'postgres'; readonly url: string };

/** Bind a JSON value for a `$n::jsonb` parameter. */
export function jsonParam(value: unknown): string {
  const s = JSON.stringify(value);
  if (s === undefined) throw new TypeError('jsonParam: value has no JSON form');
  return s;
}
