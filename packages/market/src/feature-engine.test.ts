import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Bar } from './bar.ts';
import { FEATURE_DIM, FEATURE_NAMES, FEATURE_VERSION, FEATURE_WARMUP_BARS, FeatureEngine, assertComparable, batchFeatures } from './feature-engine.ts';
import { adxBatch, atrBatch, bollingerBatch, emaBatch, macdBatch, obvBatch, realisedVolatilityBatch, rsiBatch, smaBatch, stochasticBatch, zscoreBatch } from './indicators/batch.ts';
import { IndicatorSet, batchIndicators } from './indicators/indicator-set.ts';
import { generateBars } from './synthetic-candles.ts';
import { REAL_FIXTURES, loadFixture } from './test-candles.ts';

describe('feature vector spec', () => {
  it('has 32 named features, version 1, and refuses to compare across versions', () => {
    expect(FEATURE_DIM).toBe(32);
    expect(FEATURE_NAMES).toHaveLength(FEATURE_DIM);
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_DIM);
    expect(FEATURE_VERSION).toBe(1);
    expect(() => assertComparable({ version: 1 }, { version: 2 })).toThrow(/cannot be compared/);
    expect(() => assertComparable({ version: 1 }, { version: 1 })).not.toThrow();
  });
});

describe.each(REAL_FIXTURES)('FeatureEngine on $file', ({ file }) => {
  const bars = loadFixture(file);

  it('every value is finite and within [−1, 1] from the first bar; ready after the warm-up', () => {
    const e = new FeatureEngine();
    bars.forEach((b, i) => {
      const f = e.update(b);
      expect(e.ready).toBe(i + 1 >= FEATURE_WARMUP_BARS);
      for (let k = 0; k < FEATURE_DIM; k++) {
        const v = f[k]!;
        if (!(Number.isFinite(v) && v >= -1 && v <= 1)) throw new Error(`bar ${i} feature ${FEATURE_NAMES[k]} = ${v}`);
      }
    });
  });

  it('batch form gives the identical numbers, bit for bit', () => {
    const batch = batchFeatures(bars);
    const e = new FeatureEngine();
    bars.forEach((b, i) => {
      const f = e.update(b);
      for (let k = 0; k < FEATURE_DIM; k++) if (!Object.is(f[k], batch[i * FEATURE_DIM + k])) throw new Error(`bar ${i} feature ${k}`);
    });
  });

  it('features carry information after warm-up (no feature is constant)', () => {
    const batch = batchFeatures(bars);
    for (let k = 0; k < FEATURE_DIM; k++) {
      let min = Infinity;
      let max = -Infinity;
      for (let i = FEATURE_WARMUP_BARS; i < bars.length; i++) {
        const v = batch[i * FEATURE_DIM + k]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      expect(max - min, FEATURE_NAMES[k]).toBeGreaterThan(0.05);
    }
  });
});

describe('IndicatorSet', () => {
  const bars = loadFixture('binance_LTC_BTC-5m.csv');
  const close = bars.map((b) => b.close);
  const hlc = { high: bars.map((b) => b.high), low: bars.map((b) => b.low), close, volume: bars.map((b) => b.volume) };

  it('its snapshot equals the per-indicator batch forms, bit for bit', () => {
    const snaps = batchIndicators(bars);
    const col = (k: keyof (typeof snaps)[number]) => snaps.map((s) => s[k] as number);
    const same = (a: ArrayLike<number>, b: ArrayLike<number>, name: string) => {
      for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) throw new Error(`${name} bar ${i}: ${a[i]} vs ${b[i]}`);
    };
    same(col('sma20'), smaBatch(close, 20), 'sma20');
    same(col('sma200'), smaBatch(close, 200), 'sma200');
    same(col('ema50'), emaBatch(close, 50), 'ema50');
    same(col('rsi14'), rsiBatch(close, 14), 'rsi');
    same(col('macdHist'), macdBatch(close).histogram, 'macd');
    same(col('atr14'), atrBatch(hlc, 14), 'atr');
    same(col('bbPercentB'), bollingerBatch(close).percentB, 'bb');
    same(col('adx14'), adxBatch(hlc).adx, 'adx');
    same(col('stochK'), stochasticBatch(hlc).k, 'stoch');
    same(col('obv'), obvBatch(close, hlc.volume), 'obv');
    same(col('closeZ50'), zscoreBatch(close, 50), 'z');
    same(col('rv100'), realisedVolatilityBatch(close, 100), 'rv');
  });

  it('returns one reused snapshot (no allocation per bar)', () => {
    const s = new IndicatorSet();
    expect(s.update(bars[0]!)).toBe(s.update(bars[1]!));
  });

  it('rolling highs and lows match a brute-force window (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1e-8, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 400 }), (prices) => {
        const s = new IndicatorSet();
        prices.forEach((p, i) => {
          const snap = s.update({ ts: i * 60_000, open: p, high: p, low: p, close: p, volume: 1 });
          if (i >= 19) {
            const w = prices.slice(i - 19, i + 1);
            expect(snap.high20).toBe(Math.max(...w));
            expect(snap.low20).toBe(Math.min(...w));
          } else expect(snap.high20).toBeNaN();
        });
      }),
      { numRuns: 50 },
    );
  });
});

describe('features stay finite at the edges', () => {
  const edge = (bars: Bar[]) => {
    const e = new FeatureEngine();
    for (const b of bars) {
      const f = e.update(b);
      for (const v of f) expect(Number.isFinite(v)).toBe(true);
    }
  };
  const flat = (n: number, p: number, v: number): Bar[] => Array.from({ length: n }, (_, i) => ({ ts: i * 60_000, open: p, high: p, low: p, close: p, volume: v }));

  it('flat prices and zero volume (no range, no variance, no returns)', () => edge(flat(400, 0.0000529, 0)));
  it('huge and tiny prices', () => {
    edge(flat(250, 1e12, 1e9));
    edge([...generateBars({ bars: 400, seed: 9, timeframeMs: 60_000, startPrice: 0.0000529, priceDecimals: 10 })]);
  });
  it('a crash to the minimum tick and back', () => {
    const b = [...generateBars({ bars: 300, seed: 10, timeframeMs: 60_000 })];
    b[250] = { ...b[250]!, low: 0.01, close: 0.01, open: b[250]!.open };
    b[251] = { ...b[251]!, open: 0.01, low: 0.01 };
    edge(b);
  });
});
