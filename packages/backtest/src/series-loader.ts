import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { TIMEFRAME_MS, type MarketInfo, type Timeframe } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { CandleSequence, checkBar, formatFromPath, readCandleFile, type Bar, type CandleFileInfo, type CandleStore, type GapReport } from '@meridian/market';

/**
 * Candles for a backtest, from a file or the candle store, validated with the same rules as
 * `meridian data import` (packages/market): a bad row stops the run naming file, line and field; an exact repeat
 * of the previous row is dropped; gaps are counted and never filled.
 */
export interface LoadedSeries {
  readonly bars: Bar[];
  readonly gaps: GapReport;
  readonly duplicates: number;
  /** what identifies the data in the config hash */
  readonly source: Record<string, string | number>;
}

export interface Window {
  /** inclusive open time, or null */
  readonly from: number | null;
  /** exclusive open time, or null */
  readonly to: number | null;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function loadSeriesFile(file: string, timeframe: Timeframe, w: Window): Promise<LoadedSeries> {
  const tf = TIMEFRAME_MS[timeframe];
  const info: CandleFileInfo = { format: formatFromPath(file), timestampFormat: null };
  const seq = new CandleSequence(tf);
  const bars: Bar[] = [];
  let duplicates = 0;
  const name = path.basename(file);
  const bad = (line: number, field: string, reason: string) =>
    new AppError('VALIDATION', `invalid candle at ${name}:${line}: ${field}: ${reason}`, {
      hint: `fix the row (or import the file with \`meridian data import --on-error skip\` and backtest from the store); the timeframe given was ${timeframe}`,
    });
  for await (const b of readCandleFile(file, info)) {
    for (let i = 0; i < b.n; i++) {
      const issue = b.issue[i];
      if (issue) throw bad(b.line[i]!, issue.field, issue.reason);
      const bar: Bar = { ts: b.ts[i]!, open: b.open[i]!, high: b.high[i]!, low: b.low[i]!, close: b.close[i]!, volume: b.volume[i]! };
      const c = checkBar(bar, tf);
      if (c) throw bad(b.line[i]!, c.field, c.reason);
      const v = seq.push(bar);
      if (v === 'duplicate') {
        duplicates++;
        continue;
      }
      if (v !== 'accept') throw bad(b.line[i]!, v.field, v.reason);
      if ((w.from === null || bar.ts >= w.from) && (w.to === null || bar.ts < w.to)) bars.push(bar);
    }
  }
  return { bars, gaps: seq.gaps(), duplicates, source: { kind: 'file', name, sha256: await sha256File(file) } };
}

export async function loadSeriesFromStore(store: CandleStore, key: { exchange: string; symbol: string; timeframe: Timeframe }, w: Window): Promise<LoadedSeries> {
  const bars = await store.range(key, w.from ?? 0, w.to ?? 8.64e15);
  // the stored rows are identified by their content: hash them like a file would be
  const h = createHash('sha256');
  for (const b of bars) h.update(`${b.ts},${b.open},${b.high},${b.low},${b.close},${b.volume}\n`);
  const seq = new CandleSequence(TIMEFRAME_MS[key.timeframe]);
  for (const b of bars) seq.push(b);
  return { bars, gaps: seq.gaps(), duplicates: 0, source: { kind: 'store', exchange: key.exchange, sha256: h.digest('hex') } };
}

/**
 * Trading rules when the data comes without them (files, synthetic data): no minimums; the price step is the
 * power of ten at most a millionth of the lowest price; the quantity step is the power of ten that splits the
 * largest affordable position (capital / lowest price) into at most a million steps. Coarser than an exchange's
 * finest step on purpose: core's floorToStep / execution's onStep lose the grid once quantity/step passes ~10^7
 * (binary noise in the division), and the paper exchange would then refuse valid orders.
 */
export function defaultMarketInfo(symbol: string, o: { readonly capital: number; readonly minPrice: number }): MarketInfo {
  const [base = symbol, rest = ''] = symbol.split('/');
  const quote = rest.split(':')[0] ?? rest;
  if (!(o.capital > 0) || !(o.minPrice > 0)) throw new AppError('VALIDATION', `market rules for ${symbol} need a positive capital and price`);
  const pow10 = (e: number) => Number(`1e${e}`);
  const qtyStep = pow10(Math.ceil(Math.log10(o.capital / o.minPrice / 1e6)));
  const priceStep = pow10(Math.floor(Math.log10(o.minPrice * 1e-6)));
  return { symbol, base, quote, minQty: 0, qtyStep, priceStep, minNotional: 0 };
}

/** the lowest low of a series (for defaultMarketInfo) */
export function minLow(bars: readonly Bar[]): number {
  let m = Infinity;
  for (const b of bars) if (b.low < m) m = b.low;
  return m;
}
