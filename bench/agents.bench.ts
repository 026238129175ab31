import { performance } from 'node:perf_hooks';
import { analyse, decide, proposeSignal, SPOT_LONG_ONLY, type AnalysisInput } from '@meridian/agents';
import { examplePortfolioSnapshot, exampleRiskLimits } from '@meridian/contracts/fixtures';
import { FEATURE_VERSION, FeatureEngine, generateBars, type Bar } from '@meridian/market';
import type { BenchResult } from './bench-result.ts';

const N = 50_000;
const WINDOW = 50;
const DECISION_ID = '00000000-0000-8000-8000-000000000001';

/** Agent inputs for N synthetic 1h bars, computed up front so only the agents are timed. */
function inputs(): AnalysisInput[] {
  const bars: Bar[] = [...generateBars({ bars: N + 200, seed: 7, timeframeMs: 3_600_000, startPrice: 30_000 })];
  const eng = new FeatureEngine();
  const out: AnalysisInput[] = [];
  for (let i = 0; i < bars.length; i++) {
    const b = bars[i]!;
    const f = eng.update(b);
    if (i < 200) continue;
    out.push({
      subject: { exchange: 'binance', symbol: 'BTC/USDT', timeframe: '1h', asOf: b.ts + 3_600_000 },
      window: bars.slice(i + 1 - WINDOW, i + 1),
      indicators: { ...eng.indicators },
      featureVersion: FEATURE_VERSION,
      features: f.slice(),
    });
  }
  return out;
}

export async function run(): Promise<BenchResult[]> {
  const xs = inputs();
  const portfolio = examplePortfolioSnapshot({ cash: 10_000, equity: 10_000, grossExposure: 0, netExposure: 0, positions: [] });
  const limits = exampleRiskLimits({ minConfidence: undefined });
  const market = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', minQty: 0.00001, qtyStep: 0.00001, priceStep: 0.01, minNotional: 5 };
  let sink = 0;
  const pass = (): number => {
    const t = performance.now();
    for (let i = 0; i < xs.length; i++) {
      const a = analyse(xs[i]!);
      const s = proposeSignal({ analysis: a, recall: null });
      const d = decide({ signal: s, position: null, portfolio, limits, market, lastPrice: a.close, account: SPOT_LONG_ONLY }, DECISION_ID);
      sink += d.quantity;
    }
    return performance.now() - t;
  };
  pass(); // warm-up (JIT)
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 5; r++) best = Math.min(best, pass());
  const analyseOnly = (): number => {
    const t = performance.now();
    for (let i = 0; i < xs.length; i++) sink += analyse(xs[i]!).momentum;
    return performance.now() - t;
  };
  analyseOnly();
  let bestA = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 5; r++) bestA = Math.min(bestA, analyseOnly());
  if (sink === 42) console.log(sink);
  return [
    { name: 'agents: analysis+signal+decision per bar', value: Math.round(xs.length / (best / 1_000)), unit: 'bars/s', target: '≥ 100,000 (≪ 10 µs/bar)', notes: `${((best * 1_000) / xs.length).toFixed(2)} µs/bar, ${xs.length} synthetic 1h bars, no memory, best of 5` },
    { name: 'agents: analysis only per bar', value: Math.round(xs.length / (bestA / 1_000)), unit: 'bars/s', notes: `${((bestA * 1_000) / xs.length).toFixed(2)} µs/bar` },
  ];
}
