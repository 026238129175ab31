import { SimulatedClock } from '@meridian/core';
import { FastRunner, backtestDeps } from './src/index.ts';
import { ETH_BTC_MARKET, FIXTURE_DIR, readCsvBars, replayDecisions, SeriesMemory } from './src/testing/decision-replay.ts';
const bars = readCsvBars(new URL('binance_ETH_BTC-5m.csv', FIXTURE_DIR));
for (const [net, appr, mem] of [[0.25, 0.24, false], [0.2, 0.19, false], [0.25, 0.24, true], [0.15, 0.14, true]] as const) {
const setup = { exchange: 'binance', symbol: 'ETH/BTC', timeframe: '5m' as const, bars, market: ETH_BTC_MARKET,
  limits: { schemaVersion: 1 as const, allowedSymbols: [], requireStopLoss: false, maxOrderNotional: 0.3, maxPositionNotional: 0.6, maxGrossExposure: 1, maxNetExposure: net, riskPerTradePct: 1, requireApprovalAboveNotional: appr },
  limitsVersion: 3, runScope: 'eq-test', warmup: 200, decisions: 2100, initialCash: 1 };
const c1 = new SimulatedClock(0);
const fast = new FastRunner(backtestDeps(c1, { memory: mem ? { recaller: new SeriesMemory('binance','ETH/BTC','5m', bars, 12, 200), k: 20, scope: 'same-symbol' } : null }));
const a = await replayDecisions(setup, c1, (ctx) => fast.decideSync(ctx));
const o: Record<string, number> = {};
for (const tr of a) { const k = tr.outcome + '/' + (tr.verdict?.status ?? '-') + '/' + (tr.nodes.find(n => n.node==='decision')?.output as any).action; o[k] = (o[k] ?? 0) + 1; }
console.log(net, appr, mem, o, a.filter(t => t.recalledMemoryIds.length>0).length);
}
