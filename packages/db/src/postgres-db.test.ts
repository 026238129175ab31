import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { AppError } from '@meridian/core';
import { openDb } from './open-db.ts';
import { redactDbUrl } from './redact-url.ts';

/** a local port with nothing listening: bind one, note it, close it */
async function deadPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return addr.port;
}

describe('PostgresDb without a server', () => {
  it('an unreachable server is DB_UNAVAILABLE, naming the redacted URL and what to do', async () => {
    const port = await deadPort();
    const e = await openDb({ kind: 'postgres', url: `postgres://meridian:hunter2-secret@127.0.0.1:${port}/meridian` }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    const a = e as AppError;
    expect(a.code).toBe('DB_UNAVAILABLE');
    expect(a.exitCode).toBe(69);
    expect(a.message).toContain(`127.0.0.1:${port}`);
    expect(a.message).not.toContain('hunter2-secret');
    expect(a.hint).toMatch(/start PostgreSQL|DATABASE_URL/);
  });

  it('redactDbUrl drops password and query string', () => {
    expect(redactDbUrl('postgres://u:p%40ss@db.example:5433/x?sslmode=require&password=zz')).toBe('postgres://u@db.example:5433/x');
    expect(redactDbUrl('not a url')).toBe('postgres://(unparseable url)');
  });
});
