import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPgDatabase, probePostgres, REPO_ROOT, runMeridian } from '@meridian/test/support';

/**
 * `meridian memory build` end to end: real candles imported, memories built and resolved, and on server
 * Postgres the time tiers of the all-symbols set (docs/memory.md) — built once.
 */
// the repository's byte-identical copy of the shared real data (../shared/data)
const ETH_BTC = path.join(REPO_ROOT, 'test/fixtures/candles/binance_ETH_BTC-5m.csv');

interface BuildJson {
  inserted: number;
  resolved: number;
  unresolved: number;
  situations: number;
  timeTiers: { built: number; total: number };
}

let home: string;
beforeAll(async () => {
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'meridian-memory-e2e-'));
});
afterAll(async () => {
  await fs.rm(home, { recursive: true, force: true });
});

async function importAndBuild(env: Record<string, string | undefined>, extra: readonly string[] = []): Promise<BuildJson[]> {
  const imp = await runMeridian(home, ['data', 'import', ETH_BTC, '--symbol', 'ETH/BTC', '--timeframe', '5m', '--json'], env);
  expect(imp.code, imp.stderr).toBe(0);
  const out: BuildJson[] = [];
  for (let i = 0; i < 2; i++) {
    const r = await runMeridian(home, ['memory', 'build', '--symbol', 'ETH/BTC', '--timeframe', '5m', '--json', ...extra], env);
    expect(r.code, r.stderr).toBe(0);
    out.push(JSON.parse(r.stdout) as BuildJson);
  }
  return out;
}

describe('meridian memory build on the embedded database', () => {
  it('builds a memory per bar after the warm-up, resolves all but the last horizon, and again inserts nothing', async () => {
    const [first, second] = await importAndBuild({ DATABASE_URL: undefined });
    // 5,760 candles: 199 warm-up bars, the last 12 wait for their outcome
    expect(first).toMatchObject({ situations: 5561, inserted: 5561, unresolved: 12, timeTiers: { built: 0, total: 0 } });
    expect(second).toMatchObject({ inserted: 0, resolved: 0, timeTiers: { built: 0, total: 0 } });
  });

  it('refuses a bad --tier-base with what to pass', async () => {
    const r = await runMeridian(home, ['memory', 'build', '--symbol', 'ETH/BTC', '--timeframe', '5m', '--tier-base', '0'], { DATABASE_URL: undefined });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--tier-base must be a whole number of memories ≥ 100, got "0"/);
  });
});

const probe = await probePostgres();

describe.skipIf(!probe.ok)(`meridian memory build on server Postgres${probe.skipNote}`, () => {
  let tmp: Awaited<ReturnType<typeof freshPgDatabase>> | undefined;
  beforeAll(async () => {
    tmp = await freshPgDatabase('memory_cli');
  });
  afterAll(async () => {
    await tmp?.[Symbol.asyncDispose]();
  });

  it('builds the all-symbols time tiers once (5,549 resolved memories: tiers of 500 and 1,500, at most half the set)', async () => {
    const [first, second] = await importAndBuild({ DATABASE_URL: tmp!.url }, ['--tier-base', '500']);
    expect(first).toMatchObject({ inserted: 5561, unresolved: 12, timeTiers: { built: 2, total: 2 } });
    expect(second).toMatchObject({ inserted: 0, timeTiers: { built: 0, total: 2 } });
  });
});
