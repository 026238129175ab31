import { TIMEFRAME_MS, type Timeframe } from '@meridian/contracts';
import { AppError } from '@meridian/core';
import type { Bar } from '@meridian/market';
import type { Outcome, Situation } from './memory-store.ts';

export interface MemoryBuilderOptions {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly featureVersion: number;
  /** outcome horizon in bars (≥ 1) */
  readonly horizonBars: number;
}

export interface BuilderStep {
  /** the situation of this bar, or null when its features are not ready (warm-up) */
  readonly situation: Situation | null;
  /** the outcome this bar completes: the situation `horizonBars` bars back, or null */
  readonly outcome: Outcome | null;
}

/**
 * The incremental memory writer the backtest, the worker and `meridian memory build` call once
 * per closed bar, in time order. O(1) amortised per bar: a ring buffer of the last h+1 closes,
 * and monotonic deques for the highest high / lowest low of the last h bars.
 *
 * For the bar with open time `bar.ts`, the situation's `ts` is its close time (bar.ts + tf).
 * When bar t+h closes it resolves bar t:
 *   forwardReturn = close[t+h]/close[t] − 1, mfe = max(high[t+1..t+h])/close[t] − 1,
 *   mae = min(low[t+1..t+h])/close[t] − 1, resolvedAt = close time of bar t+h.
 * The horizon counts bars as they arrive: a gap in the data stretches it in wall-clock time
 * (resolvedAt is still the true close time of the bar that completed it).
 */
export class MemoryBuilder {
  readonly options: MemoryBuilderOptions;
  readonly #tf: number;
  readonly #h: number;
  readonly #size: number;
  readonly #close: Float64Array;
  readonly #ready: Uint8Array;
  readonly #closeTime: Float64Array;
  // monotonic deques over bar indices (ring buffers of capacity size): max of highs, min of lows
  readonly #hiIdx: Float64Array;
  readonly #hiVal: Float64Array;
  readonly #loIdx: Float64Array;
  readonly #loVal: Float64Array;
  #hiHead = 0;
  #hiLen = 0;
  #loHead = 0;
  #loLen = 0;
  #n = 0;
  #lastTs = -Infinity;

  constructor(options: MemoryBuilderOptions) {
    if (!Number.isInteger(options.horizonBars) || options.horizonBars < 1) {
      throw new AppError('VALIDATION', `horizon must be a whole number of bars ≥ 1, got ${options.horizonBars}`);
    }
    this.options = options;
    this.#tf = TIMEFRAME_MS[options.timeframe];
    this.#h = options.horizonBars;
    this.#size = options.horizonBars + 1;
    this.#close = new Float64Array(this.#size);
    this.#ready = new Uint8Array(this.#size);
    this.#closeTime = new Float64Array(this.#size);
    this.#hiIdx = new Float64Array(this.#size);
    this.#hiVal = new Float64Array(this.#size);
    this.#loIdx = new Float64Array(this.#size);
    this.#loVal = new Float64Array(this.#size);
  }

  /** bars seen so far */
  get bars(): number {
    return this.#n;
  }

  /**
   * Feed the next closed bar and its feature vector (`null` while the features warm up: no
   * situation is stored for it, but its prices still count for earlier bars' outcomes).
   */
  onBar(bar: Bar, features: ArrayLike<number> | null): BuilderStep {
    if (!(bar.ts > this.#lastTs)) {
      throw new AppError('VALIDATION', `bars must arrive in time order: ${bar.ts} after ${this.#lastTs} for ${this.options.symbol} ${this.options.timeframe}`);
    }
    if (!(bar.close > 0) || !Number.isFinite(bar.high) || !Number.isFinite(bar.low)) {
      throw new AppError('VALIDATION', `bar at ${bar.ts} has a non-positive close or non-finite high/low`, { hint: 'validate candles before building memories' });
    }
    this.#lastTs = bar.ts;
    const i = this.#n;
    const size = this.#size;
    const h = this.#h;

    // the window for bar t = i − h is bars t+1 … i: the last h bars, including this one
    this.#pushHigh(i, bar.high);
    this.#pushLow(i, bar.low);
    let outcome: Outcome | null = null;
    const t = i - h;
    if (t >= 0 && this.#ready[t % size] === 1) {
      const c0 = this.#close[t % size]!;
      const o = this.options;
      outcome = {
        exchange: o.exchange,
        symbol: o.symbol,
        timeframe: o.timeframe,
        ts: this.#closeTime[t % size]!,
        featureVersion: o.featureVersion,
        horizonBars: o.horizonBars,
        forwardReturn: bar.close / c0 - 1,
        mfe: this.#hiVal[this.#hiHead]! / c0 - 1,
        mae: this.#loVal[this.#loHead]! / c0 - 1,
        resolvedAt: bar.ts + this.#tf,
      };
    }

    const slot = i % size;
    const closeTime = bar.ts + this.#tf;
    this.#close[slot] = bar.close;
    this.#closeTime[slot] = closeTime;
    this.#ready[slot] = features === null ? 0 : 1;
    this.#n = i + 1;
    if (features === null) return { situation: null, outcome };
    const o = this.options;
    const copy: number[] = [];
    for (let j = 0; j < features.length; j++) copy.push(features[j]!);
    const situation: Situation = { exchange: o.exchange, symbol: o.symbol, timeframe: o.timeframe, ts: closeTime, featureVersion: o.featureVersion, horizonBars: o.horizonBars, features: copy };
    return { situation, outcome };
  }

  #pushHigh(i: number, v: number): void {
    const size = this.#size;
    // drop from the back every index whose high can no longer be the maximum
    while (this.#hiLen > 0 && this.#hiVal[(this.#hiHead + this.#hiLen - 1) % size]! <= v) this.#hiLen--;
    const at = (this.#hiHead + this.#hiLen) % size;
    this.#hiIdx[at] = i;
    this.#hiVal[at] = v;
    this.#hiLen++;
    // drop from the front indices older than the window (i − h, … i]
    while (this.#hiIdx[this.#hiHead]! <= i - this.#h) {
      this.#hiHead = (this.#hiHead + 1) % size;
      this.#hiLen--;
    }
  }

  #pushLow(i: number, v: number): void {
    const size = this.#size;
    while (this.#loLen > 0 && this.#loVal[(this.#loHead + this.#loLen - 1) % size]! >= v) this.#loLen--;
    const at = (this.#loHead + this.#loLen) % size;
    this.#loIdx[at] = i;
    this.#loVal[at] = v;
    this.#loLen++;
    while (this.#loIdx[this.#loHead]! <= i - this.#h) {
      this.#loHead = (this.#loHead + 1) % size;
      this.#loLen--;
    }
  }
}
