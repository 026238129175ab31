import { Ema } from './ema.ts';

/**
 * MACD: EMA(fast) − EMA(slow) of closes, signal = EMA(signal) of the MACD line (seeded with the
 * mean of its first `signal` values), histogram = MACD − signal. The line is defined from bar
 * slow−1, the signal and histogram from bar slow+signal−2.
 */
export class Macd {
  readonly #fast: Ema;
  readonly #slow: Ema;
  readonly #signal: Ema;
  macd = NaN;
  signal = NaN;
  histogram = NaN;

  constructor(fast = 12, slow = 26, signal = 9) {
    if (fast >= slow) throw new RangeError(`MACD fast period (${fast}) must be shorter than slow (${slow})`);
    this.#fast = new Ema(fast);
    this.#slow = new Ema(slow);
    this.#signal = new Ema(signal);
  }

  get ready(): boolean {
    return this.#signal.ready;
  }

  /** returns the histogram (NaN until ready) */
  update(close: number): number {
    const f = this.#fast.update(close);
    const s = this.#slow.update(close);
    if (s !== s) return NaN;
    const m = (this.macd = f - s);
    const sig = this.#signal.update(m);
    if (sig !== sig) return NaN;
    this.signal = sig;
    return (this.histogram = m - sig);
  }
}
