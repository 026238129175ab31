import type { WindowBar } from '@meridian/agents';
import { TIMEFRAME_MS, type Timeframe } from '@meridian/contracts';
import { FEATURE_VERSION, FEATURE_WARMUP_BARS, FeatureEngine, type Bar } from '@meridian/market';
import { MemoryBuilder, type BuilderStep } from '@meridian/memory';

export interface SeriesKey {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
}

export const seriesName = (k: SeriesKey): string => `${k.exchange}|${k.symbol}|${k.timeframe}`;

/** bars of history shown to the analysis agent (the backtest's ANALYSIS_WINDOW) */
export const ANALYSIS_WINDOW = 50;

export interface BarStep {
  /** the engine's feature array (overwritten by the next bar), or null while the indicators warm up */
  readonly features: Float64Array | null;
  /** the memory situation and the outcome this bar completes (null when memory is off) */
  readonly memory: BuilderStep | null;
}

/**
 * The incremental state of one series in this worker: the FeatureEngine (indicators + feature
 * vector), the analysis window and the MemoryBuilder. Bars must come in time order, each once.
 * The database is the truth: a worker whose state is behind (another worker decided the bars in
 * between) or missing catches up from stored candles — see CandleDecider.
 */
export class SeriesState {
  readonly key: SeriesKey;
  readonly tf: number;
  readonly engine = new FeatureEngine();
  readonly window: WindowBar[] = [];
  readonly builder: MemoryBuilder | null;
  /** open time of the last bar fed, or null */
  lastTs: number | null = null;

  constructor(key: SeriesKey, horizonBars: number | null) {
    this.key = key;
    this.tf = TIMEFRAME_MS[key.timeframe];
    this.builder = horizonBars === null ? null : new MemoryBuilder({ ...key, featureVersion: FEATURE_VERSION, horizonBars });
  }

  feed(bar: Bar): BarStep {
    if (this.lastTs !== null && bar.ts <= this.lastTs) throw new RangeError(`series ${seriesName(this.key)}: bar ${bar.ts} fed after ${this.lastTs}`);
    const values = this.engine.update(bar);
    const w: WindowBar = { ts: bar.ts, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume };
    this.window.push(w);
    if (this.window.length > ANALYSIS_WINDOW) this.window.shift();
    this.lastTs = bar.ts;
    const features = this.engine.ready ? values : null;
    return { features, memory: this.builder ? this.builder.onBar(bar, features) : null };
  }
}

/** bars read before the first decision of a series: the indicators' warm-up plus a margin for gaps */
export const WARMUP_BARS = FEATURE_WARMUP_BARS + 20;
