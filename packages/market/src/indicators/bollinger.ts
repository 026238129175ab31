import { RollingStats } from './sma.ts';

/**
 * Bollinger bands: middle = SMA(period), bands = middle ± k·σ with σ the population standard
 * deviation of the window (Bollinger's definition, and technicalindicators'). %b is
 * (close − lower)/(upper − lower); for a flat window (upper = lower) it is 0.5.
 */
export class Bollinger {
  readonly k: number;
  readonly #stats: RollingStats;
  middle = NaN;
  upper = NaN;
  lower = NaN;
  percentB = NaN;
  /** (upper − lower) / middle */
  bandwidth = NaN;

  constructor(period = 20, k = 2) {
    this.k = k;
    this.#stats = new RollingStats(period);
  }

  get ready(): boolean {
    return this.#stats.ready;
  }

  /** returns %b (NaN until ready) */
  update(close: number): number {
    const sd = this.#stats.update(close);
    if (sd !== sd) return NaN;
    const m = (this.middle = this.#stats.mean);
    const u = (this.upper = m + this.k * sd);
    const l = (this.lower = m - this.k * sd);
    this.bandwidth = (u - l) / m;
    return (this.percentB = u > l ? (close - l) / (u - l) : 0.5);
  }
}
