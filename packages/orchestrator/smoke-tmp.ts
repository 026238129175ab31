import { SimulatedClock } from '@meridian/core';
import { FastRunner, GraphRunner, backtestDeps, comparableTrace } from './src/index.ts';
import { ETH_BTC_MARKET, FIXTURE_DIR, readCsvBars, replayDecisions, SeriesMemory } from './src/testing/decision-replay.ts';
import { canonicalJson } from '@meridian/core';
const bars = readCsvBars(new URL('binance_ETH_BTC-5m.csv', FIXTURE_DIR));
const setup = { exchange: 'binance', symbol: 'ETH/BTC', timeframe: '5m' as const, bars, market: ETH_BTC_MARKET,
  limits: { schemaVersion: 1 as const, allowedSymbols: [], requireStopLoss: false, maxOrderNotional: 0.3, maxPositionNotional: 0.6, maxGrossExposure: 1, riskPerTradePct: 1, requireApprovalAboveNotional: Number(process.argv[2] ?? 0.2) },
  limitsVersion: 3, runScope: 'eq-test', warmup: 200, decisions: 2000, initialCash: 1 };
const mem = process.argv[3] === 'mem' ? { recaller: new SeriesMemory('binance','ETH/BTC','5m', bars, 12, 200), k: 20, scope: 'same-symbol' as const } : null;
const c1 = new SimulatedClock(0);
const fast = new FastRunner(backtestDeps(c1, { memory: mem }));
let t = performance.now();
const a = await replayDecisions(setup, c1, (ctx) => fast.decideSync(ctx));
console.log('fast ms', performance.now() - t, fast.stats);
const outcomes: Record<string, number> = {}; const vs: Record<string, number> = {};
for (const tr of a) { outcomes[tr.outcome] = (outcomes[tr.outcome] ?? 0) + 1; if (tr.verdict) vs[tr.verdict.status] = (vs[tr.verdict.status] ?? 0) + 1; }
console.log(outcomes, vs);
const c2 = new SimulatedClock(0);
const graph = new GraphRunner(backtestDeps(c2, { memory: mem }));
t = performance.now();
const b = await replayDecisions(setup, c2, (ctx) => graph.decide(ctx));
console.log('graph ms', performance.now() - t, graph.stats);
let diff = 0; for (let i = 0; i < a.length; i++) if (canonicalJson(comparableTrace(a[i]!)) !== canonicalJson(comparableTrace(b[i]!))) { if (diff++ < 1) console.log('DIFF at', i, canonicalJson(comparableTrace(a[i]!)).slice(0, 300), '\n', canonicalJson(comparableTrace(b[i]!)).slice(0, 300)); }
console.log('diffs', diff, a.length, b.length);
