import { analyse } from './analysis-agent.ts';
import { targetBeforeStop, replay, type ReplaySeries } from './candle-replay.ts';
import type { RuleFamily } from './confidence-calibration.ts';
import { proposeSignal, scoreSignal } from './signal-agent.ts';

/** One non-flat signal on real data and what happened after it. */
export interface CalibrationSample {
  readonly symbol: string;
  readonly rule: RuleFamily;
  readonly strength: number;
  readonly confidence: number;
  /** 1 = target reached before stop within the horizon */
  readonly outcome: 0 | 1;
}

/** Every non-flat deterministic signal (no memory) in a series, with its realised outcome. */
export function collectCalibrationSamples(series: ReplaySeries): CalibrationSample[] {
  const out: CalibrationSample[] = [];
  replay(series, (input, i) => {
    const analysis = analyse(input);
    const sig = proposeSignal({ analysis, recall: null });
    if (sig.direction === 'flat' || sig.stop === null || sig.target === null) return;
    const rule = scoreSignal(analysis).rule;
    if (rule === null) return;
    const outcome = targetBeforeStop(series.bars, i, sig.direction === 'long', sig.stop, sig.target, sig.horizonBars);
    if (outcome === null) return;
    out.push({ symbol: series.symbol, rule, strength: sig.strength, confidence: sig.confidence, outcome });
  });
  return out;
}

export interface ReliabilityRow {
  readonly bucket: string;
  readonly n: number;
  readonly meanConfidence: number;
  readonly hitRate: number;
  /** 95% binomial half-width around hitRate (normal approximation) */
  readonly ci95: number;
}

/** Samples grouped by confidence into buckets of width `width`; realised hit rate vs mean confidence. */
export function reliabilityTable(samples: readonly CalibrationSample[], width = 0.05): ReliabilityRow[] {
  const buckets = new Map<number, { n: number; conf: number; hits: number }>();
  for (const s of samples) {
    const k = Math.min(Math.floor(s.confidence / width), Math.round(1 / width) - 1);
    const b = buckets.get(k) ?? { n: 0, conf: 0, hits: 0 };
    b.n++;
    b.conf += s.confidence;
    b.hits += s.outcome;
    buckets.set(k, b);
  }
  return [...buckets.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([k, b]) => {
      const p = b.hits / b.n;
      return {
        bucket: `${(k * width).toFixed(2)}–${((k + 1) * width).toFixed(2)}`,
        n: b.n,
        meanConfidence: Number((b.conf / b.n).toFixed(4)),
        hitRate: Number(p.toFixed(4)),
        ci95: Number((1.96 * Math.sqrt((p * (1 - p)) / b.n)).toFixed(4)),
      };
    });
}
