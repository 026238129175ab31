import { TIMEFRAME_MS, type Timeframe } from '@meridian/contracts';
import { FEATURE_VERSION, FeatureEngine, generateBars } from '@meridian/market';
import { MemoryBuilder } from './memory-builder.ts';
import type { Situation } from './memory-store.ts';

export interface SyntheticMemoryOptions {
  readonly symbols: number;
  readonly barsPerSymbol: number;
  readonly seed: number;
  readonly timeframe?: Timeframe;
  readonly horizonBars?: number;
  readonly exchange?: string;
  /** situations per yielded batch (default 5,000) */
  readonly batch?: number;
}

export const syntheticSymbol = (i: number): string => `S${i}/USDT`;

/**
 * Realistic memories for tests and benchmarks: seeded synthetic candles per symbol (one seed per
 * symbol) through the real FeatureEngine and MemoryBuilder, so vectors have the clustering of
 * real features. Situations whose outcome falls inside the data carry it (stored resolved);
 * the last `horizonBars` of each symbol stay unresolved. Same options → same memories.
 */
export function* syntheticSituations(o: SyntheticMemoryOptions): Generator<Situation[]> {
  const timeframe = o.timeframe ?? '5m';
  const horizonBars = o.horizonBars ?? 12;
  const exchange = o.exchange ?? 'synthetic';
  const size = o.batch ?? 5000;
  for (let s = 0; s < o.symbols; s++) {
    const symbol = syntheticSymbol(s);
    const eng = new FeatureEngine();
    const builder = new MemoryBuilder({ exchange, symbol, timeframe, featureVersion: FEATURE_VERSION, horizonBars });
    const pending = new Map<number, Situation>();
    let out: Situation[] = [];
    for (const bar of generateBars({ bars: o.barsPerSymbol, seed: o.seed * 1000 + s, timeframeMs: TIMEFRAME_MS[timeframe] })) {
      const f = eng.update(bar);
      const step = builder.onBar(bar, eng.ready ? f : null);
      if (step.situation) pending.set(step.situation.ts, step.situation);
      if (step.outcome) {
        const sit = pending.get(step.outcome.ts);
        if (sit) {
          pending.delete(step.outcome.ts);
          const { forwardReturn, mfe, mae, resolvedAt } = step.outcome;
          out.push({ ...sit, outcome: { forwardReturn, mfe, mae, resolvedAt } });
          if (out.length >= size) {
            yield out;
            out = [];
          }
        }
      }
    }
    out.push(...pending.values());
    if (out.length > 0) yield out;
  }
}
