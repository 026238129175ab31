import type { Timeframe } from '@meridian/contracts';
import { TIMEFRAME_MS, isTimeframe } from '@meridian/contracts';
import { AppError } from '@meridian/core';

/**
 * The hot-path candle inside market code: no strings, no schema version. `ts` is the bar's
 * open time, UTC epoch ms, aligned to the timeframe. The `Candle` contract is for boundaries.
 */
export interface Bar {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** Which stored series a set of bars belongs to. */
export interface SeriesKey {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
}

/** Parse a timeframe string from a person (CLI), with a message listing the valid ones. */
export function parseTimeframe(s: string): Timeframe {
  if (isTimeframe(s)) return s;
  throw new AppError('VALIDATION', `unknown timeframe "${s}"`, {
    hint: `use one of ${Object.keys(TIMEFRAME_MS).join(', ')}`,
  });
}

const SYMBOL_RE = /^[A-Z0-9]{1,20}\/[A-Z0-9]{1,20}(:[A-Z0-9]{1,20})?$/;

export function parseSymbol(s: string): string {
  if (SYMBOL_RE.test(s)) return s;
  throw new AppError('VALIDATION', `invalid symbol "${s}"`, { hint: 'use a ccxt unified symbol in capitals, such as BTC/USDT' });
}

const EXCHANGE_RE = /^[a-z0-9_]{2,32}$/;

export function parseExchangeId(s: string): string {
  if (EXCHANGE_RE.test(s)) return s;
  throw new AppError('VALIDATION', `invalid exchange id "${s}"`, { hint: 'use a lowercase ccxt exchange id such as binance' });
}
