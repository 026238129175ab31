import { SimulatedClock, deterministicId } from '@meridian/core';
import { FastRunner, backtestDeps } from './src/index.ts';
import { ETH_BTC_MARKET, FIXTURE_DIR, readCsvBars, replayDecisions } from './src/testing/decision-replay.ts';
const bars = readCsvBars(new URL('binance_ETH_BTC-5m.csv', FIXTURE_DIR));
const setup = { exchange: 'binance', symbol: 'ETH/BTC', timeframe: '5m' as const, bars, market: ETH_BTC_MARKET,
  limits: { schemaVersion: 1 as const, allowedSymbols: [], requireStopLoss: false, maxOrderNotional: 0.3, maxPositionNotional: 0.6, maxGrossExposure: 1, riskPerTradePct: 1 },
  limitsVersion: 3, runScope: 'eq-test', warmup: 200, decisions: 5000, initialCash: 1 };
const ctxs: any[] = [];
await replayDecisions(setup, new SimulatedClock(0), (ctx) => { ctxs.push({ ...ctx, indicators: { ...ctx.indicators }, features: Array.from(ctx.features) }); return { trace: { orderRequest: null } as never }; });
for (let r = 0; r < 6; r++) {
  const c1 = new SimulatedClock(0);
  const fast = new FastRunner(backtestDeps(c1), { validate: false });
  const t = performance.now();
  for (const c of ctxs) { c1.set(c.subject.asOf); fast.decideSync(c); }
  console.log('µs/bar', (performance.now() - t) * 1000 / ctxs.length);
}
