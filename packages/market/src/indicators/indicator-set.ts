import type { Bar } from '../bar.ts';
import { Adx } from './adx.ts';
import { Atr } from './atr.ts';
import { Bollinger } from './bollinger.ts';
import { Ema } from './ema.ts';
import { Macd } from './macd.ts';
import { Obv } from './obv.ts';
import { RealisedVolatility } from './realised-volatility.ts';
import { RollingExtreme } from './rolling-extremes.ts';
import { Rsi } from './rsi.ts';
import { Sma } from './sma.ts';
import { Stochastic } from './stochastic.ts';
import { ZScore } from './zscore.ts';

/**
 * The values of the standard indicator set after one bar. NaN means "not warmed up yet".
 * `IndicatorSet.update` returns the same object every time (no allocation per bar): copy it
 * (`{ ...snap }`) to keep a bar's values.
 */
export interface IndicatorSnapshot {
  ts: number;
  close: number;
  /** bars seen */
  bars: number;
  /** true once every indicator below has a value */
  ready: boolean;
  sma20: number;
  sma200: number;
  ema20: number;
  ema50: number;
  rsi14: number;
  macd: number;
  macdSignal: number;
  macdHist: number;
  atr14: number;
  bbMiddle: number;
  bbUpper: number;
  bbLower: number;
  bbPercentB: number;
  bbBandwidth: number;
  adx14: number;
  pdi14: number;
  mdi14: number;
  stochK: number;
  stochD: number;
  obv: number;
  closeZ50: number;
  volumeZ20: number;
  /** realised volatility (RMS of 1-bar log returns) over 14 and 100 bars */
  rv14: number;
  rv100: number;
  high20: number;
  low20: number;
  high100: number;
  low100: number;
}

/** Bars after which every indicator in the set has a value (SMA 200 is the longest). */
export const INDICATOR_WARMUP_BARS = 200;

function emptySnapshot(): IndicatorSnapshot {
  return {
    ts: NaN,
    close: NaN,
    bars: 0,
    ready: false,
    sma20: NaN,
    sma200: NaN,
    ema20: NaN,
    ema50: NaN,
    rsi14: NaN,
    macd: NaN,
    macdSignal: NaN,
    macdHist: NaN,
    atr14: NaN,
    bbMiddle: NaN,
    bbUpper: NaN,
    bbLower: NaN,
    bbPercentB: NaN,
    bbBandwidth: NaN,
    adx14: NaN,
    pdi14: NaN,
    mdi14: NaN,
    stochK: NaN,
    stochD: NaN,
    obv: NaN,
    closeZ50: NaN,
    volumeZ20: NaN,
    rv14: NaN,
    rv100: NaN,
    high20: NaN,
    low20: NaN,
    high100: NaN,
    low100: NaN,
  };
}

/**
 * Every indicator the agents use, updated together in O(1) per bar. One instance per series;
 * feed bars in time order. `batchIndicators` runs the same code over an array.
 */
export class IndicatorSet {
  readonly #sma20 = new Sma(20);
  readonly #sma200 = new Sma(200);
  readonly #ema20 = new Ema(20);
  readonly #ema50 = new Ema(50);
  readonly #rsi = new Rsi(14);
  readonly #macd = new Macd(12, 26, 9);
  readonly #atr = new Atr(14);
  readonly #bb = new Bollinger(20, 2);
  readonly #adx = new Adx(14);
  readonly #stoch = new Stochastic(14, 3);
  readonly #obv = new Obv();
  readonly #closeZ = new ZScore(50);
  readonly #volZ = new ZScore(20);
  readonly #rv14 = new RealisedVolatility(14);
  readonly #rv100 = new RealisedVolatility(100);
  readonly #hi20 = new RollingExtreme(20, 'max');
  readonly #lo20 = new RollingExtreme(20, 'min');
  readonly #hi100 = new RollingExtreme(100, 'max');
  readonly #lo100 = new RollingExtreme(100, 'min');
  readonly snapshot: IndicatorSnapshot = emptySnapshot();

  update(bar: Bar): IndicatorSnapshot {
    const s = this.snapshot;
    const { high, low, close, volume } = bar;
    s.ts = bar.ts;
    s.close = close;
    s.bars++;
    s.sma20 = this.#sma20.update(close);
    s.sma200 = this.#sma200.update(close);
    s.ema20 = this.#ema20.update(close);
    s.ema50 = this.#ema50.update(close);
    s.rsi14 = this.#rsi.update(close);
    const m = this.#macd;
    s.macdHist = m.update(close);
    s.macd = m.macd;
    s.macdSignal = m.ready ? m.signal : NaN;
    s.atr14 = this.#atr.update(high, low, close);
    const bb = this.#bb;
    s.bbPercentB = bb.update(close);
    s.bbMiddle = bb.middle;
    s.bbUpper = bb.upper;
    s.bbLower = bb.lower;
    s.bbBandwidth = bb.bandwidth;
    const adx = this.#adx;
    s.adx14 = adx.update(high, low, close);
    s.pdi14 = adx.pdi;
    s.mdi14 = adx.mdi;
    const st = this.#stoch;
    s.stochK = st.update(high, low, close);
    s.stochD = st.d;
    s.obv = this.#obv.update(close, volume);
    s.closeZ50 = this.#closeZ.update(close);
    s.volumeZ20 = this.#volZ.update(volume);
    s.rv14 = this.#rv14.update(close);
    s.rv100 = this.#rv100.update(close);
    s.high20 = this.#hi20.update(high);
    s.low20 = this.#lo20.update(low);
    s.high100 = this.#hi100.update(high);
    s.low100 = this.#lo100.update(low);
    s.ready = s.bars >= INDICATOR_WARMUP_BARS;
    return s;
  }
}

/** Batch form: one snapshot copy per bar, computed by the same incremental code. */
export function batchIndicators(bars: readonly Bar[]): IndicatorSnapshot[] {
  const set = new IndicatorSet();
  const out: IndicatorSnapshot[] = new Array(bars.length);
  for (let i = 0; i < bars.length; i++) out[i] = { ...set.update(bars[i]!) };
  return out;
}
