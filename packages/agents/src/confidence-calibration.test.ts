import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectCalibrationSamples, reliabilityTable, type CalibrationSample } from './calibration-report.ts';
import { CALIBRATION_DATA_DIR, CALIBRATION_SERIES, readCandleCsv } from './candle-replay.ts';
import { shrinkToMemory } from './confidence-calibration.ts';

/**
 * Reliability of the signal confidence on the real candles (docs/agents.md, "Confidence").
 * The model was fitted on these same series (pooled), so the pooled check is in-sample; the
 * per-series check shows how far one market drifts from the pooled rate.
 */
const samples: CalibrationSample[] = CALIBRATION_SERIES.flatMap((s) =>
  collectCalibrationSamples({ exchange: 'binance', symbol: s.symbol, timeframe: s.timeframe, bars: readCandleCsv(join(CALIBRATION_DATA_DIR, s.file)) }),
);

/** In each confidence bucket with ≥ 100 signals, |hit rate − mean confidence| must be within this. */
const POOLED_TOLERANCE = 0.03;
/** Per series and rule family with ≥ 200 signals: the spread between markets we measured and accept. */
const PER_SERIES_TOLERANCE = 0.15;

describe('signal confidence calibration on real candles', () => {
  it('has enough non-flat signals to judge', () => {
    expect(samples.length).toBeGreaterThan(2000);
  });

  it(`is reliable pooled: in buckets with ≥ 100 signals the target-first rate is within ${POOLED_TOLERANCE} of the mean confidence`, () => {
    const rows = reliabilityTable(samples).filter((r) => r.n >= 100);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(Math.abs(r.hitRate - r.meanConfidence), r.bucket).toBeLessThanOrEqual(POOLED_TOLERANCE);
  });

  it(`stays within ${PER_SERIES_TOLERANCE} per series and rule family (markets differ; see docs)`, () => {
    const groups = new Map<string, CalibrationSample[]>();
    for (const s of samples) {
      const k = `${s.symbol} ${s.rule}`;
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    let checked = 0;
    for (const [k, g] of groups) {
      if (g.length < 200) continue;
      checked++;
      const hit = g.reduce((a, s) => a + s.outcome, 0) / g.length;
      const conf = g.reduce((a, s) => a + s.confidence, 0) / g.length;
      expect(Math.abs(hit - conf), k).toBeLessThanOrEqual(PER_SERIES_TOLERANCE);
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });

  it('is a probability that moves with memory evidence the way a Beta posterior does', () => {
    expect(shrinkToMemory(0.3, 0, 0)).toBe(0.3);
    expect(shrinkToMemory(0.3, 20, 20)).toBeCloseTo((0.3 * 20 + 20) / 40, 12);
    // more agreeing neighbours → closer to their rate, never past it
    const a = shrinkToMemory(0.3, 8, 10);
    const b = shrinkToMemory(0.3, 80, 100);
    expect(a).toBeGreaterThan(0.3);
    expect(b).toBeGreaterThan(a);
    expect(b).toBeLessThan(0.8);
  });
});
