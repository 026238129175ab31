import { TIMEFRAME_MS } from '@meridian/contracts';
import type { Bar, SeriesKey } from './bar.ts';
import { type BarColumns, type CandleStore, type SeriesSummary, type UpsertCounts, seriesId } from './candle-store.ts';

/** In-process CandleStore with the same upsert semantics as the database one (tests, dry runs). */
export class MemoryCandleStore implements CandleStore {
  readonly #series = new Map<string, { key: SeriesKey; bars: Map<number, Bar> }>();

  async upsert(key: SeriesKey, batch: BarColumns): Promise<UpsertCounts> {
    const id = seriesId(key);
    let s = this.#series.get(id);
    if (!s) {
      s = { key: { exchange: key.exchange, symbol: key.symbol, timeframe: key.timeframe }, bars: new Map() };
      this.#series.set(id, s);
    }
    let inserted = 0;
    let updated = 0;
    let unchanged = 0;
    for (let i = 0; i < batch.ts.length; i++) {
      const b: Bar = {
        ts: batch.ts[i]!,
        open: batch.open[i]!,
        high: batch.high[i]!,
        low: batch.low[i]!,
        close: batch.close[i]!,
        volume: batch.volume[i]!,
      };
      const old = s.bars.get(b.ts);
      if (!old) inserted++;
      else if (old.open === b.open && old.high === b.high && old.low === b.low && old.close === b.close && old.volume === b.volume) {
        unchanged++;
        continue;
      } else updated++;
      s.bars.set(b.ts, b);
    }
    return { inserted, updated, unchanged };
  }

  async atomically<T>(fn: (store: CandleStore) => Promise<T>): Promise<T> {
    const saved = [...this.#series.entries()].map(([id, s]) => [id, { key: s.key, bars: new Map(s.bars) }] as const);
    try {
      return await fn(this);
    } catch (e) {
      this.#series.clear();
      for (const [id, s] of saved) this.#series.set(id, s);
      throw e;
    }
  }

  async lastTs(key: SeriesKey): Promise<number | null> {
    const s = this.#series.get(seriesId(key));
    if (!s || s.bars.size === 0) return null;
    let max = -Infinity;
    for (const t of s.bars.keys()) if (t > max) max = t;
    return max;
  }

  async range(key: SeriesKey, from: number, to: number): Promise<Bar[]> {
    const s = this.#series.get(seriesId(key));
    if (!s) return [];
    return [...s.bars.values()].filter((b) => b.ts >= from && b.ts < to).sort((a, b) => a.ts - b.ts);
  }

  async list(): Promise<SeriesSummary[]> {
    const out: SeriesSummary[] = [];
    for (const { key, bars } of this.#series.values()) {
      if (bars.size === 0) continue;
      const ts = [...bars.keys()].sort((a, b) => a - b);
      const tf = TIMEFRAME_MS[key.timeframe];
      let runs = 0;
      for (let i = 1; i < ts.length; i++) if (ts[i]! - ts[i - 1]! > tf) runs++;
      const first = ts[0]!;
      const last = ts[ts.length - 1]!;
      out.push({ ...key, first, last, count: ts.length, missingBars: (last - first) / tf + 1 - ts.length, gapRuns: runs });
    }
    return out.sort((a, b) => seriesId(a).localeCompare(seriesId(b)));
  }
}
