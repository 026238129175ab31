import { AppError, type Clock, systemClock } from '@meridian/core';
import { TIMEFRAME_MS } from '@meridian/contracts';
import type { Exchange } from 'ccxt';
import type { Bar, SeriesKey } from './bar.ts';
import { type CandleStore, emptyColumns, pushBar } from './candle-store.ts';
import { type CandleIssue, type GapReport, CandleSequence, checkBar } from './candle-validation.ts';

/**
 * Download candles with ccxt's public `fetchOHLCV`, page by page, into the store.
 * - resumes after the newest stored candle (or starts at `since`);
 * - stops at `until` (exclusive) or at the last *closed* candle: the still-open one is dropped;
 * - ccxt's rate limiter spaces the calls; network errors, 429/418 (rate limit), 5xx and timeouts
 *   are retried with exponential backoff; anything else (bad symbol, …) fails at once;
 * - every page is validated like an import; a bad candle from the exchange stops the download.
 */
export interface FetchOptions {
  readonly exchange: Exchange;
  readonly key: SeriesKey;
  readonly store: CandleStore;
  readonly since: number;
  readonly until?: number;
  readonly pageLimit?: number;
  readonly clock?: Clock;
  readonly retry?: RetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly onProgress?: (p: FetchProgress) => void;
  readonly onRetry?: (r: { attempt: number; delayMs: number; error: string }) => void;
}

export interface RetryPolicy {
  /** attempts per page, including the first */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 1000, maxDelayMs: 30_000 };

export interface FetchProgress {
  /** open time of the newest candle stored so far */
  readonly ts: number;
  readonly from: number;
  readonly to: number;
  readonly fetched: number;
}

export interface FetchReport {
  readonly from: number;
  /** exclusive end actually covered: the open time after the last closed candle asked for */
  readonly to: number;
  readonly resumedFrom: number | null;
  readonly pages: number;
  readonly fetched: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly droppedOpen: number;
  readonly retries: number;
  readonly gaps: GapReport;
}

const RETRYABLE = ['NetworkError', 'RateLimitExceeded', 'DDoSProtection', 'ExchangeNotAvailable', 'OnMaintenance', 'RequestTimeout'];

/** true for ccxt errors worth retrying: the whole NetworkError branch of ccxt's hierarchy */
export function isRetryableExchangeError(e: unknown): boolean {
  let proto: unknown = e;
  while (proto && typeof proto === 'object') {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name;
    if (name && RETRYABLE.includes(name)) return true;
    proto = Object.getPrototypeOf(proto);
  }
  return false;
}

export function backoffDelay(attempt: number, p: RetryPolicy, random: () => number = Math.random): number {
  const exp = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random()); // "equal jitter": never below half the step
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function fetchCandles(o: FetchOptions): Promise<FetchReport> {
  const tf = TIMEFRAME_MS[o.key.timeframe];
  const clock = o.clock ?? systemClock;
  const retry = o.retry ?? DEFAULT_RETRY;
  const sleep = o.sleep ?? defaultSleep;
  const limit = o.pageLimit ?? 1000;
  const since = Math.ceil(o.since / tf) * tf;
  const lastClosedEnd = Math.floor(clock.now() / tf) * tf; // open time of the still-open candle
  const to = Math.min(o.until === undefined ? Infinity : Math.ceil(o.until / tf) * tf, lastClosedEnd);
  const stored = await o.store.lastTs(o.key);
  const resumeAt = stored !== null && stored + tf > since ? stored + tf : since;
  const seq = new CandleSequence(tf);
  let cursor = resumeAt;
  let pages = 0;
  let fetched = 0;
  let inserted = 0;
  let updated = 0;
  let unchanged = 0;
  let droppedOpen = 0;
  let retries = 0;

  while (cursor < to) {
    let rows: number[][] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        // no `until` unless asked: the exchange then sends the still-open candle too, which is dropped below
        const params = o.until !== undefined ? { until: to - 1 } : {};
        rows = (await o.exchange.fetchOHLCV(o.key.symbol, o.key.timeframe, cursor, limit, params)) as number[][];
        break;
      } catch (e) {
        if (!isRetryableExchangeError(e)) {
          throw new AppError('EXCHANGE_REJECTED', `${o.exchange.id} refused fetchOHLCV ${o.key.symbol} ${o.key.timeframe}: ${(e as Error).message}`, {
            hint: 'check the symbol and timeframe exist on this exchange',
            cause: e,
          });
        }
        if (attempt >= retry.maxAttempts) {
          throw new AppError('EXCHANGE_UNAVAILABLE', `${o.exchange.id} still failing after ${attempt} attempts: ${(e as Error).message}`, {
            hint: 'try again later; the download resumes from the last stored candle',
            cause: e,
          });
        }
        const delayMs = backoffDelay(attempt, retry);
        retries++;
        o.onRetry?.({ attempt, delayMs, error: `${(e as Error).constructor.name}: ${(e as Error).message.slice(0, 160)}` });
        await sleep(delayMs);
      }
    }
    pages++;
    const cols = emptyColumns();
    let newest = cursor - tf;
    for (const r of rows) {
      const bar: Bar = { ts: r[0]!, open: r[1]!, high: r[2]!, low: r[3]!, close: r[4]!, volume: r[5]! };
      if (bar.ts < cursor) continue; // the exchange may repeat the cursor candle
      if (bar.ts + tf > clock.now() || bar.ts >= lastClosedEnd) {
        droppedOpen++;
        continue;
      }
      if (bar.ts >= to) continue;
      const bad: CandleIssue | null = checkBar(bar, tf);
      const v = bad ?? seq.push(bar);
      if (v === 'duplicate') continue;
      if (v !== 'accept') {
        throw new AppError('DATA_INTEGRITY', `${o.exchange.id} sent an invalid ${o.key.symbol} candle at ${new Date(bar.ts).toISOString()}: ${v.field}: ${v.reason}`, {
          hint: 'nothing after the previous candle was stored; report it or import a corrected file',
        });
      }
      pushBar(cols, bar);
      newest = bar.ts;
    }
    fetched += cols.ts.length;
    if (cols.ts.length > 0) {
      const c = await o.store.upsert(o.key, cols);
      inserted += c.inserted;
      updated += c.updated;
      unchanged += c.unchanged;
      o.onProgress?.({ ts: newest, from: resumeAt, to, fetched });
    }
    // an empty page (or only the open candle) means the exchange has nothing newer
    if (newest < cursor) break;
    cursor = newest + tf;
  }
  return { from: resumeAt, to, resumedFrom: stored !== null && resumeAt > since ? resumeAt : null, pages, fetched, inserted, updated, unchanged, droppedOpen, retries, gaps: seq.gaps() };
}
