import { WilderAverage } from './ema.ts';

/**
 * Average true range with Wilder's smoothing. True range needs the previous close, so the first
 * bar has none (Wilder's original definition, and technicalindicators'); ATR is the mean of the
 * first `period` true ranges, then smoothed: first value at bar `period`.
 */
export class Atr {
  readonly #avg: WilderAverage;
  #prevClose = NaN;
  /** the latest true range (NaN on the first bar) */
  trueRange = NaN;
  value = NaN;

  constructor(period = 14) {
    this.#avg = new WilderAverage(period);
  }

  get ready(): boolean {
    return this.#avg.ready;
  }

  update(high: number, low: number, close: number): number {
    const pc = this.#prevClose;
    this.#prevClose = close;
    if (pc !== pc) return NaN;
    const a = high - low;
    const b = high > pc ? high - pc : pc - high;
    const c = low > pc ? low - pc : pc - low;
    const tr = (this.trueRange = a > b ? (a > c ? a : c) : b > c ? b : c);
    const v = this.#avg.update(tr);
    if (v !== v) return NaN;
    return (this.value = v);
  }
}
