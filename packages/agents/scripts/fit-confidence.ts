/**
 * Fits the signal agent's confidence model (src/confidence-calibration.ts) on the real candles in
 * /work/shared/data and prints the coefficients and reliability tables. From the repo root:
 *   node --conditions=@meridian/source --import tsx packages/agents/scripts/fit-confidence.ts
 * Paste the coefficients into CONFIDENCE_MODEL, re-run, and copy the tables into docs/agents.md.
 */
import { join } from 'node:path';
import { CALIBRATION_DATA_DIR, CALIBRATION_SERIES, readCandleCsv } from '../src/candle-replay.ts';
import { collectCalibrationSamples, reliabilityTable, type CalibrationSample } from '../src/calibration-report.ts';
import type { RuleFamily } from '../src/confidence-calibration.ts';
import { sigmoid } from '../src/numeric.ts';

/** Newton–Raphson (IRLS) maximum likelihood for p = σ(a + b·x). */
function fitLogistic(xs: readonly number[], ys: readonly number[]): { a: number; b: number } {
  let a = 0;
  let b = 0;
  for (let it = 0; it < 100; it++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-9;
    let hab = 0;
    let hbb = 1e-9;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const p = sigmoid(a + b * x);
      const r = ys[i]! - p;
      const w = p * (1 - p);
      ga += r;
      gb += r * x;
      haa += w;
      hab += w * x;
      hbb += w * x * x;
    }
    const det = haa * hbb - hab * hab;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a += da;
    b += db;
    if (Math.abs(da) + Math.abs(db) < 1e-12) break;
  }
  return { a: Number(a.toFixed(4)), b: Number(b.toFixed(4)) };
}

const perSeries = new Map<string, CalibrationSample[]>();
for (const s of CALIBRATION_SERIES) {
  const bars = readCandleCsv(join(CALIBRATION_DATA_DIR, s.file));
  perSeries.set(s.symbol, collectCalibrationSamples({ exchange: 'binance', symbol: s.symbol, timeframe: s.timeframe, bars }));
}
const all = [...perSeries.values()].flat();
console.log('pooled fit (all series):');
for (const rule of ['trend', 'meanReversion'] as RuleFamily[]) {
  const rows = all.filter((r) => r.rule === rule);
  const free = fitLogistic(rows.map((r) => r.strength), rows.map((r) => r.outcome));
  const rate = rows.reduce((s, r) => s + r.outcome, 0) / rows.length;
  // monotone constraint: a stronger signal may not mean a lower confidence; with b ≤ 0 the
  // constrained maximum-likelihood fit is b = 0, a = logit(base rate)
  const c = free.b > 0 ? free : { a: Number(Math.log(rate / (1 - rate)).toFixed(4)), b: 0 };
  console.log(`  ${rule}: n=${rows.length} base rate=${rate.toFixed(4)} unconstrained a=${free.a} b=${free.b} → use a=${c.a} b=${c.b}`);
}
console.log('\nleave-one-series-out: base rate of the other series vs this one');
for (const [symbol, rows] of perSeries) {
  const others = all.filter((r) => r.symbol !== symbol);
  for (const rule of ['trend', 'meanReversion'] as RuleFamily[]) {
    const mine = rows.filter((r) => r.rule === rule);
    const theirs = others.filter((r) => r.rule === rule);
    const rate = (xs: CalibrationSample[]) => (xs.reduce((s, r) => s + r.outcome, 0) / xs.length).toFixed(3);
    const conf = (xs: CalibrationSample[]) => (xs.reduce((s, r) => s + r.confidence, 0) / xs.length).toFixed(3);
    console.log(`  ${symbol} ${rule}: n=${mine.length} hit=${rate(mine)} meanConf=${conf(mine)} | others hit=${rate(theirs)}`);
  }
}
console.log('\nreliability with the CURRENT coefficients, pooled:');
console.table(reliabilityTable(all));
