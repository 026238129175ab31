import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '@meridian/core';
import { freshPgDatabase, probePostgres } from '@meridian/test/support';
import { namedStatement, type Db } from './db.ts';
import { runDbSpec, schemaSnapshot } from './db-spec.ts';
import { loadMigrations, migrate, type MigrateResult } from './migrate.ts';
import { openDb } from './open-db.ts';

const pgsvc = await probePostgres();
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const childScript = fileURLToPath(new URL('./test/migrate-child.ts', import.meta.url));

type FreshDb = Awaited<ReturnType<typeof freshPgDatabase>>;
const created: FreshDb[] = [];
async function freshDb(label: string): Promise<FreshDb> {
  const f = await freshPgDatabase(label);
  created.push(f);
  return f;
}
afterAll(async () => {
  for (const f of created.splice(0)) await f[Symbol.asyncDispose]();
});

runDbSpec(`Db on server PostgreSQL${pgsvc.skipNote}`, async () => openDb({ kind: 'postgres', url: (await freshDb('db_spec')).url }), {
  skip: !pgsvc.ok,
});

interface Child {
  ready: Promise<void>;
  go(): void;
  done: Promise<{ code: number | null; out: string; err: string }>;
}

function migrator(url: string): Child {
  const child = spawn(process.execPath, ['--conditions=@meridian/source', '--import', 'tsx', childScript, url], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (err += d));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      out += d;
      if (out.startsWith('ready\n')) resolve();
    });
    child.on('close', (code) => reject(new Error(`migrator exited (${code}) before it was ready: ${err}`)));
  });
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on('close', (code) => resolve({ code, out, err })));
  return { ready, go: () => child.stdin.end('go\n'), done };
}

async function recorded(db: Db): Promise<{ version: number; n: number }[]> {
  return (await db.query<{ version: number; n: number }>('SELECT version, count(*) AS n FROM schema_migrations GROUP BY version ORDER BY version')).rows;
}

describe.skipIf(!pgsvc.ok)(`PostgresDb only${pgsvc.skipNote}`, () => {
  const versions = loadMigrations().map((m) => m.version);

  it('a named statement is parsed once on its connection (pg_prepared_statements) and reused', async () => {
    const db = await openDb({ kind: 'postgres', url: (await freshDb('named_statement')).url });
    try {
      const s = namedStatement('SELECT $1::int * 2 AS n');
      await db.transaction(async (tx) => {
        for (const x of [1, 2, 3]) expect((await tx.query<{ n: number }>(s, [x])).rows[0]?.n).toBe(2 * x);
        const prepared = await tx.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements');
        expect(prepared.rows).toEqual([{ name: s.name, statement: s.text }]);
      });
    } finally {
      await db.close();
    }
  });

  it('migration 0009: decision traces are stored LZ4-compressed (on a server with LZ4)', async () => {
    const db = await openDb({ kind: 'postgres', url: (await freshDb('trace_lz4')).url });
    try {
      await migrate(db);
      const c = await db.query<{ c: string }>(`SELECT attcompression::text AS c FROM pg_attribute WHERE attrelid = 'decision_traces'::regclass AND attname = 'trace'`);
      const lz4 = (await db.query<{ ok: boolean }>(`SELECT 'lz4' = ANY (enumvals) AS ok FROM pg_settings WHERE name = 'default_toast_compression'`)).rows[0]?.ok === true;
      // a server built without LZ4 keeps pglz (the attribute's default, '')
      expect(c.rows).toEqual([{ c: lz4 ? 'l' : '' }]);
    } finally {
      await db.close();
    }
  });

  it('two processes migrating one fresh database at once: each migration applied and recorded once', async () => {
    const { url } = await freshDb('migrate_race');
    const a = migrator(url);
    const b = migrator(url);
    await Promise.all([a.ready, b.ready]);
    a.go();
    b.go();
    const results = await Promise.all([a.done, b.done]);
    for (const r of results) expect(r.code, r.err).toBe(0);
    const outcomes = results.map((r) => JSON.parse(r.out.slice('ready\n'.length)) as MigrateResult);
    // between them, every migration was applied exactly once
    expect(outcomes.flatMap((o) => o.applied.map((x) => x.version)).sort((x, y) => x - y)).toEqual(versions);

    await using db = await openDb({ kind: 'postgres', url });
    expect(await recorded(db)).toEqual(versions.map((version) => ({ version, n: 1 })));
    // the same schema as one migrator alone produces
    await using reference = await openDb({ kind: 'postgres', url: (await freshDb('migrate_reference')).url });
    await migrate(reference);
    expect(await schemaSnapshot(db)).toEqual(await schemaSnapshot(reference));
    expect((await migrate(db)).applied).toEqual([]);
  });

  it('two pools in one process racing migrate: the same', async () => {
    const { url } = await freshDb('migrate_race_pools');
    await using a = await openDb({ kind: 'postgres', url });
    await using b = await openDb({ kind: 'postgres', url });
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    expect([...ra.applied, ...rb.applied].map((x) => x.version).sort((x, y) => x - y)).toEqual(versions);
    expect(await recorded(a)).toEqual(versions.map((version) => ({ version, n: 1 })));
  });

  it('a closed pool, a missing database and an unreachable server are DB_UNAVAILABLE with a hint', async () => {
    const { url } = await freshDb('closed');
    const db = await openDb({ kind: 'postgres', url });
    await db.close();
    await db.close(); // idempotent
    const closed = await db.query('SELECT 1').catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(AppError);
    expect(closed).toMatchObject({ code: 'DB_UNAVAILABLE' });

    const missing = new URL(url);
    missing.pathname = '/meridian_no_such_database';
    const e = await openDb({ kind: 'postgres', url: missing.toString() }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect(e).toMatchObject({ code: 'DB_UNAVAILABLE' });
    expect((e as AppError).hint).toMatch(/createdb/);
  });

  it('location never shows the password', async () => {
    const { url } = await freshDb('location');
    const u = new URL(url);
    // a URL without a password means trust/peer auth, where a supplied password is ignored
    if (!u.password) u.password = 's3cret-pw';
    await using db = await openDb({ kind: 'postgres', url: u.toString() });
    expect(db.kind).toBe('postgres');
    expect(db.location).not.toContain(u.password);
    expect(db.location).toBe(`postgres://${u.username}@${u.host}${u.pathname}`);
  });
});
