import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { TIMEFRAME_MS, type Timeframe } from '@meridian/contracts';
import { FEATURE_VERSION, FeatureEngine } from '@meridian/market';
import type { AnalysisInput, WindowBar } from './analysis-input.ts';

/**
 * Replays a candle series through the market FeatureEngine and yields the analysis input of every
 * bar, the way the orchestrator's fast runner feeds the agents. Used by the confidence fit
 * (scripts/fit-confidence.ts), the calibration test and the benchmark — not by the agents.
 */
export const REPLAY_WINDOW = 50;

export interface ReplaySeries {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly bars: readonly WindowBar[];
}

/** Parse a `timestamp,open,high,low,close,volume` CSV with ISO timestamps (the files in /work/shared/data). */
export function readCandleCsv(file: string): WindowBar[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: WindowBar[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.length === 0) continue;
    const [t, o, h, l, c, v] = line.split(',');
    const ts = Date.parse(t as string);
    if (!Number.isFinite(ts)) throw new Error(`${file}:${i + 1}: bad timestamp "${t}"`);
    out.push({ ts, open: Number(o), high: Number(h), low: Number(l), close: Number(c), volume: Number(v) });
  }
  return out;
}

/** Calls `visit(input, i)` for every bar once the indicators are warm (`from` bars in). */
export function replay(series: ReplaySeries, visit: (input: AnalysisInput, i: number) => void, from = 200): void {
  const engine = new FeatureEngine();
  const tfMs = TIMEFRAME_MS[series.timeframe];
  const bars = series.bars;
  for (let i = 0; i < bars.length; i++) {
    const bar = bars[i] as WindowBar;
    const features = engine.update(bar);
    if (i < from) continue;
    visit(
      {
        subject: { exchange: series.exchange, symbol: series.symbol, timeframe: series.timeframe, asOf: bar.ts + tfMs },
        window: bars.slice(Math.max(0, i + 1 - REPLAY_WINDOW), i + 1),
        indicators: engine.indicators,
        featureVersion: FEATURE_VERSION,
        features,
      },
      i,
    );
  }
}


/**
 * Did a trade entered at bar i's close reach its target before its stop within `horizon` bars?
 * A bar that touches both counts as the stop (pessimistic: the order inside a bar is unknown).
 * Returns null when fewer than `horizon` bars follow (outcome not known yet).
 */
export function targetBeforeStop(bars: readonly WindowBar[], i: number, long: boolean, stop: number, target: number, horizon: number): 0 | 1 | null {
  if (i + horizon >= bars.length) return null;
  for (let j = i + 1; j <= i + horizon; j++) {
    const b = bars[j] as WindowBar;
    if (long ? b.low <= stop : b.high >= stop) return 0;
    if (long ? b.high >= target : b.low <= target) return 1;
  }
  return 0;
}

/**
 * The real series the confidence model is fitted on and checked against: the repository's
 * copies (test/fixtures/candles) of the Binance candles in the project's shared data.
 */
export const CALIBRATION_DATA_DIR = fileURLToPath(new URL('../../../test/fixtures/candles/', import.meta.url));
export const CALIBRATION_SERIES = [
  { file: 'binance_ETH_BTC-5m.csv', symbol: 'ETH/BTC', timeframe: '5m' },
  { file: 'binance_LTC_BTC-5m.csv', symbol: 'LTC/BTC', timeframe: '5m' },
  { file: 'binance_ADA_BTC-5m.csv', symbol: 'ADA/BTC', timeframe: '5m' },
  { file: 'binance_XRP_ETH-1m.csv', symbol: 'XRP/ETH', timeframe: '1m' },
] as const;
