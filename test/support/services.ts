import pg from 'pg';
import { Redis } from 'ioredis';
import { loadConfig } from '@meridian/config';

/**
 * Service probes for *.int.test.ts files. Without MERIDIAN_REQUIRE_SERVICES a missing
 * service makes the suite skip with a one-line reason; with it, the probe throws and the
 * test file fails.
 *
 *   const pgsvc = await probePostgres();
 *   describe.skipIf(!pgsvc.ok)(`db on server Postgres${pgsvc.skipNote}`, () => { ... })
 */
export interface ServiceProbe {
  readonly ok: boolean;
  readonly url: string;
  /** '' when available, else " (skipped: <reason>)" for the suite title */
  readonly skipNote: string;
}

function unavailable(name: string, url: string, reason: string): ServiceProbe {
  const cfg = loadConfig();
  const line = `${name} not reachable at ${redactUrl(url)}: ${reason}`;
  if (cfg.test.requireServices) {
    throw new Error(`${line} — MERIDIAN_REQUIRE_SERVICES=1, so this test fails instead of skipping (run infra/ensure-services.sh)`);
  }
  console.warn(`[skip] ${line} (set MERIDIAN_REQUIRE_SERVICES=1 to fail instead)`);
  return { ok: false, url, skipNote: ` (skipped: ${line})` };
}

function redactUrl(u: string): string {
  try {
    const x = new URL(u);
    if (x.password) x.password = '***';
    return x.toString();
  } catch {
    return u;
  }
}

/**
 * The probed Redis URL on logical database `db`, so a test's queues and keys stay apart from the other
 * files' (the probe's URL when Redis was skipped is still well-formed: the suite does not run).
 */
export function redisDbUrl(probe: ServiceProbe, db: number): string {
  const u = new URL(probe.url || 'redis://127.0.0.1:6379');
  u.pathname = `/${db}`;
  return u.toString();
}

export async function probePostgres(): Promise<ServiceProbe> {
  const url = loadConfig().test.databaseUrl;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return { ok: true, url, skipNote: '' };
  } catch (e) {
    return unavailable('PostgreSQL', url, (e as Error).message);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function probeRedis(): Promise<ServiceProbe> {
  const url = loadConfig().test.redisUrl;
  const r = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return { ok: true, url, skipNote: '' };
  } catch (e) {
    return unavailable('Redis', url, (e as Error).message);
  } finally {
    r.disconnect();
  }
}

/**
 * A fresh database on the test server for one test file, dropped on dispose.
 * `await using db = await freshPgDatabase('db-spec')`.
 */
export async function freshPgDatabase(label: string): Promise<{ url: string; name: string; [Symbol.asyncDispose](): Promise<void> }> {
  const base = loadConfig().test.databaseUrl;
  const name = `mt_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    async [Symbol.asyncDispose]() {
      const a = new pg.Client({ connectionString: base });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
