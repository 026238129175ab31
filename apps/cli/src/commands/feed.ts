import type { Command } from 'commander';
import type { Candle, Timeframe } from '@meridian/contracts';
import type { Clock } from '@meridian/core';
import type { Db } from '@meridian/db';
import type { Bar, CandleStore, FeedReport, FetchOptions, Publish, SeriesKey, Sleep } from '@meridian/market';

/** a ccxt exchange from @meridian/market's createPublicExchange (public endpoints only) */
type Exchange = FetchOptions['exchange'];

/**
 * `meridian feed …`: publish closed candles as `candleClosed` events for the workers.
 * - `replay`: stored candles, in time order, as fast as possible or paced at `--speed Nx` of bar time;
 * - `live`: polls ccxt's public fetchOHLCV at every timeframe boundary, stores the closed candles
 *   (resuming after the last stored one) and publishes them.
 * Candles are always stored before they are published, so a worker deciding a later bar sees the
 * earlier ones. An event's job id is its series + open time: publishing a bar twice while its job
 * waits adds nothing, and a worker never decides a bar twice anyway.
 */

/** "60x" / "60" → 60; "max" / undefined → null (as fast as possible). */
export function parseSpeed(s: string | undefined): number | null {
  if (s === undefined || s === 'max') return null;
  const m = /^(\d+(?:\.\d+)?)x?$/.exec(s.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`--speed must be like 60x (60 × real time: a 1m bar per second) or max, got "${s}"`);
  return n;
}

export interface LiveFeedOptions {
  readonly exchange: Exchange;
  readonly exchangeId: string;
  readonly symbols: readonly string[];
  readonly timeframe: Timeframe;
  readonly timeframeMs: number;
  readonly store: CandleStore;
  readonly publish: Publish;
  /** `fetchCandles` from @meridian/market (injected so this module imports no I/O) */
  readonly fetchCandles: (o: { exchange: Exchange; key: SeriesKey; store: CandleStore; since: number; clock: Clock; sleep?: (ms: number) => Promise<void> }) => Promise<{ inserted: number; updated: number }>;
  readonly clock: Clock;
  readonly sleep?: Sleep;
  readonly signal?: AbortSignal;
  /** bars of history stored on first sight of a series, for the workers' warm-up (default 250) */
  readonly historyBars?: number;
  /** wait this long after a boundary before asking (exchanges close the bar a moment late; default 1500 ms) */
  readonly settleMs?: number;
  /** stop after this many polling rounds (tests); default: until the signal aborts */
  readonly rounds?: number;
  readonly onPublished?: (c: Candle) => void;
  readonly onError?: (symbol: string, e: Error) => void;
}

/**
 * At each timeframe boundary (+ settleMs), for every symbol: download what closed since the last
 * stored candle (fetchCandles drops the still-open one), store it, and publish the newly closed
 * candles in time order. On first sight of a series with nothing stored, `historyBars` of history
 * are stored for the warm-up and only the newest closed candle is published. A failing symbol is
 * reported and retried at the next boundary; the others go on.
 */
export async function runLiveFeed(o: LiveFeedOptions): Promise<FeedReport> {
  // loaded here, not at the top: `meridian --help` must not load the market package (ccxt)
  const sleep = o.sleep ?? (await import('@meridian/market')).abortableSleep;
  const tf = o.timeframeMs;
  const settle = o.settleMs ?? 1500;
  let published = 0;
  let duplicates = 0;
  for (let round = 0; o.rounds === undefined || round < o.rounds; round++) {
    if (o.signal?.aborted) break;
    if (round > 0) {
      const now = o.clock.now();
      await sleep(Math.floor(now / tf) * tf + tf + settle - now, o.signal);
      if (o.signal?.aborted) break;
    }
    for (const symbol of o.symbols) {
      const key: SeriesKey = { exchange: o.exchangeId, symbol, timeframe: o.timeframe };
      try {
        const before = await o.store.lastTs(key);
        const since = before === null ? Math.floor(o.clock.now() / tf) * tf - (o.historyBars ?? 250) * tf : before + tf;
        await o.fetchCandles({ exchange: o.exchange, key, store: o.store, since, clock: o.clock, sleep: (ms) => sleep(ms, o.signal) });
        const after = await o.store.lastTs(key);
        if (after === null || (before !== null && after <= before)) continue;
        const fresh: Bar[] = await o.store.range(key, before === null ? after : before + tf, after + tf);
        for (const b of fresh) {
          const c: Candle = { schemaVersion: 1, ...key, ...b };
          const r = await o.publish(c);
          if (r.added) published++;
          else duplicates++;
          o.onPublished?.(c);
        }
      } catch (e) {
        o.onError?.(symbol, e as Error);
      }
    }
  }
  return { published, duplicates };
}

export function registerFeedCommands(program: Command): void {
  const feed = program.command('feed').description('publish closed candles to the workers: replay stored candles, or follow an exchange live');

  feed
    .command('replay')
    .description('publish stored candles as candle events, in time order')
    .requiredOption('--symbol <symbol>', 'market, e.g. BTC/USDT')
    .requiredOption('--timeframe <tf>', 'bar size, e.g. 1m')
    .option('--exchange <id>', 'exchange the stored candles come from', 'binance')
    .option('--from <time>', 'first candle, ISO-8601 (UTC) or epoch ms (default: the first stored)')
    .option('--to <time>', 'stop before this candle (default: after the last stored)')
    .option('--speed <n>', 'pace by bar time: 60x publishes a 1m bar per second; max = as fast as possible', 'max')
    .action(async (o: { symbol: string; timeframe: string; exchange: string; from?: string; to?: string; speed: string }) => {
      const m = await import('@meridian/market');
      const { readCandles } = await import('@meridian/db');
      const key = { exchange: m.parseExchangeId(o.exchange), symbol: m.parseSymbol(o.symbol), timeframe: m.parseTimeframe(o.timeframe) };
      const speed = await speedOrThrow(o.speed);
      await withFeed(async ({ db, publish }) => {
        const candles = await readCandles(db, { ...key, ...(o.from ? { from: await parseTime(o.from, '--from') } : {}), ...(o.to ? { to: await parseTime(o.to, '--to') } : {}) });
        if (candles.length === 0) {
          const { AppError } = await import('@meridian/core');
          throw new AppError('NOT_FOUND', `no stored candles for ${key.exchange} ${key.symbol} ${key.timeframe} in that range`, { hint: 'import or fetch them first (meridian data import|fetch), or check with meridian data ls' });
        }
        const ac = stopOnSignal();
        const r = await m.replayCandles({
          candles,
          publish,
          speed,
          signal: ac.signal,
          onProgress: (d, t) => {
            if (process.stderr.isTTY && (d % 100 === 0 || d === t)) process.stderr.write(`\r  ${d}/${t} published`);
          },
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        process.stdout.write(`replayed ${key.exchange} ${key.symbol} ${key.timeframe}: ${r.published} events published, ${r.duplicates} already queued${ac.signal.aborted ? ' (stopped early)' : ''}\n`);
      });
    });

  feed
    .command('live')
    .description('poll an exchange (public API) at every bar close; store and publish the closed candles')
    .requiredOption('--symbols <list>', 'comma-separated markets, e.g. BTC/USDT,ETH/USDT')
    .requiredOption('--timeframe <tf>', 'bar size, e.g. 1m')
    .option('--exchange <id>', 'ccxt exchange id', 'binance')
    .option('--history <bars>', 'bars of history stored on first sight of a series (worker warm-up)', '250')
    .action(async (o: { symbols: string; timeframe: string; exchange: string; history: string }) => {
      const m = await import('@meridian/market');
      const { loadConfig } = await import('@meridian/config');
      const { AppError, systemClock } = await import('@meridian/core');
      const { TIMEFRAME_MS } = await import('@meridian/contracts');
      const exchangeId = m.parseExchangeId(o.exchange);
      const timeframe = m.parseTimeframe(o.timeframe);
      const symbols = o.symbols.split(',').map((s) => m.parseSymbol(s.trim()));
      const history = Number(o.history);
      if (!Number.isInteger(history) || history < 1) throw new AppError('VALIDATION', `--history must be a whole number ≥ 1, got "${o.history}"`);
      const exchange = await m.createPublicExchange(exchangeId, { baseUrl: loadConfig().exchange.url });
      await withFeed(async ({ db, publish }) => {
        const ac = stopOnSignal();
        process.stdout.write(`following ${exchangeId} ${symbols.join(', ')} ${timeframe}; Ctrl-C to stop\n`);
        const r = await runLiveFeed({
          exchange,
          exchangeId,
          symbols,
          timeframe,
          timeframeMs: TIMEFRAME_MS[timeframe],
          store: new m.DbCandleStore(db),
          publish,
          fetchCandles: (x) => m.fetchCandles(x),
          clock: systemClock,
          signal: ac.signal,
          historyBars: history,
          onPublished: (c) => process.stdout.write(`  ${new Date(c.ts).toISOString()} ${c.symbol} close ${c.close}\n`),
          onError: (s, e) => process.stderr.write(`  ${s}: ${e.message} — retrying at the next bar\n`),
        });
        process.stdout.write(`stopped: ${r.published} events published\n`);
      });
    });
}

async function speedOrThrow(s: string): Promise<number | null> {
  try {
    return parseSpeed(s);
  } catch (e) {
    const { AppError } = await import('@meridian/core');
    throw new AppError('VALIDATION', (e as Error).message);
  }
}

async function parseTime(s: string, flag: string): Promise<number> {
  const n = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(n)) {
    const { AppError } = await import('@meridian/core');
    throw new AppError('VALIDATION', `${flag} must be an ISO-8601 UTC time or epoch ms, got "${s}"`);
  }
  return n;
}

function stopOnSignal(): AbortController {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return ac;
}

/** The database and a publisher onto the candle queue; services mode only (the events must reach another process). */
async function withFeed(fn: (x: { db: Db; publish: Publish }) => Promise<void>): Promise<void> {
  const { loadConfig } = await import('@meridian/config');
  const { AppError } = await import('@meridian/core');
  const config = loadConfig();
  if (!config.redisUrl)
    throw new AppError('CONFIG', 'meridian feed publishes to the workers through Redis, and REDIS_URL is not set', {
      hint: 'set REDIS_URL (and DATABASE_URL) as for the workers',
    });
  const { openDb, migrate } = await import('@meridian/db');
  const { BullMqQueue, candleClosedJob } = await import('@meridian/queue');
  const db = await openDb(config.db, { applicationName: 'meridian-feed' });
  const queue = new BullMqQueue({ url: config.redisUrl, prefix: config.queuePrefix });
  try {
    await migrate(db);
    await fn({ db, publish: (c) => queue.add(candleClosedJob, c) });
  } finally {
    await queue.close();
    await db.close();
  }
}
