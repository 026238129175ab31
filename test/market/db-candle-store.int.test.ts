import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Db, migrate, openDb } from '@meridian/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbCandleStore, importCandles, type SeriesKey } from '../../packages/market/src/index.ts';
import { freshPgDatabase, probePostgres } from '../support/index.ts';

/**
 * The candle store spec on both engines: idempotent import of real data, all-or-nothing on a
 * bad row, skip mode, gap statistics for `data ls`, resume point for `data fetch`.
 */
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/candles');
const tmp = mkdtempSync(path.join(tmpdir(), 'meridian-dbstore-'));
const pgProbe = await probePostgres();

function spec(open: () => Promise<{ db: Db; dispose: () => Promise<void> }>) {
  let db: Db;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ db, dispose } = await open());
    await migrate(db);
  });
  afterAll(async () => {
    await db.close();
    await dispose();
  });

  const ADA: SeriesKey = { exchange: 'binance', symbol: 'ADA/BTC', timeframe: '5m' };

  it('imports real candles, reports the 5 gaps, and a second import changes nothing', async () => {
    const store = new DbCandleStore(db);
    const file = path.join(FIXTURES, 'binance_ADA_BTC-5m.csv');
    const a = await importCandles({ file, key: ADA, store, batchSize: 2000 });
    expect(a).toMatchObject({ read: 5720, stored: 5720, inserted: 5720, updated: 0, unchanged: 0 });
    expect(a.gaps.runs).toBe(5);
    const b = await importCandles({ file, key: ADA, store, batchSize: 2000 });
    expect(b).toMatchObject({ read: 5720, stored: 0, inserted: 0, updated: 0, unchanged: 5720 });
    const [ls] = (await store.list()).filter((s) => s.symbol === 'ADA/BTC');
    expect(ls).toMatchObject({ count: 5720, gapRuns: 5, first: Date.UTC(2018, 0, 10, 4, 55), last: Date.UTC(2018, 0, 30, 4, 50) });
    expect(ls!.missingBars).toBe(5760 - 5720);
    expect(await store.lastTs(ADA)).toBe(Date.UTC(2018, 0, 30, 4, 50));
    const bars = await store.range(ADA, Date.UTC(2018, 0, 10, 4, 55), Date.UTC(2018, 0, 10, 5, 5));
    expect(bars).toHaveLength(2);
    expect(bars[0]!.open).toBeGreaterThan(0);
  });

  it('a corrected bar is counted as changed, not new', async () => {
    const store = new DbCandleStore(db);
    const key: SeriesKey = { exchange: 'binance', symbol: 'FIX/USDT', timeframe: '1m' };
    const f1 = path.join(tmp, `fix1-${db.kind}.csv`);
    const f2 = path.join(tmp, `fix2-${db.kind}.csv`);
    writeFileSync(f1, 'timestamp,open,high,low,close,volume\n1704067200000,10,12,9,11,5\n1704067260000,11,12,10,11,5\n');
    writeFileSync(f2, 'timestamp,open,high,low,close,volume\n1704067200000,10,12,9,11,5\n1704067260000,11,12,10,11.5,5\n');
    await importCandles({ file: f1, key, store });
    expect(await importCandles({ file: f2, key, store })).toMatchObject({ inserted: 0, updated: 1, unchanged: 1, stored: 1 });
    expect((await store.range(key, 0, Number.MAX_SAFE_INTEGER))[1]!.close).toBe(11.5);
  });

  it('fail mode stores nothing when a late row is bad; skip mode stores the good rows', async () => {
    const store = new DbCandleStore(db);
    const key: SeriesKey = { exchange: 'binance', symbol: 'BAD/USDT', timeframe: '1m' };
    const rows = Array.from({ length: 50 }, (_, i) => `${1704067200000 + i * 60_000},10,12,9,11,5`);
    rows[45] = `${1704067200000 + 45 * 60_000},10,12,9,NaN,5`;
    const f = path.join(tmp, `bad-${db.kind}.csv`);
    writeFileSync(f, `timestamp,open,high,low,close,volume\n${rows.join('\n')}\n`);
    await expect(importCandles({ file: f, key, store, batchSize: 10 })).rejects.toThrow(new RegExp(`bad-${db.kind}\\.csv:47: close:`));
    expect(await store.lastTs(key)).toBeNull();
    const r = await importCandles({ file: f, key, store, batchSize: 10, onError: 'skip' });
    expect(r).toMatchObject({ read: 50, stored: 49, skipped: 1, gaps: { missingBars: 1, runs: 1 } });
  });
}

describe('DbCandleStore on PGlite', () => {
  spec(async () => ({ db: await openDb({ kind: 'pglite', dataDir: 'memory' }), dispose: async () => {} }));
});

describe.skipIf(!pgProbe.ok)(`DbCandleStore on server Postgres${pgProbe.skipNote}`, () => {
  spec(async () => {
    const fresh = await freshPgDatabase('market-candles');
    return { db: await openDb({ kind: 'postgres', url: fresh.url }), dispose: () => fresh[Symbol.asyncDispose]() };
  });
});
