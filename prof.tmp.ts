import * as bt from '@meridian/backtest';
import { generateBars } from '@meridian/market';
const all = [...generateBars({ bars: 30000, seed: 7, timeframeMs: 60_000 })];
const runner = bt.createDecisionRunner({ kind: 'fast', memory: null });
const c0 = process.cpuUsage();
const r = await bt.runBacktest({ series: [{ exchange: 'binance', symbol: 'SYN/USD', timeframe: '1m', bars: all, market: bt.defaultMarketInfo('SYN/USD', { capital: 10_000, minPrice: bt.minLow(all) }), source: { kind: 'synthetic', seed: 7 } }], timeframe: '1m', from: null, to: null, capital: 10_000, feeBps: 10, slippageBps: 5, limits: { version: 0, limits: { schemaVersion: 1, allowedSymbols: [], requireStopLoss: false } }, seed: 1, memory: { enabled: false, k: 20, scope: 'same-symbol', horizonBars: 12 } }, { runner, memory: null, outDir: process.env.OUT ?? null });
const c = process.cpuUsage(c0);
console.log(JSON.stringify(r.timing), 'cpu s', (c.user + c.system) / 1e6, 'bars/cpu-s', 30000 / ((c.user + c.system) / 1e6), 'trades', r.summary.trades);
