import type { Bar } from './bar.ts';
import { IndicatorSet, INDICATOR_WARMUP_BARS, type IndicatorSnapshot } from './indicators/indicator-set.ts';

/**
 * A fixed-length, normalised description of the market at one bar, for the memory (pgvector
 * `vector(32)`). Vectors of different FEATURE_VERSIONs are never compared: bump the version on
 * any change to the list, an order, a scale or a clamp. docs/market.md documents each feature.
 *
 * Every value is finite and roughly in [−1, 1]: scale-free inputs (returns divided by realised
 * volatility, prices relative to bands/averages) are divided by a fixed scale and clamped.
 * During warm-up (`ready` false) missing inputs become 0.
 */
export const FEATURE_VERSION = 1;
export const FEATURE_DIM = 32;
export const FEATURE_WARMUP_BARS = INDICATOR_WARMUP_BARS;

export const FEATURE_NAMES = [
  'ret_1',
  'ret_3',
  'ret_6',
  'ret_12',
  'ret_24',
  'ret_48',
  'vol_ratio_14_100',
  'atr_pct',
  'rsi_14',
  'macd_hist',
  'macd_line',
  'adx_14',
  'di_spread',
  'bb_percent_b',
  'bb_width',
  'stoch_k',
  'stoch_d',
  'volume_z_20',
  'volume_rel_100',
  'obv_flow_20',
  'range_pos_20',
  'range_pos_100',
  'close_z_50',
  'dist_ema_20',
  'dist_ema_50',
  'dist_sma_200',
  'ema_20_50_spread',
  'body',
  'upper_wick',
  'lower_wick',
  'range_atr',
  'up_share_20',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

const HORIZONS = [1, 3, 6, 12, 24, 48] as const;
const CLOSE_RING = 64; // ≥ largest horizon + 1, a power of two for cheap wrap-around
const FLOW_N = 20;

function clamp(x: number, lim: number): number {
  if (x !== x) return 0; // NaN (warm-up) → neutral
  return x > lim ? lim : x < -lim ? -lim : x;
}

export interface FeatureVector {
  readonly version: number;
  readonly ts: number;
  readonly ready: boolean;
  readonly values: Float64Array;
}

/**
 * Indicators + feature vector for one series, O(1) and allocation-free per bar.
 * `update` returns the engine's own Float64Array, overwritten by the next bar: copy it
 * (`Array.from`, `.slice()`) to keep it. `indicators` holds the matching IndicatorSnapshot.
 */
export class FeatureEngine {
  readonly version = FEATURE_VERSION;
  readonly values = new Float64Array(FEATURE_DIM);
  readonly #set = new IndicatorSet();
  readonly #closes = new Float64Array(CLOSE_RING);
  readonly #obvRing = new Float64Array(FLOW_N + 1);
  readonly #volRing = new Float64Array(FLOW_N);
  readonly #upRing = new Uint8Array(FLOW_N);
  #volSum = 0;
  #upCount = 0;
  #volMean100 = 0;
  #n = 0;
  #prevClose = NaN;

  get indicators(): IndicatorSnapshot {
    return this.#set.snapshot;
  }

  get ready(): boolean {
    return this.#n >= FEATURE_WARMUP_BARS;
  }

  get bars(): number {
    return this.#n;
  }

  update(bar: Bar): Float64Array {
    const s = this.#set.update(bar);
    const f = this.values;
    const n = this.#n;
    const close = bar.close;
    const closes = this.#closes;
    closes[n & (CLOSE_RING - 1)] = close;

    // volatility scale for returns: long realised vol, falling back to the short one in warm-up
    let vol = s.rv100;
    if (!(vol > 0)) vol = s.rv14;
    if (!(vol > 0)) vol = NaN;
    for (let h = 0; h < HORIZONS.length; h++) {
      const k = HORIZONS[h]!;
      const past = n >= k ? closes[(n - k) & (CLOSE_RING - 1)]! : NaN;
      f[h] = clamp(Math.log(close / past) / (vol * Math.sqrt(k)) / 4, 1);
    }
    f[6] = clamp(Math.log(s.rv14 / s.rv100) / 2, 1);
    f[7] = clamp(((s.atr14 / close) / (vol * 2)) - 0.5, 1);
    f[8] = clamp((s.rsi14 - 50) / 50, 1);
    f[9] = clamp(s.macdHist / (close * vol) / 2, 1);
    f[10] = clamp(s.macd / (close * vol) / 8, 1);
    f[11] = clamp(s.adx14 / 50 - 1, 1);
    f[12] = clamp((s.pdi14 - s.mdi14) / 50, 1);
    f[13] = clamp(2 * s.bbPercentB - 1, 1.5) / 1.5;
    f[14] = clamp(Math.log(s.bbBandwidth / (4 * vol * Math.sqrt(20) * 0.6)), 1.5) / 1.5;
    f[15] = clamp((s.stochK - 50) / 50, 1);
    f[16] = clamp((s.stochD - 50) / 50, 1);
    f[17] = clamp(s.volumeZ20 / 4, 1);

    // volume relative to its 100-bar exponential mean (log ratio)
    const v = bar.volume;
    this.#volMean100 = n === 0 ? v : this.#volMean100 + (v - this.#volMean100) * (2 / 101);
    f[18] = clamp(Math.log((v + 1e-12) / (this.#volMean100 + 1e-12)) / 3, 1);

    // OBV change over 20 bars as a share of the volume traded in them: −1 all down … 1 all up
    const obvRing = this.#obvRing;
    const volRing = this.#volRing;
    const oi = n % (FLOW_N + 1);
    obvRing[oi] = s.obv;
    const vi = n % FLOW_N;
    this.#volSum += v - volRing[vi]!;
    volRing[vi] = v;
    if (n >= FLOW_N) {
      const obvThen = obvRing[(n - FLOW_N) % (FLOW_N + 1)]!;
      f[19] = this.#volSum > 0 ? clamp((s.obv - obvThen) / this.#volSum, 1) : 0;
    } else f[19] = 0;

    f[20] = s.high20 > s.low20 ? clamp((2 * (close - s.low20)) / (s.high20 - s.low20) - 1, 1) : 0;
    f[21] = s.high100 > s.low100 ? clamp((2 * (close - s.low100)) / (s.high100 - s.low100) - 1, 1) : 0;
    f[22] = clamp(s.closeZ50 / 3, 1);
    f[23] = clamp(Math.log(close / s.ema20) / (vol * Math.sqrt(20)) / 2, 1);
    f[24] = clamp(Math.log(close / s.ema50) / (vol * Math.sqrt(50)) / 2, 1);
    f[25] = clamp(Math.log(close / s.sma200) / (vol * Math.sqrt(200)) / 2, 1);
    f[26] = clamp(Math.log(s.ema20 / s.ema50) / (vol * Math.sqrt(50)) / 2, 1);

    const range = bar.high - bar.low;
    if (range > 0) {
      f[27] = clamp((close - bar.open) / range, 1);
      f[28] = clamp((2 * (bar.high - Math.max(bar.open, close))) / range - 1, 1);
      f[29] = clamp((2 * (Math.min(bar.open, close) - bar.low)) / range - 1, 1);
    } else {
      f[27] = 0;
      f[28] = -1;
      f[29] = -1;
    }
    f[30] = clamp(range / s.atr14 / 2 - 0.5, 1);

    // share of up-closes in the last 20 bars, centred: −1 all down … 1 all up
    const up = close > this.#prevClose ? 1 : 0;
    this.#upCount += up - this.#upRing[vi]!;
    this.#upRing[vi] = up;
    f[31] = n >= FLOW_N ? (2 * this.#upCount) / FLOW_N - 1 : 0;

    this.#prevClose = close;
    this.#n = n + 1;
    return f;
  }

  /** A copy of the current vector with its version and time, to store or send. */
  vector(): FeatureVector {
    return { version: FEATURE_VERSION, ts: this.#set.snapshot.ts, ready: this.ready, values: this.values.slice() };
  }
}

/** Batch form: the feature vectors of every bar (row i at [i·FEATURE_DIM, (i+1)·FEATURE_DIM)). */
export function batchFeatures(bars: readonly Bar[]): Float64Array {
  const eng = new FeatureEngine();
  const out = new Float64Array(bars.length * FEATURE_DIM);
  for (let i = 0; i < bars.length; i++) out.set(eng.update(bars[i]!), i * FEATURE_DIM);
  return out;
}

/** Guard for consumers comparing vectors (the memory): versions must match. */
export function assertComparable(a: { version: number }, b: { version: number }): void {
  if (a.version !== b.version)
    throw new RangeError(`feature vectors of version ${a.version} and ${b.version} cannot be compared; rebuild the older ones`);
}
