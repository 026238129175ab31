import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MarketInfoSchema, type Timeframe } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { parseExchangeId, parseSymbol, parseTimeArg, parseTimeframe } from '@meridian/market';
import { DEFAULT_WORKER_SETTINGS, type WorkerSettings } from './open-worker.ts';

export const USAGE = `usage: worker [--runner graph|fast] [--concurrency N] [--capital CUR=AMOUNT[,CUR=AMOUNT…]]
              [--no-memory] [--memory-k N] [--horizon BARS] [--max-catch-up BARS]
              [--markets FILE.json] [--expire-approvals-ms N] [--no-checkpoint-runs]
              [--replay --symbol S --timeframe TF [--exchange binance] [--from T] [--to T]]  (embedded mode)`;

/**
 * `--replay` (embedded mode only): the worker publishes the stored candles of one series, in time order,
 * into its own in-process queue, decides them, prints a summary and exits — the embedded counterpart of
 * `meridian feed replay` (whose events go through Redis to worker processes).
 */
export interface WorkerReplay {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  /** epoch ms, inclusive; null: the first stored */
  readonly from: number | null;
  /** epoch ms, exclusive; null: after the last stored */
  readonly to: number | null;
}

function time(v: string | undefined, flag: string): number | null {
  return v === undefined ? null : parseTimeArg(v, `--${flag}`);
}
function wholeNumber(v: string | undefined, flag: string, def: number, min: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new AppError('VALIDATION', `--${flag} must be a whole number ≥ ${min}, got "${v}"`);
  return n;
}

/** "USDT=100000,BTC=2" → { USDT: 100000, BTC: 2 } */
export function parseCapital(s: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of s.split(',')) {
    const [cur = '', amount = ''] = part.split('=').map((x) => x.trim());
    const n = Number(amount);
    if (!/^[A-Z0-9]{1,20}$/.test(cur) || amount === '' || !Number.isFinite(n) || n < 0)
      throw new AppError('VALIDATION', `--capital must be CURRENCY=AMOUNT pairs separated by commas (e.g. USDT=100000,BTC=2), got "${part}"`);
    out[cur] = n;
  }
  return out;
}

/** Worker settings from command-line flags (the environment is read by packages/config), and the embedded replay if asked for. */
export function parseWorkerFlags(argv: readonly string[]): WorkerSettings & { readonly replay: WorkerReplay | null } {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        runner: { type: 'string' },
        concurrency: { type: 'string' },
        capital: { type: 'string' },
        'no-memory': { type: 'boolean' },
        'memory-k': { type: 'string' },
        horizon: { type: 'string' },
        'max-catch-up': { type: 'string' },
        markets: { type: 'string' },
        'expire-approvals-ms': { type: 'string' },
        'no-checkpoint-runs': { type: 'boolean' },
        replay: { type: 'boolean' },
        symbol: { type: 'string' },
        timeframe: { type: 'string' },
        exchange: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (e) {
    throw new AppError('VALIDATION', (e as Error).message, { hint: USAGE });
  }
  const str = (k: string) => (typeof values[k] === 'string' ? values[k] : undefined);
  const runner = str('runner') ?? DEFAULT_WORKER_SETTINGS.runner;
  if (runner !== 'graph' && runner !== 'fast') throw new AppError('VALIDATION', `--runner must be graph or fast, got "${runner}"`);
  const d = DEFAULT_WORKER_SETTINGS;
  const markets = str('markets');
  const seriesFlags = ['symbol', 'timeframe', 'exchange', 'from', 'to'].filter((k) => str(k) !== undefined);
  let replay: WorkerReplay | null = null;
  if (values['replay'] === true) {
    const symbol = str('symbol');
    const timeframe = str('timeframe');
    if (symbol === undefined || timeframe === undefined) throw new AppError('VALIDATION', '--replay needs --symbol and --timeframe (the stored series to replay)', { hint: USAGE });
    // checked here, before the worker opens anything: a mistyped series fails with what is wrong
    replay = { exchange: parseExchangeId(str('exchange') ?? 'binance'), symbol: parseSymbol(symbol), timeframe: parseTimeframe(timeframe), from: time(str('from'), 'from'), to: time(str('to'), 'to') };
  } else if (seriesFlags.length > 0) {
    throw new AppError('VALIDATION', `--${seriesFlags[0]} only goes with --replay`, { hint: USAGE });
  }
  return {
    replay,
    runner,
    concurrency: wholeNumber(str('concurrency'), 'concurrency', d.concurrency, 1),
    capital: str('capital') === undefined ? d.capital : parseCapital(str('capital') as string),
    memory:
      values['no-memory'] === true
        ? null
        : {
            k: wholeNumber(str('memory-k'), 'memory-k', d.memory?.k ?? 20, 1),
            horizonBars: wholeNumber(str('horizon'), 'horizon', d.memory?.horizonBars ?? 12, 1),
            scope: 'same-symbol',
          },
    maxCatchUpBars: wholeNumber(str('max-catch-up'), 'max-catch-up', d.maxCatchUpBars, 1),
    markets: markets === undefined ? [] : readMarkets(markets),
    expireApprovalsEveryMs: wholeNumber(str('expire-approvals-ms'), 'expire-approvals-ms', d.expireApprovalsEveryMs, 0),
    checkpointRuns: values['no-checkpoint-runs'] !== true,
  };
}

function readMarkets(file: string) {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new AppError('VALIDATION', `cannot read --markets ${file}: ${(e as Error).message}`, { hint: 'give a JSON array of MarketInfo objects' });
  }
  const r = MarketInfoSchema.array().safeParse(raw);
  if (!r.success) throw new AppError('VALIDATION', `--markets ${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}
