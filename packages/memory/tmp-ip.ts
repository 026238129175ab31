import { FEATURE_VERSION, FEATURE_DIM, FeatureEngine, generateBars } from '@meridian/market';
import { InProcessMemoryStore, MemoryBuilder } from './src/index.ts';
const BARS = Number(process.argv[2] ?? 525_600);
const nprobe = Number(process.argv[3] ?? 8);
const eng = new FeatureEngine();
const builder = new MemoryBuilder({ exchange: 'x', symbol: 'BTC/USDT', timeframe: '1m', featureVersion: FEATURE_VERSION, horizonBars: 12 });
const steps: { sit: any; out: any; bar: any }[] = [];
let t = performance.now();
for (const bar of generateBars({ bars: BARS, seed: 7, timeframeMs: 60_000 })) {
  const f = eng.update(bar);
  const st = builder.onBar(bar, eng.ready ? f : null);
  steps.push({ sit: st.situation, out: st.outcome, bar });
}
console.log('prep', ((performance.now() - t) / 1000).toFixed(1));
const store = new InProcessMemoryStore({ ivf: { nprobe } });
let hit = 0, tot = 0;
t = performance.now();
let checkT = 0;
for (let i = 0; i < steps.length; i++) {
  const s = steps[i]!;
  if (s.sit) store.storeSync([s.sit]);
  if (s.out) store.resolveSync([s.out]);
  if (s.sit) {
    const o = { asOf: s.sit.ts, k: 10, scope: 'same-symbol' as const, exchange: 'x', symbol: 'BTC/USDT', timeframe: '1m' as const, featureVersion: FEATURE_VERSION };
    const r = store.recallSync(s.sit.features, o);
    if (i % 2000 === 0) {
      const c0 = performance.now();
      const e = store.recallExactSync(s.sit.features, o);
      const want = new Set(e.neighbours.map((x) => x.memoryId));
      tot += want.size; hit += r.neighbours.filter((x) => want.has(x.memoryId)).length;
      checkT += performance.now() - c0;
    }
  }
}
const el = performance.now() - t - checkT;
console.log(`bars ${steps.length}: ${(el * 1000 / steps.length).toFixed(1)} µs/bar (${Math.round(steps.length / el * 1000)} bars/s), recall@10 ${(hit / tot).toFixed(4)}`, store.indexStats());
