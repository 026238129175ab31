import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { processEnv } from '@meridian/config';
import type { Candle } from '@meridian/contracts';
import { openDb, readCandles, type Db } from '@meridian/db';
import { BullMqQueue, candleClosedJob } from '@meridian/queue';
import { CLI_MAIN, freshPgDatabase, probePostgres, probeRedis, redisDbUrl, REPO_ROOT, runMeridian } from '@meridian/test/support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SYMBOLS, fakeKline, startFakeBinance, type FakeServer } from '../fake-binance/index.ts';

const pg = await probePostgres();
const redis = await probeRedis();
const M = 60_000;
const REDIS_DB = 12;

/**
 * `meridian feed live` as a user runs it: the real CLI process, ccxt's binance client pointed at the local
 * fake exchange (MERIDIAN_EXCHANGE_URL), candles stored in server Postgres and published to BullMQ on Redis.
 * Its first polling round runs at start: history stored for the workers' warm-up, the newest closed candle of
 * each symbol published. Then SIGTERM: it stops cleanly and reports what it published.
 */
describe.skipIf(!pg.ok || !redis.ok)(`meridian feed live (spawned) against the fake Binance${pg.skipNote}${redis.skipNote}`, () => {
  let fresh: Awaited<ReturnType<typeof freshPgDatabase>>;
  let db: Db;
  let server: FakeServer;
  let queue: BullMqQueue;
  let home: string;
  const prefix = `mfeede2e${process.pid}${Math.random().toString(36).slice(2, 7)}`;
  const redisUrl = redisDbUrl(redis, REDIS_DB);
  const env = (): NodeJS.ProcessEnv => ({
    ...processEnv(),
    MERIDIAN_HOME: home,
    MERIDIAN_LOG_LEVEL: 'silent',
    DATABASE_URL: fresh.url,
    REDIS_URL: redisUrl,
    MERIDIAN_QUEUE_PREFIX: prefix,
    MERIDIAN_EXCHANGE_URL: server.url,
  });

  beforeAll(async () => {
    fresh = await freshPgDatabase('feed_live_cli');
    db = await openDb({ kind: 'postgres', url: fresh.url });
    server = await startFakeBinance();
    queue = new BullMqQueue({ url: redisUrl, prefix });
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'meridian-feed-live-'));
  }, 60_000);

  afterAll(async () => {
    await queue?.close();
    await server?.close();
    await db?.close();
    await fresh?.[Symbol.asyncDispose]();
    if (home) await fs.rm(home, { recursive: true, force: true });
  });

  it('stores the history, publishes the newest closed candle of each symbol to the workers’ queue, and stops on SIGTERM', async () => {
    const startedAt = Date.now();
    const child = spawn(process.execPath, ['--conditions=@meridian/source', '--import', 'tsx', CLI_MAIN, 'feed', 'live', '--symbols', 'BTC/USDT,ETH/BTC', '--timeframe', '1m', '--history', '40'], {
      cwd: REPO_ROOT,
      env: env(),
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    // the first round is over when both symbols' candles are printed
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if ((stdout.match(/ close /g) ?? []).length >= 2) resolve();
      });
      void exited.then(([code]) => reject(new Error(`feed live exited with ${code} before publishing:\n${stdout}\n${stderr}`)));
    });
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^following binance BTC\/USDT, ETH\/BTC 1m; Ctrl-C to stop$/m);
    expect(stdout).toMatch(/^stopped: 2 events published$/m);

    // the newest bar that had closed when the round ran (the one before the bar open at start)
    const newest = Math.floor(startedAt / M) * M - M;
    const jobs: Candle[] = [];
    let consumer: { close(): Promise<void> } | undefined;
    await new Promise<void>((resolve) => {
      consumer = queue.process(candleClosedJob, (c) => {
        jobs.push(c);
        if (jobs.length === 2) resolve();
        return Promise.resolve();
      });
    });
    await consumer?.close();
    expect(await queue.pendingCount(candleClosedJob)).toBe(0);
    expect(jobs.map((c) => c.symbol).sort()).toEqual(['BTC/USDT', 'ETH/BTC']);
    for (const c of jobs) {
      // a candle that crosses a minute boundary while the test starts is one bar later
      expect([newest, newest + M]).toContain(c.ts);
      const sym = DEFAULT_SYMBOLS.find((s) => `${s.base}/${s.quote}` === c.symbol)!;
      const k = fakeKline(sym, c.ts, M) as (string | number)[];
      expect([c.open, c.high, c.low, c.close, c.volume]).toEqual([Number(k[1]), Number(k[2]), Number(k[3]), Number(k[4]), Number(k[5])]);
      // the warm-up history up to the published bar is stored
      const stored = await readCandles(db, { exchange: 'binance', symbol: c.symbol, timeframe: '1m', from: 0, to: c.ts + M });
      expect(stored.length).toBe(40);
      expect(stored.at(-1)?.ts).toBe(c.ts);
    }
  });

  it('refuses a bad --history and an unknown exchange with a clear message, before touching anything', async () => {
    const bad = await runMeridian(home, ['feed', 'live', '--symbols', 'BTC/USDT', '--timeframe', '1m', '--history', '0'], env() as Record<string, string>);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--history must be a whole number ≥ 1, got "0"');
    const unknown = await runMeridian(home, ['feed', 'live', '--symbols', 'BTC/USDT', '--timeframe', '1m', '--exchange', 'nosuchexchange'], env() as Record<string, string>);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('unknown exchange "nosuchexchange" — use a ccxt exchange id such as binance');
  });
});
