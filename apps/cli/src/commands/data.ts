import type { Command } from 'commander';
import type { CandleStore } from '@meridian/market';

/**
 * `meridian data …`: import, fetch, generate and list stored candles (packages/market).
 * Heavy modules (market, ccxt, the database drivers) load inside the handlers, so
 * `meridian --help` stays fast. Errors are AppErrors and leave through the CLI's error handler.
 */
export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('candles: import files, download from an exchange, generate synthetic data, list what is stored');

  data
    .command('import')
    .description('import candles from a CSV (timestamp,open,high,low,close,volume) or ccxt-style JSON file')
    .argument('<file>', 'a .csv or .json file')
    .requiredOption('--symbol <symbol>', 'market, e.g. BTC/USDT')
    .requiredOption('--timeframe <tf>', 'bar size, e.g. 5m')
    .option('--exchange <id>', 'exchange the candles come from', 'binance')
    .option('--on-error <mode>', 'fail: stop at the first bad row and store nothing; skip: store the good rows, report the bad', 'fail')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, o: { symbol: string; timeframe: string; exchange: string; onError: string; json?: boolean }) => {
      const m = await import('@meridian/market');
      const { AppError } = await import('@meridian/core');
      if (o.onError !== 'fail' && o.onError !== 'skip') throw new AppError('VALIDATION', `--on-error must be fail or skip, got "${o.onError}"`);
      const key = { exchange: m.parseExchangeId(o.exchange), symbol: m.parseSymbol(o.symbol), timeframe: m.parseTimeframe(o.timeframe) };
      await withStore(async (store) => {
        const progress = progressLine('import');
        const r = await m.importCandles({ file, key, store, onError: o.onError as 'fail' | 'skip', onProgress: (p) => progress?.(`${p.read.toLocaleString('en-US')} rows read`) });
        progress?.done();
        if (o.json) return print(JSON.stringify(r));
        print(`imported ${file} → ${key.exchange} ${key.symbol} ${key.timeframe}`);
        print(`  timestamps: ${r.timestampFormat ? m.describeTimestampFormat(r.timestampFormat) : 'none (no data rows)'}`);
        print(`  read ${r.read}, stored ${r.stored} (new ${r.inserted}, changed ${r.updated}), unchanged ${r.unchanged}, duplicates dropped ${r.duplicates}, skipped ${r.skipped}`);
        for (const [reason, n] of Object.entries(r.skippedByReason)) print(`    skipped ${n} × ${reason}`);
        for (const i of r.issues.slice(0, 20)) print(`    ${m.formatIssue(i)}`);
        if (r.skipped > 20) print(`    … ${r.skipped - 20} more (use --json for the first 100)`);
        print(`  gaps: ${gapLine(r.gaps)}`);
        if (r.first !== null) print(`  range: ${iso(r.first)} → ${iso(r.last!)}`);
      });
    });

  data
    .command('fetch')
    .description('download candles with ccxt (public endpoints only), resuming after the last stored candle')
    .requiredOption('--symbol <symbol>', 'market, e.g. BTC/USDT')
    .requiredOption('--timeframe <tf>', 'bar size, e.g. 1h')
    .requiredOption('--since <time>', 'first candle, ISO-8601 (UTC) or epoch ms, e.g. 2024-01-01')
    .option('--until <time>', 'stop before this time (default: the last closed candle)')
    .option('--exchange <id>', 'ccxt exchange id', 'binance')
    .option('--json', 'print the report as JSON')
    .action(async (o: { symbol: string; timeframe: string; since: string; until?: string; exchange: string; json?: boolean }) => {
      const m = await import('@meridian/market');
      const { loadConfig } = await import('@meridian/config');
      const key = { exchange: m.parseExchangeId(o.exchange), symbol: m.parseSymbol(o.symbol), timeframe: m.parseTimeframe(o.timeframe) };
      const since = m.parseTimeArg(o.since, '--since');
      const until = o.until === undefined ? undefined : m.parseTimeArg(o.until, '--until');
      const exchange = await m.createPublicExchange(key.exchange, { baseUrl: loadConfig().exchange.url });
      await withStore(async (store) => {
        const bar = progressBar();
        const r = await m.fetchCandles({
          exchange,
          key,
          store,
          since,
          ...(until !== undefined ? { until } : {}),
          onProgress: (p) => bar?.((p.ts - p.from) / Math.max(1, p.to - p.from), `${p.fetched.toLocaleString('en-US')} candles, up to ${iso(p.ts)}`),
          onRetry: (x) => process.stderr.write(`\n  retry ${x.attempt} in ${x.delayMs} ms after ${x.error}\n`),
        });
        bar?.done();
        if (o.json) return print(JSON.stringify(r));
        print(`fetched ${key.exchange} ${key.symbol} ${key.timeframe} ${iso(r.from)} → ${iso(r.to)}${r.resumedFrom !== null ? ' (resumed after the last stored candle)' : ''}`);
        print(`  pages ${r.pages}, candles ${r.fetched}: new ${r.inserted}, changed ${r.updated}, unchanged ${r.unchanged}; open candle dropped: ${r.droppedOpen}; retries ${r.retries}`);
        print(`  gaps: ${gapLine(r.gaps)}`);
      });
    });

  data
    .command('generate')
    .description('write seeded synthetic candles to a CSV (same options → same bytes)')
    .requiredOption('--out <file>', 'CSV file to write')
    .option('--symbol <symbol>', 'label only (not written to the file)', 'SYN/USD')
    .option('--timeframe <tf>', 'bar size', '1m')
    .option('--bars <n>', 'number of candles', '525600')
    .option('--seed <n>', 'random seed', '7')
    .option('--start <time>', 'first candle, ISO-8601 (UTC) or epoch ms', '2024-01-01')
    .option('--json', 'print the result as JSON')
    .action(async (o: { out: string; symbol: string; timeframe: string; bars: string; seed: string; start: string; json?: boolean }) => {
      const m = await import('@meridian/market');
      const { TIMEFRAME_MS } = await import('@meridian/contracts');
      m.parseSymbol(o.symbol);
      const timeframeMs = TIMEFRAME_MS[m.parseTimeframe(o.timeframe)];
      const bars = await positiveInt(o.bars, '--bars');
      const seed = await nonNegativeInt(o.seed, '--seed');
      const start = m.parseTimeArg(o.start, '--start');
      const progress = progressLine('generate');
      const r = await m.writeSyntheticCsv(o.out, { bars, seed, timeframeMs, start }, (n) => progress?.(`${n.toLocaleString('en-US')} / ${bars.toLocaleString('en-US')} bars`));
      progress?.done();
      if (o.json) return print(JSON.stringify({ file: o.out, ...r, seed, timeframe: o.timeframe, symbol: o.symbol }));
      print(`wrote ${r.bars} ${o.timeframe} candles (${o.symbol}, seed ${seed}) to ${o.out}, ${r.bytes} bytes`);
    });

  data
    .command('ls')
    .description('list stored candle series: exchange, symbol, timeframe, first, last, count, gaps')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      await withStore(async (store) => {
        const rows = await store.list();
        if (o.json) return print(JSON.stringify(rows));
        if (rows.length === 0) return print('no candles stored yet — try `meridian data import FILE --symbol … --timeframe …` or `meridian data fetch …`');
        const table = [
          ['exchange', 'symbol', 'tf', 'first', 'last', 'count', 'missing', 'gaps'],
          ...rows.map((r) => [r.exchange, r.symbol, r.timeframe, iso(r.first), iso(r.last), String(r.count), String(r.missingBars), String(r.gapRuns)]),
        ];
        const w = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
        for (const row of table) print(row.map((cell, c) => cell.padEnd(w[c]!)).join('  ').trimEnd());
      });
    });
}

function print(s: string): void {
  process.stdout.write(`${s}\n`);
}

function iso(t: number): string {
  return new Date(t).toISOString().replace('.000Z', 'Z');
}

function gapLine(g: { missingBars: number; runs: number; longest: { from: number; to: number; bars: number } | null }): string {
  if (g.runs === 0) return 'none';
  return `${g.missingBars} missing bars in ${g.runs} gap(s); longest ${g.longest!.bars} bars from ${iso(g.longest!.from)} to ${iso(g.longest!.to)} (not filled)`;
}

async function positiveInt(s: string, flag: string): Promise<number> {
  const n = Number(s);
  if (Number.isInteger(n) && n > 0) return n;
  const { AppError } = await import('@meridian/core');
  throw new AppError('VALIDATION', `${flag} must be a positive whole number, got "${s}"`);
}

async function nonNegativeInt(s: string, flag: string): Promise<number> {
  const n = Number(s);
  if (Number.isInteger(n) && n >= 0 && n <= 0xffffffff) return n;
  const { AppError } = await import('@meridian/core');
  throw new AppError('VALIDATION', `${flag} must be a whole number between 0 and 4294967295, got "${s}"`);
}

/** Open the configured database (migrating it), run `fn` with a candle store, close. */
async function withStore<T>(fn: (store: CandleStore) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('@meridian/config');
  const { openDb, migrate } = await import('@meridian/db');
  const { DbCandleStore } = await import('@meridian/market');
  const db = await openDb(loadConfig().db, { applicationName: 'meridian data' });
  try {
    await migrate(db);
    return await fn(new DbCandleStore(db));
  } finally {
    await db.close();
  }
}

const tty = (): boolean => Boolean(process.stdout.isTTY && process.stderr.isTTY);

/** A progress bar on stderr, only when attached to a terminal (null otherwise: logs stay clean). */
function progressBar(): (((fraction: number, text: string) => void) & { done(): void }) | null {
  if (!tty()) return null;
  const draw = (fraction: number, text: string): void => {
    const f = Math.max(0, Math.min(1, fraction));
    const width = 30;
    const full = Math.round(f * width);
    process.stderr.write(`\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}% ${text}\x1b[K`);
  };
  return Object.assign(draw, { done: () => process.stderr.write('\n') });
}

function progressLine(label: string): (((text: string) => void) & { done(): void }) | null {
  if (!tty()) return null;
  const draw = (text: string): void => {
    process.stderr.write(`\r${label}: ${text}\x1b[K`);
  };
  return Object.assign(draw, { done: () => process.stderr.write('\n') });
}
