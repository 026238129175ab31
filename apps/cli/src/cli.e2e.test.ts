import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processEnv } from '@meridian/config';
import { REPO_ROOT, runMeridian, runProcess } from '@meridian/test/support';
import { loadMigrations, migrationLabel } from '@meridian/db';

/**
 * The `meridian` process itself: help, version, error policy, and `db migrate|status` on an
 * embedded (PGlite) database in a temporary MERIDIAN_HOME.
 */
let home: string;

function run(cmd: string, args: readonly string[]) {
  const env: NodeJS.ProcessEnv = { ...processEnv(), MERIDIAN_HOME: home, MERIDIAN_LOG_LEVEL: 'silent' };
  delete env['DATABASE_URL'];
  return runProcess(cmd, args, env);
}
const meridian = (args: readonly string[], env: Record<string, string | undefined> = {}) => runMeridian(home, args, env);

const lines = (s: string) => s.split('\n').filter((l) => l.length > 0);

async function deadPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return addr.port;
}

describe('meridian CLI', () => {
  beforeAll(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'meridian-cli-e2e-'));
  });
  afterAll(async () => {
    await fs.rm(home, { recursive: true, force: true });
  });

  it('--help lists the command groups and the global --verbose flag', async () => {
    const r = await meridian(['--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: meridian /);
    expect(r.stdout).toContain('--verbose');
    expect(r.stdout).toMatch(/^\s+db\s+/m);
    const db = await meridian(['db', '--help']);
    expect(db.stdout).toMatch(/^\s+migrate\s+/m);
    expect(db.stdout).toMatch(/^\s+status\s+/m);
  });

  it('--version prints the CLI package version', async () => {
    const pkg = JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'apps/cli/package.json'), 'utf8')) as { version: string };
    const r = await meridian(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('the documented `pnpm meridian …` form reaches meridian, flags included', async () => {
    const help = await run('pnpm', ['--silent', 'meridian', '--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: meridian /);
    const version = await run('pnpm', ['--silent', 'meridian', '--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('db migrate applies every migration once, then has nothing to do; db status lists them', async () => {
    const labels = loadMigrations().map(migrationLabel);
    const first = await meridian(['db', 'migrate']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`database: embedded PGlite at ${path.join(home, 'pgdata')}`);
    for (const l of labels) expect(first.stdout).toContain(`applied ${l} (`);

    const second = await meridian(['db', 'migrate']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).not.toContain('applied 0');
    expect(second.stdout).toContain(`up to date: ${labels.length} migration`);

    const status = await meridian(['db', 'status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`applied (${labels.length}):`);
    for (const l of labels) expect(status.stdout).toMatch(new RegExp(`^  ${l}  \\d{4}-\\d\\d-\\d\\dT`, 'm'));
    expect(status.stdout).toContain('pending (0):');

    const json = await meridian(['db', 'status', '--json']);
    const s = JSON.parse(json.stdout) as { kind: string; location: string; applied: { version: number }[]; pending: unknown[] };
    expect(s).toMatchObject({ kind: 'pglite', location: path.join(home, 'pgdata'), pending: [] });
    expect(s.applied.map((a) => a.version)).toEqual(loadMigrations().map((m) => m.version));
  });

  it('a malformed DATABASE_URL is one line naming the variable, exit 78', async () => {
    const r = await meridian(['db', 'status'], { DATABASE_URL: 'foo' });
    expect(r.code).toBe(78);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: .*DATABASE_URL: must be a URL/);
    expect(r.stdout).toBe('');
  });

  it('an unreachable server is one line with what to do, never the password; --verbose adds the stack', async () => {
    const url = `postgres://meridian:pw-very-secret@127.0.0.1:${await deadPort()}/meridian`;
    const r = await meridian(['db', 'migrate'], { DATABASE_URL: url });
    expect(r.code).toBe(69);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: PostgreSQL at postgres:\/\/meridian@127\.0\.0\.1:\d+\/meridian is not reachable: .* — start PostgreSQL/);
    expect(r.stderr).not.toContain('pw-very-secret');

    const v = await meridian(['--verbose', 'db', 'migrate'], { DATABASE_URL: url });
    expect(v.code).toBe(69);
    expect(lines(v.stderr).length).toBeGreaterThan(2);
    expect(v.stderr).toMatch(/^\s+at /m);
    expect(v.stderr).not.toContain('pw-very-secret');
  });

  it('an unknown command fails with a non-zero exit', async () => {
    const r = await meridian(['no-such-command']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("unknown command 'no-such-command'");
  });
});
