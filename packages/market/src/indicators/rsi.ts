import { WilderAverage } from './ema.ts';

/**
 * RSI with Wilder's smoothing: average gain and loss over `period` changes, seeded with their
 * simple means. First value after period+1 closes. When there were no losses RSI is 100, no
 * gains 0; a completely flat window (no gains and no losses) is 50 — neutral, where
 * technicalindicators returns 100 (see docs/market.md).
 */
export class Rsi {
  readonly period: number;
  readonly #gain: WilderAverage;
  readonly #loss: WilderAverage;
  #prev = NaN;
  value = NaN;

  constructor(period = 14) {
    this.period = period;
    this.#gain = new WilderAverage(period);
    this.#loss = new WilderAverage(period);
  }

  get ready(): boolean {
    return this.#gain.ready;
  }

  get avgGain(): number {
    return this.#gain.value;
  }

  get avgLoss(): number {
    return this.#loss.value;
  }

  update(close: number): number {
    const prev = this.#prev;
    this.#prev = close;
    if (prev !== prev) return NaN; // first close: no change yet
    const d = close - prev;
    const g = this.#gain.update(d > 0 ? d : 0);
    const l = this.#loss.update(d < 0 ? -d : 0);
    if (g !== g) return NaN;
    if (l === 0) return (this.value = g === 0 ? 50 : 100);
    return (this.value = 100 - 100 / (1 + g / l));
  }
}
