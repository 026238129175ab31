import { Adx } from './adx.ts';
import { Atr } from './atr.ts';
import { Bollinger } from './bollinger.ts';
import { Ema } from './ema.ts';
import { Macd } from './macd.ts';
import { Obv } from './obv.ts';
import { RealisedVolatility } from './realised-volatility.ts';
import { Rsi } from './rsi.ts';
import { Sma } from './sma.ts';
import { Stochastic } from './stochastic.ts';
import { ZScore } from './zscore.ts';

/**
 * Batch forms of each indicator: arrays in, one Float64Array per output (NaN during warm-up),
 * index-aligned with the input. They run the incremental classes, so the numbers are the same
 * as feeding the bars one by one — by construction, and checked in tests.
 */
export interface Hlcv {
  readonly high: ArrayLike<number>;
  readonly low: ArrayLike<number>;
  readonly close: ArrayLike<number>;
  readonly volume?: ArrayLike<number>;
}

function map1(values: ArrayLike<number>, step: (x: number) => number): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = step(values[i]!);
  return out;
}

export const smaBatch = (v: ArrayLike<number>, period: number): Float64Array => {
  const x = new Sma(period);
  return map1(v, (c) => x.update(c));
};
export const emaBatch = (v: ArrayLike<number>, period: number): Float64Array => {
  const x = new Ema(period);
  return map1(v, (c) => x.update(c));
};
export const rsiBatch = (v: ArrayLike<number>, period = 14): Float64Array => {
  const x = new Rsi(period);
  return map1(v, (c) => x.update(c));
};
export const zscoreBatch = (v: ArrayLike<number>, period = 20): Float64Array => {
  const x = new ZScore(period);
  return map1(v, (c) => x.update(c));
};
export const realisedVolatilityBatch = (v: ArrayLike<number>, period = 20): Float64Array => {
  const x = new RealisedVolatility(period);
  return map1(v, (c) => x.update(c));
};

export function macdBatch(v: ArrayLike<number>, fast = 12, slow = 26, signal = 9): { macd: Float64Array; signal: Float64Array; histogram: Float64Array } {
  const x = new Macd(fast, slow, signal);
  const n = v.length;
  const out = { macd: new Float64Array(n), signal: new Float64Array(n), histogram: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const h = x.update(v[i]!);
    out.histogram[i] = h;
    out.macd[i] = x.macd;
    out.signal[i] = h === h ? x.signal : NaN;
  }
  return out;
}

export function bollingerBatch(v: ArrayLike<number>, period = 20, k = 2): { middle: Float64Array; upper: Float64Array; lower: Float64Array; percentB: Float64Array } {
  const x = new Bollinger(period, k);
  const n = v.length;
  const out = { middle: new Float64Array(n), upper: new Float64Array(n), lower: new Float64Array(n), percentB: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    out.percentB[i] = x.update(v[i]!);
    out.middle[i] = x.middle;
    out.upper[i] = x.upper;
    out.lower[i] = x.lower;
  }
  return out;
}

export function atrBatch(b: Hlcv, period = 14): Float64Array {
  const x = new Atr(period);
  const out = new Float64Array(b.close.length);
  for (let i = 0; i < out.length; i++) out[i] = x.update(b.high[i]!, b.low[i]!, b.close[i]!);
  return out;
}

export function adxBatch(b: Hlcv, period = 14): { adx: Float64Array; pdi: Float64Array; mdi: Float64Array } {
  const x = new Adx(period);
  const n = b.close.length;
  const out = { adx: new Float64Array(n), pdi: new Float64Array(n), mdi: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    out.adx[i] = x.update(b.high[i]!, b.low[i]!, b.close[i]!);
    out.pdi[i] = x.pdi;
    out.mdi[i] = x.mdi;
  }
  return out;
}

export function stochasticBatch(b: Hlcv, period = 14, signal = 3): { k: Float64Array; d: Float64Array } {
  const x = new Stochastic(period, signal);
  const n = b.close.length;
  const out = { k: new Float64Array(n), d: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    out.k[i] = x.update(b.high[i]!, b.low[i]!, b.close[i]!);
    out.d[i] = x.d;
  }
  return out;
}

export function obvBatch(close: ArrayLike<number>, volume: ArrayLike<number>): Float64Array {
  const x = new Obv();
  const out = new Float64Array(close.length);
  for (let i = 0; i < out.length; i++) out[i] = x.update(close[i]!, volume[i]!);
  return out;
}
