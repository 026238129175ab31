import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runMeridian } from '@meridian/test/support';

/**
 * `meridian risk …` end to end: the real CLI process on an embedded (PGlite) database in a
 * temporary MERIDIAN_HOME. The steps build on each other (one database per file, made here).
 */
let home: string;

const meridian = (...args: string[]) => runMeridian(home, args);

async function json<T>(...args: string[]): Promise<T> {
  const r = await meridian(...args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

interface Show {
  limits: { version: number; author: string; reason: string; limits: Record<string, unknown> } | null;
  tradingState: { state: string; actor: string; reason: string; effective: string; version: number };
}

describe('meridian risk (embedded database)', () => {
  beforeAll(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'meridian-risk-e2e-'));
  });
  afterAll(async () => {
    await fs.rm(home, { recursive: true, force: true });
  });

  it('shows that nothing is set on a fresh install', async () => {
    const r = await meridian('risk', 'show');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('risk limits: none stored yet');
    expect(r.stdout).toContain('trading state: ACTIVE');
  });

  it('stores the example limits as version 1, printing the changes', async () => {
    const r = await meridian('risk', 'set', '--file', 'examples/risk-limits.json', '--reason', 'initial limits', '--author', 'alice');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('first limits version:');
    expect(r.stdout).toContain('  maxOrderNotional: no limit → 2000');
    expect(r.stdout).toContain('stored risk limits version 1 (author alice).');
    const s = await json<Show>('risk', 'show', '--json');
    expect(s.limits).toMatchObject({ version: 1, author: 'alice', reason: 'initial limits', limits: { maxOrderNotional: 2_000, requireStopLoss: true } });
  });

  it('rejects a file with three mistakes, lists all three, and stores nothing', async () => {
    const bad = path.join(home, 'three-mistakes.json');
    await fs.writeFile(bad, JSON.stringify({ maxOrderNotional: 5_000, maxPositionNotional: 3_000, riskPerTradePct: 150, maxLeverag: 2 }));
    const r = await meridian('risk', 'set', '--file', bad, '--reason', 'oops', '--author', 'mallory');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('has 3 problems (listed above); nothing was stored');
    expect(r.stderr).toMatch(/maxLeverag: unknown field — did you mean maxLeverage\?/);
    expect(r.stderr).toMatch(/maxOrderNotional: 5000 is above maxPositionNotional \(3000\)/);
    expect(r.stderr).toMatch(/riskPerTradePct: must be a percentage in \(0, 100\]; got 150/);
    const h = await json<{ version: number }[]>('risk', 'history', '--json');
    expect(h.map((v) => v.version)).toEqual([1]);
  });

  it('stores a change as version 2 with its diff, and lists and diffs the history', async () => {
    const v2 = path.join(home, 'v2.json');
    const doc = JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'examples/risk-limits.json'), 'utf8')) as Record<string, unknown>;
    await fs.writeFile(v2, JSON.stringify({ ...doc, maxOrderNotional: 1_500, minConfidence: 0.6 }));
    const r = await meridian('risk', 'set', '--file', v2, '--reason', 'tighter after review', '--author', 'bob');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('changes against version 1:\n  maxOrderNotional: 2000 → 1500\n  minConfidence: 0.42 → 0.6\nstored risk limits version 2');

    const again = await meridian('risk', 'set', '--file', v2, '--reason', 'same again', '--author', 'bob');
    expect(again.stdout).toContain('identical to the current version 2; nothing stored');

    const hist = await meridian('risk', 'history');
    expect(hist.code, hist.stderr).toBe(0);
    expect(hist.stdout).toMatch(/2 +\S+ +bob +maxOrderNotional, minConfidence +tighter after review/);
    expect(hist.stdout).toMatch(/1 +\S+ +alice +first version +initial limits/);

    const d = await meridian('risk', 'diff', '1', '2');
    expect(d.stdout).toBe('version 1 → 2: 2 changes\n  maxOrderNotional: 2000 → 1500\n  minConfidence: 0.42 → 0.6\n');
    const missing = await meridian('risk', 'diff', '1', '7');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('risk limits version 7 does not exist');
  });

  it('halts and resumes, recording who and why', async () => {
    const h = await meridian('risk', 'halt', '--reason', 'exchange incident', '--author', 'carol');
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toMatch(/trading is now HALTED \(was ACTIVE\), set by carol at .*: exchange incident/);
    const s = await json<Show>('risk', 'show', '--json');
    expect(s.tradingState).toMatchObject({ state: 'HALTED', effective: 'HALTED', actor: 'carol', reason: 'exchange incident', version: 1 });

    const twice = await meridian('risk', 'halt', '--reason', 'again', '--author', 'carol');
    expect(twice.stdout).toContain('trading is already HALTED');

    const r = await meridian('risk', 'resume', '--reason', 'incident resolved', '--author', 'dave');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/trading is now ACTIVE \(was HALTED\), set by dave/);
    const after = await json<Show>('risk', 'show', '--json');
    expect(after.tradingState).toMatchObject({ state: 'ACTIVE', actor: 'dave', version: 2 });
  });
});
