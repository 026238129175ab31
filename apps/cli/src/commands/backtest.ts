import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { BacktestSummary, BacktestTiming } from '@meridian/backtest';
import type { RiskLimits } from '@meridian/contracts';
import type { Db } from '@meridian/db';

/**
 * `meridian backtest …`: replay candles through the agents, memory, risk gate and paper exchange
 * (packages/backtest) and write summary.json, timing.json, trades.csv, equity.csv, decisions.jsonl and
 * report.html. Heavy modules load inside the handler so `meridian --help` stays fast; the database is opened
 * only to read stored candles (no --data) or, at the end, to record the run (skip with --no-store).
 */
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const DEMO = {
  data: path.join(repoRoot, 'examples/data/binance_ETH_BTC-5m.csv'),
  symbol: 'ETH/BTC',
  timeframe: '5m',
  exchange: 'binance',
  limits: path.join(repoRoot, 'examples/risk-limits.json'),
  out: 'backtest-out',
} as const;

interface BacktestCliOptions {
  data: string[];
  symbol: string[];
  timeframe?: string;
  exchange: string;
  from?: string;
  to?: string;
  capital: string;
  feeBps: string;
  slippageBps: string;
  riskLimits?: string;
  seed: string;
  runner: string;
  memory: boolean;
  memoryK: string;
  memoryHorizon: string;
  out?: string;
  demo?: boolean;
  store: boolean;
  json?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerBacktestCommands(program: Command): void {
  program
    .command('backtest')
    .description('replay candles through the same agents, memory, risk gate and paper exchange as live; write metrics, trades, equity, decisions and an HTML report')
    .option('--data <file>', 'candle file (CSV timestamp,open,high,low,close,volume or ccxt JSON); repeat with --symbol for several symbols; without it, stored candles are used', collect, [])
    .option('--symbol <symbol>', 'market, e.g. BTC/USDT; one per --data, in the same order', collect, [])
    .option('--timeframe <tf>', 'bar size, e.g. 5m')
    .option('--exchange <id>', 'exchange the candles come from', 'binance')
    .option('--from <time>', 'first bar (open time, inclusive), ISO-8601 UTC or epoch ms')
    .option('--to <time>', 'end (open time, exclusive), ISO-8601 UTC or epoch ms')
    .option('--capital <n>', 'starting cash in the quote currency, shared by all symbols', '10000')
    .option('--fee-bps <n>', 'fee per fill, basis points of the notional', '10')
    .option('--slippage-bps <n>', 'market orders fill this many basis points worse', '5')
    .option('--risk-limits <file>', 'risk limits JSON (see examples/risk-limits.json); default: no limits')
    .option('--seed <n>', 'seed of every id in the run', '1')
    .option('--runner <kind>', 'fast (in-process nodes) or graph (LangGraph); same decisions', 'fast')
    .option('--no-memory', 'do not build or recall memories (the signal agent gets no recall)')
    .option('--memory-k <n>', 'neighbours per recall', '20')
    .option('--memory-horizon <bars>', 'outcome horizon of the memories built during the run', '12')
    .option('--out <dir>', 'output directory (created)')
    .option('--demo', `run on the real ETH/BTC 5m candles in examples/ with examples/risk-limits.json, writing to ./${DEMO.out}`)
    .option('--no-store', 'do not record the run in the database')
    .option('--json', 'print summary.json to stdout at the end')
    .action(async (o: BacktestCliOptions) => {
      await runBacktestCommand(o);
    });
}

async function runBacktestCommand(o: BacktestCliOptions): Promise<void> {
  const { AppError, canonicalJson, uuidv7 } = await import('@meridian/core');
  const m = await import('@meridian/market');
  const bt = await import('@meridian/backtest');
  const { validateRiskLimits, formatLimitProblems } = await import('@meridian/risk');
  const fs = await import('node:fs');
  const num = (s: string, flag: string, ok: (x: number) => boolean, what: string): number => {
    const x = Number(s);
    if (s.trim() !== '' && Number.isFinite(x) && ok(x)) return x;
    throw new AppError('VALIDATION', `${flag} must be ${what}, got "${s}"`);
  };

  if (o.demo) {
    if (o.data.length > 0 || o.symbol.length > 0) throw new AppError('VALIDATION', '--demo brings its own data', { hint: 'drop --data/--symbol, or drop --demo' });
    o.data = [DEMO.data];
    o.symbol = [DEMO.symbol];
    o.timeframe ??= DEMO.timeframe;
    o.riskLimits ??= DEMO.limits;
    o.out ??= DEMO.out;
  }
  if (o.out === undefined) throw new AppError('VALIDATION', 'missing --out DIR', { hint: 'name the directory to write the results to, e.g. --out ./backtest-out' });
  if (o.timeframe === undefined) throw new AppError('VALIDATION', 'missing --timeframe', { hint: 'give the bar size of the candles, e.g. --timeframe 5m' });
  if (o.symbol.length === 0) throw new AppError('VALIDATION', 'missing --symbol', { hint: 'name the market, e.g. --symbol BTC/USDT (with --data FILE, or stored candles)' });
  if (o.data.length > 0 && o.data.length !== o.symbol.length)
    throw new AppError('VALIDATION', `${o.data.length} --data file(s) but ${o.symbol.length} --symbol(s)`, { hint: 'give one --symbol per --data, in the same order' });
  const timeframe = m.parseTimeframe(o.timeframe);
  const exchange = m.parseExchangeId(o.exchange);
  const symbols = o.symbol.map((s) => m.parseSymbol(s));
  const capital = num(o.capital, '--capital', (x) => x > 0, 'a positive number');
  const feeBps = num(o.feeBps, '--fee-bps', (x) => x >= 0 && x < 10_000, 'a number of basis points in [0, 10000)');
  const slippageBps = num(o.slippageBps, '--slippage-bps', (x) => x >= 0 && x < 10_000, 'a number of basis points in [0, 10000)');
  const seed = num(o.seed, '--seed', (x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff, 'a whole number between 0 and 4294967295');
  const memoryK = num(o.memoryK, '--memory-k', (x) => Number.isInteger(x) && x >= 1 && x <= 1000, 'a whole number between 1 and 1000');
  const horizon = num(o.memoryHorizon, '--memory-horizon', (x) => Number.isInteger(x) && x >= 1, 'a whole number of bars ≥ 1');
  if (o.runner !== 'fast' && o.runner !== 'graph') throw new AppError('VALIDATION', `--runner must be fast or graph, got "${o.runner}"`);
  const from = o.from === undefined ? null : m.parseTimeArg(o.from, '--from');
  const to = o.to === undefined ? null : m.parseTimeArg(o.to, '--to');
  if (from !== null && to !== null && !(from < to)) throw new AppError('VALIDATION', `--from must be before --to`);
  const window = { from, to };

  let limits = { version: 0, limits: { schemaVersion: 1 as const, allowedSymbols: [] as string[], requireStopLoss: false } as RiskLimits };
  if (o.riskLimits !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(o.riskLimits, 'utf8'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new AppError(code === 'ENOENT' ? 'NOT_FOUND' : 'VALIDATION', `cannot read risk limits ${o.riskLimits}: ${(e as Error).message}`, { hint: 'pass a JSON file like examples/risk-limits.json' });
    }
    const v = validateRiskLimits(raw);
    if (!v.ok) throw new AppError('VALIDATION', `invalid risk limits in ${o.riskLimits}: ${formatLimitProblems(v.error)}`, { hint: 'see examples/risk-limits.md' });
    limits = { version: 1, limits: v.value };
  }

  // candles: files, or the store
  const loaded: { symbol: string; l: Awaited<ReturnType<typeof bt.loadSeriesFile>> }[] = [];
  if (o.data.length > 0) {
    for (let i = 0; i < o.data.length; i++) loaded.push({ symbol: symbols[i]!, l: await bt.loadSeriesFile(o.data[i]!, timeframe, window) });
  } else {
    await withDb(async (db) => {
      const store = new m.DbCandleStore(db);
      for (const symbol of symbols) {
        const l = await bt.loadSeriesFromStore(store, { exchange, symbol, timeframe }, window);
        if (l.bars.length === 0)
          throw new AppError('NOT_FOUND', `no stored ${exchange} ${symbol} ${timeframe} candles${from !== null || to !== null ? ' in the requested window' : ''}`, {
            hint: 'import them with `meridian data import FILE --symbol … --timeframe …`, or pass --data FILE',
          });
        loaded.push({ symbol, l });
      }
    });
  }
  const series = loaded.map(({ symbol, l }) => {
    if (l.bars.length === 0) throw new AppError('VALIDATION', `no candles for ${symbol} in the requested window`, { hint: 'check --from/--to against the data' });
    return { exchange, symbol, timeframe, bars: l.bars, market: bt.defaultMarketInfo(symbol, { capital, minPrice: bt.minLow(l.bars) }), source: l.source };
  });

  const memorySettings = { enabled: o.memory, k: memoryK, scope: 'same-symbol' as const, horizonBars: horizon };
  const config = { series, timeframe, from, to, capital, feeBps, slippageBps, limits, seed, memory: memorySettings };
  // the run's memory is built and recalled on a second thread, ahead of the replay (it depends only on the candles)
  const store = o.memory ? new bt.BackgroundMemory() : null;
  const runner = bt.createDecisionRunner({
    kind: o.runner,
    memory: store === null ? null : { recaller: store, k: memoryK, scope: 'same-symbol', horizonBars: horizon },
  });

  const tty = Boolean(process.stdout.isTTY && process.stderr.isTTY);
  const bar = tty ? progressBar() : null;
  const startedAt = Date.now();
  const outDir = path.resolve(o.out);
  const result = await bt.runBacktest(config, {
    runner,
    memory: store,
    outDir,
    ...(bar ? { onProgress: (done: number, total: number) => bar(done / total, `${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} bars`) } : {}),
  });
  bar?.done();
  await runner.close?.();

  if (o.store) {
    // the run's record for the dashboard; the row id is fresh (a rerun is another run), its runScope is in params
    await withDb(async (db) => {
      const { createBacktestRun, finishBacktestRun } = await import('@meridian/db');
      const id = uuidv7();
      const params = JSON.parse(canonicalJson({ ...bt.effectiveConfig(config), runScope: result.runScope, runner: o.runner })) as unknown;
      await createBacktestRun(db, { id, params, outDir, createdAt: startedAt });
      await finishBacktestRun(db, id, { status: 'completed', summary: JSON.parse(bt.summaryJson(result.summary)) as unknown, finishedAt: Date.now() });
    });
  }

  if (o.json) process.stdout.write(bt.summaryJson(result.summary));
  else if (tty) printSummary(result.summary, result.timing, outDir, Boolean(o.demo));
}

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('@meridian/config');
  const { openDb, migrate } = await import('@meridian/db');
  const db = await openDb(loadConfig().db, { applicationName: 'meridian backtest' });
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

function progressBar(): ((fraction: number, text: string) => void) & { done(): void } {
  const draw = (fraction: number, text: string): void => {
    const f = Math.max(0, Math.min(1, fraction));
    const width = 30;
    const full = Math.round(f * width);
    process.stderr.write(`\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}% ${text}\x1b[K`);
  };
  return Object.assign(draw, { done: () => process.stderr.write('\n') });
}

function printSummary(s: BacktestSummary, t: BacktestTiming, outDir: string, demo: boolean): void {
  const f = (x: number | null, d = 2) => (x === null ? '—' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: 0 }));
  const rows: [string, string][] = [
    ['symbols', `${s.symbols.join(', ')} ${s.timeframe}`],
    ['period', `${s.from} → ${s.to} (${s.bars.toLocaleString('en-US')} bars)`],
    ['equity', `${f(s.startingCapital)} → ${f(s.finalEquity)}`],
    ['return', `${f(s.totalReturnPct)}% (buy-and-hold ${f(s.buyAndHoldReturnPct)}%), CAGR ${f(s.cagrPct)}%`],
    ['risk', `max drawdown ${f(s.maxDrawdownPct)}%, volatility ${f(s.volatilityPct)}%, Sharpe ${f(s.sharpe)}, Sortino ${f(s.sortino)}`],
    ['trades', `${s.trades}, win rate ${f(s.winRatePct)}%, profit factor ${f(s.profitFactor)}, fees ${f(s.feesPaid)}`],
    ['decisions', `${s.decisions.toLocaleString('en-US')}: approved ${s.riskApproved}, resized ${s.riskResized}, rejected ${s.riskRejected}`],
    ['rejections', Object.entries(s.rejectionsByCheck).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'],
    ['speed', `${Math.round(t.barsPerSecond).toLocaleString('en-US')} bars/s (${t.runner} runner), ${f(t.wallMs / 1000)} s, peak ${f(t.peakRssMiB, 0)} MiB`],
    ['output', `${outDir}${demo ? ' — open report.html in a browser' : ''}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
}
