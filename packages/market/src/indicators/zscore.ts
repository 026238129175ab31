import { RollingStats } from './sma.ts';

/**
 * Rolling z-score: (x − mean)/σ over the last `period` values including x, σ the population
 * standard deviation. A flat window (σ = 0) gives 0.
 */
export class ZScore {
  readonly #stats: RollingStats;
  value = NaN;

  constructor(period = 20) {
    this.#stats = new RollingStats(period);
  }

  get ready(): boolean {
    return this.#stats.ready;
  }

  update(x: number): number {
    const sd = this.#stats.update(x);
    if (sd !== sd) return NaN;
    return (this.value = sd > 0 ? (x - this.#stats.mean) / sd : 0);
  }
}
