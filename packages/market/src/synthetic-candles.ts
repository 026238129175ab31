import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Bar } from './bar.ts';
import { SeededRandom } from './seeded-random.ts';

/**
 * Seeded synthetic candles for scale and speed tests. The same options give the same bars,
 * and `writeSyntheticCsv` the same bytes. The model, per bar:
 *  - regime: a two-state Markov chain, trend (drift with a random sign) or range (mean reversion
 *    to an anchor), switching with probability `switchProb`;
 *  - volatility clustering: GARCH(1,1) on the return variance;
 *  - fat tails: Student-t innovations (df 4), scaled to unit variance;
 *  - volume: a base level times (1 + k·|return|/σ) times log-normal noise, so it follows |return|.
 * Prices are rounded to `priceDecimals`; open is the previous rounded close, so bars join up.
 */
export interface SyntheticOptions {
  readonly bars: number;
  readonly seed: number;
  readonly timeframeMs: number;
  /** open time of the first bar (aligned down to the timeframe); default 2024-01-01T00:00Z */
  readonly start?: number;
  readonly startPrice?: number;
  readonly priceDecimals?: number;
  /** long-run per-bar volatility of log returns */
  readonly barVol?: number;
  readonly switchProb?: number;
}

export const SYNTHETIC_DEFAULT_START = Date.UTC(2024, 0, 1);

export function* generateBars(o: SyntheticOptions): Generator<Bar> {
  const rng = new SeededRandom(o.seed);
  const tf = o.timeframeMs;
  const start0 = o.start ?? SYNTHETIC_DEFAULT_START;
  let ts = start0 - (start0 % tf);
  const dec = o.priceDecimals ?? 2;
  const scale = 10 ** dec;
  const round = (x: number): number => Math.round(x * scale) / scale;
  const tick = 1 / scale;
  const sigmaLong = o.barVol ?? 0.0015 * Math.sqrt(tf / 60_000);
  const switchProb = o.switchProb ?? 0.002;
  // GARCH(1,1): persistence α+β = 0.98 with long-run variance σ²
  const alpha = 0.08;
  const beta = 0.9;
  const omega = sigmaLong * sigmaLong * (1 - alpha - beta);
  let variance = sigmaLong * sigmaLong;
  let lastShock = 0;
  let trend = rng.uniform() < 0.5;
  let drift = (rng.uniform() < 0.5 ? -1 : 1) * sigmaLong * 0.08;
  let close = round(o.startPrice ?? 20_000);
  let logAnchor = Math.log(close);
  const baseVolume = 100;

  for (let i = 0; i < o.bars; i++) {
    if (rng.uniform() < switchProb) {
      trend = !trend;
      if (trend) drift = (rng.uniform() < 0.5 ? -1 : 1) * sigmaLong * (0.04 + 0.08 * rng.uniform());
      else logAnchor = Math.log(close);
    }
    variance = omega + alpha * lastShock * lastShock + beta * variance;
    const sigma = Math.sqrt(variance);
    const shock = sigma * rng.studentT(4);
    lastShock = shock;
    const mean = trend ? drift : -0.02 * (Math.log(close) - logAnchor);
    const r = mean + shock;
    const open = close;
    let next = round(open * Math.exp(r));
    if (next < tick) next = tick;
    const bodyHi = Math.max(open, next);
    const bodyLo = Math.min(open, next);
    const high = round(bodyHi * Math.exp(Math.abs(rng.normal()) * sigma * 0.6));
    let low = round(bodyLo * Math.exp(-Math.abs(rng.normal()) * sigma * 0.6));
    if (low < tick) low = Math.min(tick, bodyLo);
    const absZ = Math.abs(r) / sigmaLong;
    const volume = Math.round(baseVolume * (1 + 1.5 * absZ) * Math.exp(0.4 * rng.normal() - 0.08) * 10_000) / 10_000;
    yield { ts, open, high: Math.max(high, bodyHi), low: Math.min(low, bodyLo), close: next, volume };
    close = next;
    ts += tf;
  }
}

/** Write synthetic candles as CSV (`timestamp` in epoch ms). Same options → same bytes. */
export async function writeSyntheticCsv(file: string, o: SyntheticOptions, onProgress?: (written: number) => void): Promise<{ bars: number; bytes: number }> {
  const out = createWriteStream(file, { encoding: 'utf8' });
  let bytes = 0;
  let buf = 'timestamp,open,high,low,close,volume\n';
  let n = 0;
  for (const b of generateBars(o)) {
    buf += `${b.ts},${b.open},${b.high},${b.low},${b.close},${b.volume}\n`;
    n++;
    if (buf.length > 1 << 16) {
      bytes += Buffer.byteLength(buf);
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
      if (onProgress && n % 50_000 === 0) onProgress(n);
    }
  }
  bytes += Buffer.byteLength(buf);
  out.end(buf);
  await once(out, 'finish');
  onProgress?.(n);
  return { bars: n, bytes };
}
