import type { Db, DbConfig } from './db.ts';

export interface OpenDbOptions {
  /** server pool size */
  readonly max?: number;
  /** server: shown in pg_stat_activity */
  readonly applicationName?: string;
}

/**
 * Open the database the config names: PGlite for `{kind:'pglite'}` (embedded mode),
 * a node-postgres Pool for `{kind:'postgres'}`. Drivers load lazily, so a process that uses
 * one never loads the other (PGlite's WASM is large).
 * Throws AppError('DB_UNAVAILABLE') when the database cannot be reached or opened.
 */
export async function openDb(config: DbConfig, options: OpenDbOptions = {}): Promise<Db> {
  switch (config.kind) {
    case 'pglite': {
      const { PgliteDb } = await import('./pglite-db.ts');
      return PgliteDb.open({ dataDir: config.dataDir });
    }
    case 'postgres': {
      const { PostgresDb } = await import('./postgres-db.ts');
      return PostgresDb.connect({ url: config.url, ...options });
    }
  }
}
