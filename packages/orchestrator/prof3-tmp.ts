import { SimulatedClock } from '@meridian/core';
import { GraphRunner, backtestDeps } from './src/index.ts';
import { ETH_BTC_MARKET, FIXTURE_DIR, readCsvBars, replayDecisions } from './src/testing/decision-replay.ts';
const bars = readCsvBars(new URL('binance_ETH_BTC-5m.csv', FIXTURE_DIR));
const setup = { exchange: 'binance', symbol: 'ETH/BTC', timeframe: '5m' as const, bars, market: ETH_BTC_MARKET,
  limits: { schemaVersion: 1 as const, allowedSymbols: [], requireStopLoss: false, maxOrderNotional: 0.3, maxPositionNotional: 0.6, maxGrossExposure: 1, riskPerTradePct: 1 },
  limitsVersion: 3, runScope: 'eq-test', warmup: 200, decisions: 400, initialCash: 1 };
const c = new SimulatedClock(0);
const g = new GraphRunner(backtestDeps(c));
const t = performance.now();
await replayDecisions(setup, c, (ctx) => g.decide(ctx));
console.log('ms/bar', (performance.now() - t) / 400);
