import { SimulatedClock } from '@meridian/core';
import { FastRunner, backtestDeps } from './src/index.ts';
import { ETH_BTC_MARKET, FIXTURE_DIR, readCsvBars, replayDecisions, SeriesMemory } from './src/testing/decision-replay.ts';
const bars = readCsvBars(new URL('binance_ETH_BTC-5m.csv', FIXTURE_DIR));
const [net, appr, ord, mem] = process.argv.slice(2).map(Number);
const setup = { exchange: 'binance', symbol: 'ETH/BTC', timeframe: '5m' as const, bars, market: ETH_BTC_MARKET,
  limitsAt: (n: number) => { const base = { schemaVersion: 1 as const, allowedSymbols: [], requireStopLoss: false, maxOrderNotional: ord, maxPositionNotional: 0.6, maxGrossExposure: 1, ...(net ? {maxNetExposure: net} : {}), riskPerTradePct: 1 };
    return Math.floor(n / 300) % 2 === 1 ? { version: 2, limits: { ...base, requireApprovalAboveNotional: appr } } : { version: 1, limits: base }; }, runScope: 'eq-test', warmup: 200, decisions: 2100, initialCash: 1 };
const c1 = new SimulatedClock(0);
const fast = new FastRunner(backtestDeps(c1, { memory: mem ? { recaller: new SeriesMemory('binance','ETH/BTC','5m', bars, 12, 200), k: 20, scope: 'same-symbol' } : null }));
const a = await replayDecisions(setup, c1, (ctx) => fast.decideSync(ctx));
const o: Record<string, number> = {};
for (const tr of a) { const d = tr.nodes.find(n => n.node==='decision')?.output as any; const k = tr.outcome + '/' + (tr.verdict?.status ?? '-') + '/' + d.action; o[k] = (o[k] ?? 0) + 1; if (false) console.log(d.action, (d.quantity*d.referencePrice).toFixed(3), tr.verdict?.status, tr.verdict?.approvedQuantity); }
console.log(o);
