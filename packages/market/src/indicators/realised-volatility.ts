import { Sma } from './sma.ts';

/**
 * Realised volatility per bar: the root mean square of the last `period` log returns,
 * √(Σ ln(cₜ/cₜ₋₁)² / period) — not de-meaned and not annualised (multiply by
 * √(bars per year) for that). First value after period+1 closes.
 */
export class RealisedVolatility {
  readonly #meanSq: Sma;
  #prev = NaN;
  /** the latest log return */
  logReturn = NaN;
  value = NaN;

  constructor(period = 20) {
    this.#meanSq = new Sma(period);
  }

  get ready(): boolean {
    return this.#meanSq.ready;
  }

  update(close: number): number {
    const p = this.#prev;
    this.#prev = close;
    if (p !== p) return NaN;
    const r = (this.logReturn = Math.log(close / p));
    const m = this.#meanSq.update(r * r);
    if (m !== m) return NaN;
    return (this.value = Math.sqrt(m > 0 ? m : 0));
  }
}
