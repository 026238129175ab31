/**
 * Simple moving average over the last `period` values, O(1) per value.
 * Sums are kept relative to a reference value and recomputed exactly once per `period`
 * values, so rounding error cannot accumulate over millions of bars (tiny prices such as
 * 0.0000529 stay accurate). NaN until `period` values have been seen.
 */
export class Sma {
  readonly period: number;
  readonly #buf: Float64Array;
  #i = 0;
  #n = 0;
  #ref = 0;
  #sum = 0; // Σ (x − ref)
  value = NaN;

  constructor(period: number) {
    if (!Number.isInteger(period) || period < 1) throw new RangeError(`SMA period must be a positive integer, got ${period}`);
    this.period = period;
    this.#buf = new Float64Array(period);
  }

  get ready(): boolean {
    return this.#n >= this.period;
  }

  update(x: number): number {
    const p = this.period;
    const buf = this.#buf;
    if (this.#n === 0) this.#ref = x;
    const old = buf[this.#i]!;
    buf[this.#i] = x;
    if (this.#n < p) {
      this.#n++;
      this.#sum += x - this.#ref;
    } else {
      this.#sum += x - old;
    }
    this.#i++;
    if (this.#i === p) {
      this.#i = 0;
      if (this.#n === p) this.#rebase();
    }
    if (this.#n < p) return NaN;
    return (this.value = this.#ref + this.#sum / p);
  }

  #rebase(): void {
    const buf = this.#buf;
    const ref = buf[0]!;
    let s = 0;
    for (let k = 0; k < buf.length; k++) s += buf[k]! - ref;
    this.#ref = ref;
    this.#sum = s;
  }
}

/**
 * Mean and population standard deviation over a rolling window, O(1) per value, with the
 * same exact re-basing as Sma. A flat window gives exactly 0.
 */
export class RollingStats {
  readonly period: number;
  readonly #buf: Float64Array;
  #i = 0;
  #n = 0;
  #ref = 0;
  #s1 = 0;
  #s2 = 0;
  mean = NaN;
  std = NaN;

  constructor(period: number) {
    if (!Number.isInteger(period) || period < 2) throw new RangeError(`rolling window must be an integer ≥ 2, got ${period}`);
    this.period = period;
    this.#buf = new Float64Array(period);
  }

  get ready(): boolean {
    return this.#n >= this.period;
  }

  /** returns the standard deviation (NaN until ready); `mean` is updated too */
  update(x: number): number {
    const p = this.period;
    const buf = this.#buf;
    if (this.#n === 0) this.#ref = x;
    const old = buf[this.#i]!;
    buf[this.#i] = x;
    const d = x - this.#ref;
    if (this.#n < p) {
      this.#n++;
      this.#s1 += d;
      this.#s2 += d * d;
    } else {
      const o = old - this.#ref;
      this.#s1 += d - o;
      this.#s2 += d * d - o * o;
    }
    this.#i++;
    if (this.#i === p) {
      this.#i = 0;
      if (this.#n === p) this.#rebase();
    }
    if (this.#n < p) return NaN;
    const m = this.#s1 / p;
    let v = this.#s2 / p - m * m;
    if (v < 0) v = 0;
    this.mean = this.#ref + m;
    return (this.std = Math.sqrt(v));
  }

  #rebase(): void {
    const buf = this.#buf;
    const p = this.period;
    // re-centre on a value inside the window: small cancellation error, and exactly 0 when flat
    const ref = buf[0]!;
    let s1 = 0;
    let s2 = 0;
    for (let k = 0; k < p; k++) {
      const d = buf[k]! - ref;
      s1 += d;
      s2 += d * d;
    }
    this.#ref = ref;
    this.#s1 = s1;
    this.#s2 = s2;
  }
}
