import { AppError } from '@meridian/core';
import type { Bar } from './bar.ts';

/** A resampled bar, with how many source bars it was built from (fewer than `perBucket` across a gap). */
export interface ResampledBar extends Bar {
  sourceBars: number;
}

function checkFactor(fromMs: number, toMs: number): number {
  const factor = toMs / fromMs;
  if (!Number.isInteger(factor) || factor < 1)
    throw new AppError('VALIDATION', `cannot resample ${fromMs / 60_000}m into ${toMs / 60_000}m`, {
      hint: 'the target timeframe must be a whole multiple of the source timeframe',
    });
  return factor;
}

/**
 * Streaming resampler from one timeframe to a multiple of it. Buckets are aligned to UTC
 * boundaries (floor(ts / to) · to; epoch 0 is a UTC midnight, so 4h buckets start at 00, 04, …
 * and 1d at midnight). A bucket is emitted as soon as its last source bar arrives, or when a
 * later bucket starts (a gap at its end), or on flush. Buckets with no source bars are not
 * invented: a gap stays a gap. Input must be in time order.
 */
export class Resampler {
  readonly #from: number;
  readonly #to: number;
  readonly perBucket: number;
  #cur: ResampledBar | null = null;
  #lastTs = -Infinity;

  constructor(fromMs: number, toMs: number) {
    this.perBucket = checkFactor(fromMs, toMs);
    this.#from = fromMs;
    this.#to = toMs;
  }

  /** Add one source bar; returns the bars completed by it (0, 1 or 2 of them). */
  push(bar: Bar): ResampledBar[] {
    if (bar.ts <= this.#lastTs) throw new AppError('VALIDATION', `resample input out of order at ${new Date(bar.ts).toISOString()}`);
    if (bar.ts % this.#from !== 0) throw new AppError('VALIDATION', `resample input not aligned at ${new Date(bar.ts).toISOString()}`);
    this.#lastTs = bar.ts;
    const out: ResampledBar[] = [];
    const bucket = bar.ts - (bar.ts % this.#to);
    const cur = this.#cur;
    if (cur !== null && cur.ts !== bucket) {
      out.push(cur);
      this.#cur = null;
    }
    if (this.#cur === null) {
      this.#cur = { ts: bucket, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume, sourceBars: 1 };
    } else {
      const c = this.#cur;
      if (bar.high > c.high) c.high = bar.high;
      if (bar.low < c.low) c.low = bar.low;
      c.close = bar.close;
      c.volume += bar.volume;
      c.sourceBars++;
    }
    if (bar.ts + this.#from === bucket + this.#to) {
      out.push(this.#cur);
      this.#cur = null;
    }
    return out;
  }

  /** Emit the open bucket, if any (end of data). */
  flush(): ResampledBar[] {
    const c = this.#cur;
    this.#cur = null;
    return c ? [c] : [];
  }
}

/**
 * Batch form: groups all bars by bucket in one pass over a sorted copy. Written independently
 * of Resampler on purpose, so the test that both give the same bars checks something.
 */
export function resample(bars: readonly Bar[], fromMs: number, toMs: number): ResampledBar[] {
  checkFactor(fromMs, toMs);
  const groups = new Map<number, Bar[]>();
  for (const b of bars) {
    if (b.ts % fromMs !== 0) throw new AppError('VALIDATION', `resample input not aligned at ${new Date(b.ts).toISOString()}`);
    const k = Math.floor(b.ts / toMs) * toMs;
    const g = groups.get(k);
    if (g) g.push(b);
    else groups.set(k, [b]);
  }
  return [...groups.keys()]
    .sort((a, b) => a - b)
    .map((k) => {
      const g = groups.get(k)!.slice().sort((a, b) => a.ts - b.ts);
      for (let i = 1; i < g.length; i++)
        if (g[i]!.ts === g[i - 1]!.ts) throw new AppError('VALIDATION', `resample input has a duplicate at ${new Date(g[i]!.ts).toISOString()}`);
      return {
        ts: k,
        open: g[0]!.open,
        high: Math.max(...g.map((x) => x.high)),
        low: Math.min(...g.map((x) => x.low)),
        close: g[g.length - 1]!.close,
        volume: g.reduce((s, x) => s + x.volume, 0),
        sourceBars: g.length,
      };
    });
}
