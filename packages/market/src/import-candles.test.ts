import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppError } from '@meridian/core';
import { describe, expect, it } from 'vitest';
import type { SeriesKey } from './bar.ts';
import { importCandles } from './import-candles.ts';
import { MemoryCandleStore } from './memory-candle-store.ts';
import { FIXTURE_DIR, REAL_FIXTURES } from './test-candles.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'meridian-import-'));
const write = (name: string, text: string): string => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};
const KEY: SeriesKey = { exchange: 'binance', symbol: 'BTC/USDT', timeframe: '5m' };
const HEADER = 'timestamp,open,high,low,close,volume\n';

// rows 2..9 of the file; lines 4 (NaN), 5 (high < low), 7 (out of order), 8 (malformed timestamp) are bad
const CORRUPT =
  HEADER +
  '2024-01-01T00:00:00Z,10,12,9,11,5\n' + // line 2
  '2024-01-01T00:05:00Z,11,13,10,12,6\n' + // line 3
  '2024-01-01T00:10:00Z,NaN,13,10,12,6\n' + // line 4
  '2024-01-01T00:15:00Z,12,9,11,12,6\n' + // line 5: high < low
  '2024-01-01T00:20:00Z,12,14,11,13,7\n' + // line 6
  '2024-01-01T00:10:00Z,12,14,11,13,7\n' + // line 7: out of order
  '2024-01-01T0x:25:00Z,12,14,11,13,7\n' + // line 8: malformed timestamp
  '2024-01-01T00:30:00Z,13,15,12,14,8\n'; // line 9

describe('importCandles', () => {
  it.each([
    [4, 'open', 'NaN'],
    [5, 'high', 'high_below_body'],
    [7, 'timestamp', 'out of order'],
    [8, 'timestamp', 'malformed'],
  ])('fails on the first bad row, naming file, line %i and field %s, and stores nothing', async (line, field, what) => {
    // keep only the good rows plus the one bad row under test, at its original line number
    const lines = CORRUPT.split('\n');
    const badLines = new Set([4, 5, 7, 8]);
    const text = lines.map((l, i) => (badLines.has(i + 1) && i + 1 !== line ? '' : l)).join('\n');
    const f = write(`corrupt-${line}.csv`, text);
    const store = new MemoryCandleStore();
    const e = await importCandles({ file: f, key: KEY, store, batchSize: 2 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('VALIDATION');
    expect((e as AppError).message).toContain(`corrupt-${line}.csv:${line}: ${field}:`);
    expect((e as AppError).message.toLowerCase()).toContain(what.toLowerCase().replace('_', ' ').split(' ')[0]);
    expect(await store.list()).toEqual([]); // all or nothing, even though earlier batches were written
  });

  it('with skip, stores the good rows and reports each bad one by reason', async () => {
    const f = write('corrupt.csv', CORRUPT);
    const store = new MemoryCandleStore();
    const r = await importCandles({ file: f, key: KEY, store, onError: 'skip' });
    expect(r).toMatchObject({ read: 8, stored: 4, inserted: 4, skipped: 4, timestampFormat: 'iso8601' });
    expect(r.skippedByReason).toEqual({ not_finite: 1, high_below_body: 1, out_of_order: 1, malformed: 1 });
    expect(r.issues.map((i) => [i.line, i.field])).toEqual([
      [4, 'open'],
      [5, 'high'],
      [7, 'timestamp'],
      [8, 'timestamp'],
    ]);
    expect((await store.range(KEY, 0, Infinity)).map((b) => new Date(b.ts).toISOString().slice(11, 16))).toEqual(['00:00', '00:05', '00:20', '00:30']);
    expect(r.gaps).toMatchObject({ missingBars: 3, runs: 2 }); // 00:10, 00:15 and 00:25 are missing
  });

  it('drops exact duplicates and fails on disagreeing ones', async () => {
    const dup = write('dup.csv', HEADER + '1704067200,10,12,9,11,5\n1704067200,10,12,9,11,5\n1704067500,11,12,10,11,5\n');
    const r = await importCandles({ file: dup, key: KEY, store: new MemoryCandleStore() });
    expect(r).toMatchObject({ read: 3, stored: 2, duplicates: 1, timestampFormat: 'epoch_s' });
    const bad = write('dup-bad.csv', HEADER + '1704067200000,10,12,9,11,5\n1704067200000,10,12,9,11,6\n');
    await expect(importCandles({ file: bad, key: KEY, store: new MemoryCandleStore() })).rejects.toThrow(/dup-bad\.csv:3: row: duplicate timestamp/);
  });

  it('detects epoch ms and reads ccxt-style JSON with line numbers', async () => {
    const json = write(
      'c.json',
      '[\n  [1704067200000, 10, 12, 9, 11, 5],\n  [1704067500000, 11, 12, 10, 11.5, 5],\n  [1704067800000, 11.5, 11, 10, 11.5, 5]\n]\n',
    );
    const r = await importCandles({ file: json, key: KEY, store: new MemoryCandleStore(), onError: 'skip' });
    expect(r).toMatchObject({ format: 'json', timestampFormat: 'epoch_ms', read: 3, stored: 2, skipped: 1 });
    expect(r.issues[0]).toMatchObject({ line: 4, field: 'high' });
  });

  it('an empty cell is not a zero', async () => {
    const f = write('empty.csv', HEADER + '1704067200000,10,12,9,,5\n');
    await expect(importCandles({ file: f, key: KEY, store: new MemoryCandleStore() })).rejects.toThrow(/empty\.csv:2: close: close is not a finite number/);
  });

  it('names a missing header column and a missing file', async () => {
    const f = write('nohdr.csv', 'time,open,high,low,close,volume\n1,2,3,4,5,6\n');
    await expect(importCandles({ file: f, key: KEY, store: new MemoryCandleStore() })).rejects.toThrow(/line 1: header is missing column\(s\) timestamp/);
    await expect(importCandles({ file: path.join(dir, 'nope.csv'), key: KEY, store: new MemoryCandleStore() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a second import of the same file changes nothing', async () => {
    const store = new MemoryCandleStore();
    const file = FIXTURE_DIR + 'binance_ADA_BTC-5m.csv';
    const key: SeriesKey = { exchange: 'binance', symbol: 'ADA/BTC', timeframe: '5m' };
    const a = await importCandles({ file, key, store });
    expect(a).toMatchObject({ read: 5720, stored: 5720, inserted: 5720, skipped: 0, timestampFormat: 'iso8601' });
    expect(a.gaps.runs).toBe(REAL_FIXTURES[2].gaps);
    const b = await importCandles({ file, key, store });
    expect(b).toMatchObject({ read: 5720, stored: 0, inserted: 0, updated: 0, unchanged: 5720 });
  });

  it('reports the 676 gaps of the XRP 1m file', async () => {
    const r = await importCandles({
      file: FIXTURE_DIR + 'binance_XRP_ETH-1m.csv',
      key: { exchange: 'binance', symbol: 'XRP/ETH', timeframe: '1m' },
      store: new MemoryCandleStore(),
    });
    expect(r.read).toBe(2469);
    // missing minutes = span − rows; 676 separate holes (README of the shared data)
    expect(r.gaps.runs).toBe(676);
    expect(r.gaps.missingBars).toBe((r.last! - r.first!) / 60_000 + 1 - 2469);
  });
});
