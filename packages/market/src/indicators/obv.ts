/**
 * On-balance volume: starts at 0 on the first bar, then adds the bar's volume when the close
 * rose, subtracts it when it fell, and leaves it when unchanged.
 */
export class Obv {
  #prevClose = NaN;
  value = 0;

  readonly ready = true;

  update(close: number, volume: number): number {
    const pc = this.#prevClose;
    this.#prevClose = close;
    if (close > pc) this.value += volume;
    else if (close < pc) this.value -= volume;
    return this.value;
  }
}
