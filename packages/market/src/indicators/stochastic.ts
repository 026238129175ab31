import { RollingExtreme } from './rolling-extremes.ts';
import { Sma } from './sma.ts';

/**
 * Stochastic oscillator: %K = 100·(close − lowest low)/(highest high − lowest low) over
 * `period` bars, %D = SMA(signal) of %K. A flat range (highest = lowest) gives %K = 50
 * (neutral); technicalindicators gives 0 there (see docs/market.md).
 */
export class Stochastic {
  readonly #hh: RollingExtreme;
  readonly #ll: RollingExtreme;
  readonly #d: Sma;
  k = NaN;
  d = NaN;

  constructor(period = 14, signal = 3) {
    this.#hh = new RollingExtreme(period, 'max');
    this.#ll = new RollingExtreme(period, 'min');
    this.#d = new Sma(signal);
  }

  get ready(): boolean {
    return this.#d.ready;
  }

  /** returns %K (NaN until `period` bars) */
  update(high: number, low: number, close: number): number {
    const hh = this.#hh.update(high);
    const ll = this.#ll.update(low);
    if (hh !== hh) return NaN;
    const k = (this.k = hh > ll ? (100 * (close - ll)) / (hh - ll) : 50);
    this.d = this.#d.update(k);
    return k;
  }
}
