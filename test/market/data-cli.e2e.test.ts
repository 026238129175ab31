import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runMeridian, type CliRun } from '../support/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeBinance, type FakeServer } from '../fake-binance/index.ts';

/**
 * `meridian data …` end to end: the real CLI process on an embedded (PGlite) database in a
 * temporary MERIDIAN_HOME, and `data fetch` through ccxt against the fake Binance
 * (MERIDIAN_EXCHANGE_URL) with a 429 and a 503 in the middle of the download.
 * The steps build on each other (one database for this file).
 */
const home = mkdtempSync(path.join(tmpdir(), 'meridian-data-e2e-'));
let server: FakeServer;

const meridian = (...args: string[]) => runMeridian(home, args, { MERIDIAN_EXCHANGE_URL: server.url });

const json = <T>(r: CliRun): T => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
};

beforeAll(async () => {
  server = await startFakeBinance();
});
afterAll(async () => {
  await server.close();
});

describe('meridian data', () => {
  const syn = path.join(home, 'syn.csv');

  it('generate is reproducible byte for byte', async () => {
    const other = path.join(home, 'syn2.csv');
    json(await meridian('data', 'generate', '--symbol', 'SYN/USD', '--timeframe', '1m', '--bars', '3000', '--seed', '7', '--out', syn, '--json'));
    json(await meridian('data', 'generate', '--symbol', 'SYN/USD', '--timeframe', '1m', '--bars', '3000', '--seed', '7', '--out', other, '--json'));
    expect(readFileSync(syn).equals(readFileSync(other))).toBe(true);
  });

  it('import stores every row, and a second import changes nothing', async () => {
    const a = json<{ read: number; stored: number; timestampFormat: string }>(await meridian('data', 'import', syn, '--symbol', 'SYN/USD', '--timeframe', '1m', '--exchange', 'synthetic', '--json'));
    expect(a).toMatchObject({ read: 3000, stored: 3000, timestampFormat: 'epoch_ms' });
    const b = await meridian('data', 'import', syn, '--symbol', 'SYN/USD', '--timeframe', '1m', '--exchange', 'synthetic');
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/read 3000, stored 0 \(new 0, changed 0\), unchanged 3000/);
    expect(b.stdout).toContain('timestamps: epoch milliseconds');
  });

  it('a corrupted CSV fails naming line and field (exit 2); with --on-error skip the good rows are stored', async () => {
    const bad = path.join(home, 'bad.csv');
    writeFileSync(
      bad,
      [
        'timestamp,open,high,low,close,volume',
        '2024-01-01T00:00:00Z,10,12,9,11,5',
        '2024-01-01T00:05:00Z,NaN,12,9,11,5',
        '2024-01-01T00:10:00Z,10,8,9,9,5',
        '2024-01-01T00:15:00Z,10,12,9,11,5',
        '2024-01-01T00:05:00Z,10,12,9,11,5',
        '2024-01-01 xx:20,10,12,9,11,5',
        '2024-01-01T00:25:00Z,10,12,9,11,5',
        '',
      ].join('\n'),
    );
    const f = await meridian('data', 'import', bad, '--symbol', 'BAD/USD', '--timeframe', '5m');
    expect(f.code).toBe(2);
    expect(f.stderr).toContain('bad.csv:3: open: open is not a finite number');
    const s = await meridian('data', 'import', bad, '--symbol', 'BAD/USD', '--timeframe', '5m', '--on-error', 'skip');
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/read 7, stored 3 .* skipped 4/);
    expect(s.stdout).toContain('bad.csv:4: high:');
    expect(s.stdout).toContain('bad.csv:6: timestamp: out of order');
    expect(s.stdout).toContain('bad.csv:7: timestamp: malformed timestamp');
    expect(s.stdout).toMatch(/gaps: 3 missing bars in 2 gap/);
  });

  it('fetch downloads through ccxt, survives a 429 and a 503 mid-download, drops the open candle, and resumes', async () => {
    const now = Date.now();
    const since = new Date(Math.floor(now / 60_000) * 60_000 - 2500 * 60_000).toISOString();
    server.inject({ kind: 'status', status: 429, retryAfterSec: 1, path: '/api/v3/klines', after: 1 }, { kind: 'status', status: 503, path: '/api/v3/klines', after: 0 });
    const r = json<{ fetched: number; retries: number; droppedOpen: number; pages: number }>(
      await meridian('data', 'fetch', '--exchange', 'binance', '--symbol', 'BTC/USDT', '--timeframe', '1m', '--since', since, '--json'),
    );
    expect(r.retries).toBe(2);
    expect(server.pendingFaults()).toBe(0);
    expect(r.fetched).toBeGreaterThanOrEqual(2499);
    expect(r.droppedOpen).toBe(1);
    const klines = server.log.filter((l) => l.path === '/api/v3/klines');
    expect(klines.map((k) => k.status)).toEqual([200, 429, 503, 200, 200]);
    // resume: the next run starts after the last stored candle
    const again = json<{ from: number; inserted: number }>(await meridian('data', 'fetch', '--exchange', 'binance', '--symbol', 'BTC/USDT', '--timeframe', '1m', '--since', since, '--json'));
    expect(again.from).toBeGreaterThan(Date.parse(since) + 2400 * 60_000);
    expect(again.inserted).toBeLessThanOrEqual(2);
  });

  it('ls lists each stored series with first, last, count and gaps', async () => {
    const rows = json<{ exchange: string; symbol: string; timeframe: string; count: number; missingBars: number; gapRuns: number; first: number }[]>(await meridian('data', 'ls', '--json'));
    expect(rows.find((r) => r.symbol === 'SYN/USD')).toMatchObject({ exchange: 'synthetic', timeframe: '1m', count: 3000, missingBars: 0, gapRuns: 0, first: Date.UTC(2024, 0, 1) });
    expect(rows.find((r) => r.symbol === 'BAD/USD')).toMatchObject({ count: 3, missingBars: 3, gapRuns: 2 });
    expect(rows.find((r) => r.symbol === 'BTC/USDT')!.count).toBeGreaterThanOrEqual(2499);
    const text = await meridian('data', 'ls');
    expect(text.stdout).toMatch(/exchange\s+symbol\s+tf\s+first\s+last\s+count\s+missing\s+gaps/);
  });
});
