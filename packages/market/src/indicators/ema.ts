/**
 * Exponential moving average, α = 2/(period+1), seeded with the simple mean of the first
 * `period` values (the TA-Lib / technicalindicators definition). NaN until then.
 */
export class Ema {
  readonly period: number;
  readonly #alpha: number;
  #n = 0;
  #seed = 0;
  value = NaN;

  constructor(period: number) {
    if (!Number.isInteger(period) || period < 1) throw new RangeError(`EMA period must be a positive integer, got ${period}`);
    this.period = period;
    this.#alpha = 2 / (period + 1);
  }

  get ready(): boolean {
    return this.#n >= this.period;
  }

  update(x: number): number {
    if (this.#n >= this.period) return (this.value = (x - this.value) * this.#alpha + this.value);
    this.#seed += x;
    this.#n++;
    if (this.#n === this.period) return (this.value = this.#seed / this.period);
    return NaN;
  }
}

/**
 * Wilder's smoothing (a running mean with α = 1/period), seeded with the simple mean of the
 * first `period` values. Used by RSI, ATR and ADX.
 */
export class WilderAverage {
  readonly period: number;
  #n = 0;
  #seed = 0;
  value = NaN;

  constructor(period: number) {
    if (!Number.isInteger(period) || period < 1) throw new RangeError(`Wilder period must be a positive integer, got ${period}`);
    this.period = period;
  }

  get ready(): boolean {
    return this.#n >= this.period;
  }

  update(x: number): number {
    if (this.#n >= this.period) return (this.value = (this.value * (this.period - 1) + x) / this.period);
    this.#seed += x;
    this.#n++;
    if (this.#n === this.period) return (this.value = this.#seed / this.period);
    return NaN;
  }
}
