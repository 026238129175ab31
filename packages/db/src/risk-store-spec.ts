import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RiskLimits } from '@meridian/contracts';
import type { Db } from './db.ts';
import { migrate } from './migrate.ts';
import { listAudit } from './repos/audit-log-repo.ts';
import { listRiskLimitVersions } from './repos/risk-limit-repo.ts';
import { listTradingStateTransitions } from './repos/trading-state-repo.ts';
import { changeTradingState, readTradingState, setRiskLimits } from './risk-store.ts';

const T = Date.UTC(2024, 0, 15);
const limits = (maxOrderNotional: number): RiskLimits => ({ schemaVersion: 1, allowedSymbols: [], requireStopLoss: true, maxOrderNotional });

/**
 * The risk-store spec, run on PGlite (risk-store.test.ts) and on server Postgres
 * (risk-store.int.test.ts). Each engine gets a fresh, empty database; the steps build on each other.
 */
export function riskStoreSpec(open: () => Promise<{ db: Db; dispose: () => Promise<void> }>): void {
  let db: Db;
  let dispose: () => Promise<void>;
  // PGlite's first open compiles its WASM: slow on a busy machine
  beforeAll(async () => {
    ({ db, dispose } = await open());
    await migrate(db);
  }, 120_000);
  afterAll(async () => {
    // undefined when open() itself failed: report that failure, not this one
    await (db as Db | undefined)?.close();
    await (dispose as (() => Promise<void>) | undefined)?.();
  });

  it('appends limit versions and audits each with before and after, atomically', async () => {
    const a = await setRiskLimits(db, { limits: limits(1_000), author: 'alice', reason: 'first limits', at: T });
    expect(a.stored.version).toBe(1);
    expect(a.previous).toBeUndefined();
    const b = await setRiskLimits(db, { limits: limits(500), author: 'bob', reason: 'tighter', at: T + 1 });
    expect(b.stored).toMatchObject({ version: 2, author: 'bob', reason: 'tighter', createdAt: T + 1 });
    expect(b.stored.limits.maxOrderNotional).toBe(500);
    expect(b.previous?.version).toBe(1);

    const audit = await listAudit(db, { action: 'risk_limits.set' });
    expect(audit.map((e) => e.entity)).toEqual(['risk_limits:2', 'risk_limits:1']);
    expect(audit[0]).toMatchObject({ actor: 'bob', reason: 'tighter', before: { version: 1, limits: { maxOrderNotional: 1_000 } }, after: { version: 2, limits: { maxOrderNotional: 500 } } });
    expect(audit[1]?.before).toBeNull();
  });

  it('a stale edit is refused and leaves neither a version nor an audit entry', async () => {
    const versions = (await listRiskLimitVersions(db)).length;
    const audits = (await listAudit(db)).length;
    await expect(setRiskLimits(db, { limits: limits(1), author: 'carol', reason: 'stale', at: T + 2, expectedLatest: 1 })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await listRiskLimitVersions(db)).length).toBe(versions);
    expect((await listAudit(db)).length).toBe(audits);
  });

  it('records a trading-state change, its transition and its audit entry together', async () => {
    const initial = { schemaVersion: 1 as const, state: 'ACTIVE' as const, reason: 'initial state', actor: 'system', since: 0, until: null };
    expect(await readTradingState(db, initial)).toEqual({ state: initial, version: 0 });

    const h = await changeTradingState(db, { kind: 'kill_switch', to: 'HALTED', actor: 'alice', reason: 'exchange incident', at: T + 10, until: null });
    expect(h.state.state).toMatchObject({ state: 'HALTED', actor: 'alice', reason: 'exchange incident', since: T + 10, until: null });
    expect(h.transition).toMatchObject({ from: null, to: 'HALTED', actor: 'alice', at: T + 10 });
    expect(h.audit).toMatchObject({ action: 'trading_state.kill_switch', entity: 'trading_state:global', before: null, after: { state: 'HALTED' } });

    const r = await changeTradingState(db, { kind: 'resume', to: 'ACTIVE', actor: 'bob', reason: 'incident over', at: T + 20, until: null, expectedVersion: 1 });
    expect(r.audit).toMatchObject({ before: { state: 'HALTED' }, after: { state: 'ACTIVE', actor: 'bob' } });
    expect((await readTradingState(db, initial)).version).toBe(2);
    expect((await listTradingStateTransitions(db)).map((t) => `${t.from}→${t.to}`)).toEqual(['HALTED→ACTIVE', 'null→HALTED']);
  });

  it('a trading-state change on a stale version stores nothing', async () => {
    const audits = (await listAudit(db)).length;
    await expect(changeTradingState(db, { kind: 'kill_switch', to: 'HALTED', actor: 'eve', reason: 'stale', at: T + 30, until: null, expectedVersion: 1 })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect((await listAudit(db)).length).toBe(audits);
    expect((await listTradingStateTransitions(db)).length).toBe(2);
  });
}
