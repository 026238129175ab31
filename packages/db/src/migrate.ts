import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '@meridian/core';
import type { Db } from './db.ts';

/** packages/db/migrations, found relative to this module (works from source and from a copy of the package). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/**
 * Arbitrary constant key for pg_advisory_xact_lock: serialises migrators across processes.
 * ("meri" in ASCII.)
 */
export const MIGRATION_LOCK_KEY = 0x6d657269;

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** SHA-256 (hex) of the file with line endings normalised to \n */
  readonly checksum: string;
  readonly sql: string;
}

export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly appliedAt: number;
  readonly durationMs: number;
}

export interface MigrationStatus {
  /** applied migrations, oldest first; `changed` when the file's checksum no longer matches */
  readonly applied: readonly (AppliedMigration & { readonly changed: boolean })[];
  readonly pending: readonly Pick<Migration, 'version' | 'name'>[];
  /** applied by a newer version of Meridian: in the database but not on disk */
  readonly unknown: readonly AppliedMigration[];
}

export interface MigrateOptions {
  /** defaults to the files in MIGRATIONS_DIR */
  readonly migrations?: readonly Migration[];
  /** epoch-ms clock for applied_at (default Date.now) */
  readonly now?: () => number;
  /** called after each migration commits (progress output) */
  readonly onApplied?: (m: { readonly version: number; readonly name: string; readonly durationMs: number }) => void;
}

export interface MigrateResult {
  readonly applied: readonly { readonly version: number; readonly name: string; readonly durationMs: number }[];
  /** migrations that were already applied before this run */
  readonly alreadyApplied: number;
}

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

export const migrationLabel = (m: { version: number; name: string }): string => `${String(m.version).padStart(4, '0')}_${m.name}`;

/** Read `NNNN_name.sql` files, sorted by version. Any other .sql file name is an error. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch (e) {
    throw new AppError('INTERNAL', `cannot read the migrations directory ${dir}: ${(e as Error).message}`, {
      hint: 'the @meridian/db package is incomplete; reinstall it',
      cause: e,
    });
  }
  const out: Migration[] = [];
  for (const file of files.filter((f) => f.endsWith('.sql')).sort()) {
    const m = FILE_RE.exec(file);
    if (!m?.[1] || !m[2]) {
      throw new AppError('INTERNAL', `migration file ${file} is not named NNNN_snake_case_name.sql`, { hint: `rename it in ${dir}` });
    }
    const version = Number(m[1]);
    const previous = out.at(-1);
    if (previous?.version === version) {
      throw new AppError('INTERNAL', `two migrations share version ${m[1]}: ${migrationLabel(previous)}.sql and ${file}`, {
        hint: 'give the newer one the next free number',
      });
    }
    const sql = fs.readFileSync(path.join(dir, file), 'utf8');
    out.push({ version, name: m[2], checksum: checksumOf(sql), sql });
  }
  return out;
}

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version     integer PRIMARY KEY,
  name        text NOT NULL,
  checksum    text NOT NULL,
  applied_at  bigint NOT NULL,
  duration_ms integer NOT NULL
)`;

interface Row {
  version: number;
  name: string;
  checksum: string;
  applied_at: number;
  duration_ms: number;
}

async function readApplied(db: Db): Promise<AppliedMigration[]> {
  const r = await db.query<Row>('SELECT version, name, checksum, applied_at, duration_ms FROM schema_migrations ORDER BY version');
  return r.rows.map((x) => ({ version: x.version, name: x.name, checksum: x.checksum, appliedAt: x.applied_at, durationMs: x.duration_ms }));
}

/** Throws when history and files disagree: a changed file, an unknown version, or a pending one below the newest applied. */
function verify(applied: readonly AppliedMigration[], migrations: readonly Migration[]): Migration[] {
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  for (const a of applied) {
    const file = byVersion.get(a.version);
    if (!file) {
      throw new AppError('CONFLICT', `the database has migration ${migrationLabel(a)}, which this version of Meridian does not know`, {
        hint: 'the database was migrated by a newer Meridian: upgrade this installation',
      });
    }
    if (file.checksum !== a.checksum) {
      throw new AppError('DATA_INTEGRITY', `migration ${migrationLabel(a)} was changed after it was applied (checksum differs)`, {
        hint: 'restore the original file and put the change in a new migration',
        details: { version: a.version, applied: a.checksum, file: file.checksum },
      });
    }
  }
  const done = new Set(applied.map((a) => a.version));
  const newest = applied.at(-1)?.version ?? 0;
  const pending = migrations.filter((m) => !done.has(m.version));
  const stray = pending.find((m) => m.version < newest);
  if (stray) {
    throw new AppError('DATA_INTEGRITY', `migration ${migrationLabel(stray)} is pending but a later one (${String(newest).padStart(4, '0')}) is already applied`, {
      hint: 'renumber it above the newest applied migration',
    });
  }
  return pending;
}

function wrapFailure(m: Migration, e: unknown): unknown {
  if (e instanceof AppError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/extension "vector"/.test(msg) || /vector\.control/.test(msg)) {
    return new AppError('DB_UNAVAILABLE', `migration ${migrationLabel(m)} failed: the pgvector extension is not installed (${msg})`, {
      hint: 'install pgvector into the server (infra/ensure-services.sh on Debian, or the pgvector/pgvector Docker image)',
      cause: e,
    });
  }
  return new AppError('INTERNAL', `migration ${migrationLabel(m)} failed: ${msg}`, {
    hint: 'nothing of this migration was applied (it ran in a transaction); fix the cause and run `meridian db migrate` again',
    cause: e,
  });
}

/**
 * Apply every pending migration, each in its own transaction together with its
 * schema_migrations row. Every step takes a transaction-scoped advisory lock first, so
 * concurrent migrators (several processes starting at once) apply each migration once;
 * the others find it recorded and move on. Safe to run any number of times.
 */
export async function migrate(db: Db, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = opts.migrations ?? loadMigrations();
  const now = opts.now ?? Date.now;
  const lock = (tx: Db) => tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);

  const before = await db.transaction(async (tx) => {
    await lock(tx);
    await tx.exec(CREATE_TABLE);
    return readApplied(tx);
  });
  const pending = verify(before, migrations);

  const applied: { version: number; name: string; durationMs: number }[] = [];
  for (const m of pending) {
    const durationMs = await db.transaction(async (tx) => {
      await lock(tx);
      const current = await readApplied(tx);
      verify(current, migrations);
      if (current.some((a) => a.version === m.version)) return undefined; // another process got here first
      const t0 = performance.now();
      try {
        await tx.exec(m.sql);
      } catch (e) {
        throw wrapFailure(m, e);
      }
      const ms = Math.round(performance.now() - t0);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms) VALUES ($1, $2, $3, $4, $5)', [
        m.version,
        m.name,
        m.checksum,
        now(),
        ms,
      ]);
      return ms;
    });
    if (durationMs !== undefined) {
      const done = { version: m.version, name: m.name, durationMs };
      applied.push(done);
      opts.onApplied?.(done);
    }
  }
  return { applied, alreadyApplied: before.length };
}

/** Applied, pending and unknown migrations. Read-only: creates nothing. */
export async function migrationStatus(db: Db, opts: { readonly migrations?: readonly Migration[] } = {}): Promise<MigrationStatus> {
  const migrations = opts.migrations ?? loadMigrations();
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  const applied = exists.rows[0]?.t ? await readApplied(db) : [];
  const files = new Map(migrations.map((m) => [m.version, m]));
  const done = new Set(applied.map((a) => a.version));
  return {
    applied: applied.filter((a) => files.has(a.version)).map((a) => ({ ...a, changed: files.get(a.version)?.checksum !== a.checksum })),
    pending: migrations.filter((m) => !done.has(m.version)).map((m) => ({ version: m.version, name: m.name })),
    unknown: applied.filter((a) => !files.has(a.version)),
  };
}
