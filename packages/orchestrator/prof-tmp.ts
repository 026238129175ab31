import { SimulatedClock } from '@meridian/core';
import { FastRunner, backtestDeps } from './src/index.ts';
import { ETH_BTC_MARKET, FIXTURE_DIR, readCsvBars, replayDecisions } from './src/testing/decision-replay.ts';
const bars = readCsvBars(new URL('binance_ETH_BTC-5m.csv', FIXTURE_DIR));
const setup = { exchange: 'binance', symbol: 'ETH/BTC', timeframe: '5m' as const, bars, market: ETH_BTC_MARKET,
  limits: { schemaVersion: 1 as const, allowedSymbols: [], requireStopLoss: false, maxOrderNotional: 0.3, maxPositionNotional: 0.6, maxGrossExposure: 1, riskPerTradePct: 1, requireApprovalAboveNotional: 10 },
  limitsVersion: 3, runScope: 'eq-test', warmup: 200, decisions: 5000, initialCash: 1 };
for (const validate of [true, false, true, false]) {
const c1 = new SimulatedClock(0);
const fast = new FastRunner(backtestDeps(c1), { validate });
let t = performance.now();
let n = 0;
const a = await replayDecisions(setup, c1, (ctx) => fast.decideSync(ctx));
console.log('validate', validate, 'ms/bar', (performance.now() - t)/a.length, fast.stats);
}
const c1 = new SimulatedClock(0);
let t = performance.now();
await replayDecisions(setup, c1, (ctx) => ({ trace: { orderRequest: null } as never }));
console.log('replay only ms/bar', (performance.now() - t)/5000);
