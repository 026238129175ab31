import { AppError } from '@meridian/core';
import type { DbKind } from './db.ts';

/** The SQLSTATE of a driver error (both pg and PGlite put it on `.code`), if any. */
export function pgErrorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  const code = e.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export const isUniqueViolation = (e: unknown): boolean => pgErrorCode(e) === '23505';

/** node/pg socket errors meaning "the server is not there" */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

const DEAD_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end on the pool',
  'PGlite is closed',
  'database is closed',
];

interface Ctx {
  readonly kind: DbKind;
  readonly location: string;
}

/**
 * Classify a driver error. A dead, unreachable or misconfigured database becomes
 * AppError('DB_UNAVAILABLE') with a hint saying what to do; anything else (constraint
 * violations, SQL errors) is returned unchanged so callers can inspect its SQLSTATE.
 */
export function mapDbError(e: unknown, ctx: Ctx): unknown {
  if (e instanceof AppError) return e;
  const sqlstate = pgErrorCode(e);
  const rawCode = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
  const message = e instanceof Error ? e.message : String(e);
  const where = ctx.kind === 'postgres' ? `PostgreSQL at ${ctx.location}` : `the embedded database (${ctx.location})`;
  const unavailable = (what: string, hint: string) =>
    new AppError('DB_UNAVAILABLE', `${where} ${what}: ${message || rawCode || 'unknown error'}`, { hint, cause: e });

  if (sqlstate === '3D000') return unavailable('has no such database', 'create it (e.g. `createdb <name>`) or fix the database name in DATABASE_URL');
  if (sqlstate === '28P01' || sqlstate === '28000')
    return unavailable('refused the login', 'check the user and password in DATABASE_URL');
  if (sqlstate === '53300') return unavailable('has no free connections', 'lower the pool size or raise max_connections, then retry');
  if (sqlstate !== undefined && (sqlstate.startsWith('08') || sqlstate.startsWith('57P')))
    return unavailable('is not available', 'check that the server is running, then retry');
  if ((rawCode !== undefined && NETWORK_CODES.has(rawCode)) || DEAD_MESSAGES.some((m) => message.includes(m))) {
    return ctx.kind === 'postgres'
      ? unavailable(
          'is not reachable',
          'start PostgreSQL (infra/ensure-services.sh), check host and port in DATABASE_URL, or unset DATABASE_URL to use the embedded database',
        )
      : unavailable('is closed', 'the process closed its database; restart the command');
  }
  return e;
}
