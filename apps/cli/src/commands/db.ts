import type { Command } from 'commander';
import type { Db } from '@meridian/db';

/**
 * `meridian db …`: schema migrations of the configured database (embedded PGlite in
 * MERIDIAN_HOME, or the PostgreSQL server in DATABASE_URL).
 */
export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('the database: apply migrations, show their status');

  db.command('migrate')
    .description('apply pending migrations (safe to run again, and from several processes at once)')
    .action(async () => {
      await withDb(async (handle) => {
        const { migrate, migrationLabel } = await import('@meridian/db');
        print(`database: ${describeDb(handle)}`);
        const r = await migrate(handle, { onApplied: (m) => print(`applied ${migrationLabel(m)} (${m.durationMs} ms)`) });
        const total = r.alreadyApplied + r.applied.length;
        print(
          r.applied.length === 0
            ? `up to date: ${total} migration${total === 1 ? '' : 's'} applied, nothing to do`
            : `done: ${r.applied.length} applied now, ${total} in total`,
        );
      });
    });

  db.command('status')
    .description('list applied and pending migrations, the database kind and location')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      await withDb(async (handle) => {
        const { migrationStatus, migrationLabel } = await import('@meridian/db');
        const s = await migrationStatus(handle);
        if (o.json) {
          print(JSON.stringify({ kind: handle.kind, location: handle.location, ...s }));
          return;
        }
        print(`database: ${describeDb(handle)}`);
        print(`applied (${s.applied.length}):`);
        for (const a of s.applied) {
          print(`  ${migrationLabel(a)}  ${new Date(a.appliedAt).toISOString()}  ${a.durationMs} ms${a.changed ? '  CHANGED SINCE APPLIED — restore the file' : ''}`);
        }
        if (s.applied.length === 0) print('  (none)');
        print(`pending (${s.pending.length}):`);
        for (const p of s.pending) print(`  ${migrationLabel(p)}`);
        if (s.pending.length === 0) print('  (none)');
        if (s.unknown.length > 0) {
          print(`unknown to this version of meridian (${s.unknown.length}) — the database was migrated by a newer release:`);
          for (const u of s.unknown) print(`  ${migrationLabel(u)}`);
        }
        if (s.pending.length > 0) print('run `meridian db migrate` to apply the pending migrations');
      });
    });
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function describeDb(db: Db): string {
  return db.kind === 'pglite' ? `embedded PGlite at ${db.location}` : `PostgreSQL at ${db.location}`;
}

/** Open the configured database (without migrating), run fn, close. */
async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('@meridian/config');
  const { openDb } = await import('@meridian/db');
  const db = await openDb(loadConfig().db, { applicationName: 'meridian db' });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
