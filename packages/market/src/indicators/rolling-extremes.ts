/**
 * Highest or lowest value of the last `period` values in amortised O(1): a monotonic deque of
 * (index, value) in fixed-size typed arrays (no allocation per update).
 */
export class RollingExtreme {
  readonly period: number;
  readonly #max: boolean;
  readonly #idx: Float64Array;
  readonly #val: Float64Array;
  #head = 0;
  #size = 0;
  #n = 0;
  value = NaN;

  constructor(period: number, kind: 'max' | 'min') {
    if (!Number.isInteger(period) || period < 1) throw new RangeError(`window must be a positive integer, got ${period}`);
    this.period = period;
    this.#max = kind === 'max';
    this.#idx = new Float64Array(period + 1);
    this.#val = new Float64Array(period + 1);
  }

  get ready(): boolean {
    return this.#n >= this.period;
  }

  update(x: number): number {
    const cap = this.#idx.length;
    const n = this.#n++;
    // drop from the back every value that can never again be the extreme
    while (this.#size > 0) {
      const back = (this.#head + this.#size - 1) % cap;
      const v = this.#val[back]!;
      if (this.#max ? v <= x : v >= x) this.#size--;
      else break;
    }
    const slot = (this.#head + this.#size) % cap;
    this.#idx[slot] = n;
    this.#val[slot] = x;
    this.#size++;
    // drop from the front what has left the window
    if (this.#idx[this.#head]! <= n - this.period) {
      this.#head = (this.#head + 1) % cap;
      this.#size--;
    }
    this.value = this.#val[this.#head]!;
    return this.#n >= this.period ? this.value : NaN;
  }
}
