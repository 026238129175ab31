import { WilderAverage } from './ema.ts';

/**
 * ADX with +DI/−DI (Wilder). From the second bar: +DM = up-move when it exceeds the down-move
 * and is positive, else 0 (−DM mirrored); TR as in ATR. TR, +DM and −DM are Wilder-smoothed
 * (seeded with their mean over `period` values); DI = 100·smoothed DM / smoothed TR;
 * DX = 100·|+DI − −DI| / (+DI + −DI); ADX = Wilder average of DX. DI is defined from bar
 * `period`, ADX from bar 2·period − 1. When +DI + −DI = 0 (or TR = 0: a flat stretch) DX is 0
 * and DI are 0, where technicalindicators yields NaN (see docs/market.md).
 */
export class Adx {
  readonly #tr: WilderAverage;
  readonly #pdm: WilderAverage;
  readonly #mdm: WilderAverage;
  readonly #adx: WilderAverage;
  #prevHigh = NaN;
  #prevLow = NaN;
  #prevClose = NaN;
  pdi = NaN;
  mdi = NaN;
  dx = NaN;
  value = NaN;

  constructor(period = 14) {
    this.#tr = new WilderAverage(period);
    this.#pdm = new WilderAverage(period);
    this.#mdm = new WilderAverage(period);
    this.#adx = new WilderAverage(period);
  }

  get ready(): boolean {
    return this.#adx.ready;
  }

  /** returns ADX (NaN until ready) */
  update(high: number, low: number, close: number): number {
    const ph = this.#prevHigh;
    const pl = this.#prevLow;
    const pc = this.#prevClose;
    this.#prevHigh = high;
    this.#prevLow = low;
    this.#prevClose = close;
    if (pc !== pc) return NaN;
    const up = high - ph;
    const down = pl - low;
    const pdm = up > down && up > 0 ? up : 0;
    const mdm = down > up && down > 0 ? down : 0;
    const a = high - low;
    const b = high > pc ? high - pc : pc - high;
    const c = low > pc ? low - pc : pc - low;
    const tr = a > b ? (a > c ? a : c) : b > c ? b : c;
    const str = this.#tr.update(tr);
    const sp = this.#pdm.update(pdm);
    const sm = this.#mdm.update(mdm);
    if (str !== str) return NaN;
    const pdi = (this.pdi = str > 0 ? (100 * sp) / str : 0);
    const mdi = (this.mdi = str > 0 ? (100 * sm) / str : 0);
    const sum = pdi + mdi;
    const dx = (this.dx = sum > 0 ? (100 * Math.abs(pdi - mdi)) / sum : 0);
    const v = this.#adx.update(dx);
    if (v !== v) return NaN;
    return (this.value = v);
  }
}
