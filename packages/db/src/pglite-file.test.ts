import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '@meridian/core';
import { migrate, migrationStatus } from './migrate.ts';
import { openDb } from './open-db.ts';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-pglite-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe('PgliteDb on a data directory', () => {
  it('persists across reopen, owns its directory through a lock file, and is DB_UNAVAILABLE once closed', async () => {
    const dataDir = path.join(home, 'nested', 'pgdata'); // parents are created
    const first = await openDb({ kind: 'pglite', dataDir });
    expect(first.kind).toBe('pglite');
    expect(first.location).toBe(dataDir);
    await migrate(first);
    await first.query(`INSERT INTO users (id, name, role, created_at) VALUES ('0190a0b0-0000-7000-8000-000000000001', 'ada', 'admin', 1)`);

    // a second owner is refused before it touches the files
    const busy = await openDb({ kind: 'pglite', dataDir }).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(AppError);
    expect(busy).toMatchObject({ code: 'DB_UNAVAILABLE', message: expect.stringContaining(`in use by process ${process.pid}`) as string });

    await first.close();
    await first.close(); // idempotent
    expect(fs.existsSync(`${dataDir}.lock`)).toBe(false);
    const closed = await first.query('SELECT 1').catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(AppError);
    expect(closed).toMatchObject({ code: 'DB_UNAVAILABLE' });

    // a lock left by a process that died is taken over
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    fs.writeFileSync(`${dataDir}.lock`, String(dead));
    const again = await openDb({ kind: 'pglite', dataDir });
    try {
      expect(fs.readFileSync(`${dataDir}.lock`, 'utf8')).toBe(String(process.pid));
      expect((await migrationStatus(again)).pending).toEqual([]);
      expect((await again.query<{ name: string }>('SELECT name FROM users')).rows).toEqual([{ name: 'ada' }]);
      const near = await again.query<{ d: number }>(`SELECT '[1,2]'::vector <-> '[1,3]'::vector AS d`);
      expect(near.rows[0]?.d).toBe(1);
    } finally {
      await again.close();
    }
  }, 180_000);

  it('a data directory that cannot be created is DB_UNAVAILABLE with a hint', async () => {
    const file = path.join(home, 'a-file');
    fs.writeFileSync(file, 'x');
    const e = await openDb({ kind: 'pglite', dataDir: path.join(file, 'pgdata') }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect(e).toMatchObject({ code: 'DB_UNAVAILABLE', hint: expect.stringContaining('MERIDIAN_HOME') as string });
  });
});
