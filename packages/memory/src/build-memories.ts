import { TIMEFRAME_MS } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import { type CandleStore, FEATURE_VERSION, FeatureEngine, type SeriesKey } from '@meridian/market';
import { MemoryBuilder } from './memory-builder.ts';
import type { MemoryStore, Situation } from './memory-store.ts';

export interface BuildMemoriesOptions {
  readonly candles: CandleStore;
  readonly memory: MemoryStore;
  readonly key: SeriesKey;
  readonly horizonBars: number;
  /** bars read per batch (default 20,000) */
  readonly batchBars?: number;
  readonly onProgress?: (p: BuildProgress) => void;
}

export interface BuildProgress {
  readonly bars: number;
  /** open time of the last bar processed, and of the first and last stored */
  readonly ts: number;
  readonly first: number;
  readonly last: number;
}

export interface BuildReport {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: string;
  readonly featureVersion: number;
  readonly horizonBars: number;
  /** candles read */
  readonly bars: number;
  /** bars without a situation: the FeatureEngine's warm-up */
  readonly warmupBars: number;
  readonly situations: number;
  /** new memories */
  readonly inserted: number;
  /** memories stored earlier without their outcome that got it now */
  readonly resolved: number;
  /** the last horizonBars situations, stored without an outcome until more candles arrive */
  readonly unresolved: number;
  /** open time of the first and last candle */
  readonly first: number | null;
  readonly last: number | null;
}

/**
 * Build memories from stored candles: every closed bar through the FeatureEngine and the
 * MemoryBuilder, written in batches. A situation is written once its outcome is known (one
 * INSERT with the outcome, no later UPDATE); the last `horizonBars` go in unresolved. Running
 * it again inserts nothing and only resolves what new candles now complete: idempotent.
 * The features need the whole history (indicator warm-up), so every run reads from the first bar.
 */
export async function buildMemories(o: BuildMemoriesOptions): Promise<BuildReport> {
  const { key, horizonBars } = o;
  const tf = TIMEFRAME_MS[key.timeframe];
  const summary = (await o.candles.list()).find((s) => s.exchange === key.exchange && s.symbol === key.symbol && s.timeframe === key.timeframe);
  const base = { exchange: key.exchange, symbol: key.symbol, timeframe: key.timeframe, featureVersion: FEATURE_VERSION, horizonBars };
  if (!summary) {
    throw new AppError('NOT_FOUND', `no ${key.timeframe} candles stored for ${key.exchange} ${key.symbol}`, {
      hint: 'import or fetch them first (`meridian data import …` / `meridian data fetch …`); `meridian data ls` lists what is stored',
    });
  }
  const eng = new FeatureEngine();
  const builder = new MemoryBuilder({ ...key, featureVersion: FEATURE_VERSION, horizonBars });
  const pending = new Map<number, Situation>();
  const step = (o.batchBars ?? 20_000) * tf;
  let bars = 0;
  let warmupBars = 0;
  let situations = 0;
  let inserted = 0;
  let resolved = 0;
  for (let from = summary.first; from <= summary.last; from += step) {
    const chunk = await o.candles.range(key, from, Math.min(from + step, summary.last + 1));
    const ready: Situation[] = [];
    for (const bar of chunk) {
      const f = eng.update(bar);
      const s = builder.onBar(bar, eng.ready ? f : null);
      bars++;
      if (s.situation) {
        situations++;
        pending.set(s.situation.ts, s.situation);
      } else warmupBars++;
      if (s.outcome) {
        const sit = pending.get(s.outcome.ts);
        if (sit) {
          pending.delete(s.outcome.ts);
          const { forwardReturn, mfe, mae, resolvedAt } = s.outcome;
          ready.push({ ...sit, outcome: { forwardReturn, mfe, mae, resolvedAt } });
        }
      }
    }
    if (ready.length > 0) {
      const r = await o.memory.store(ready);
      inserted += r.inserted;
      resolved += r.resolved;
    }
    const lastBar = chunk.at(-1);
    if (lastBar) o.onProgress?.({ bars, ts: lastBar.ts, first: summary.first, last: summary.last });
  }
  const open = [...pending.values()];
  if (open.length > 0) inserted += (await o.memory.store(open)).inserted;
  return { ...base, bars, warmupBars, situations, inserted, resolved, unresolved: open.length, first: summary.first, last: summary.last };
}
