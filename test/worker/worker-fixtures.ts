import { readFileSync } from 'node:fs';
import type { Candle, RiskLimits, Timeframe } from '@meridian/contracts';

/** Real Binance candles from test/fixtures/candles as Candle messages, oldest first. */
export function fixtureCandles(file: string, exchange: string, symbol: string, timeframe: Timeframe): Candle[] {
  const text = readFileSync(new URL(`../fixtures/candles/${file}`, import.meta.url), 'utf8');
  const out: Candle[] = [];
  for (const line of text.split('\n').slice(1)) {
    if (!line) continue;
    const [t, o, h, l, c, v] = line.split(',');
    out.push({ schemaVersion: 1, exchange, symbol, timeframe, ts: Date.parse(t ?? ''), open: Number(o), high: Number(h), low: Number(l), close: Number(c), volume: Number(v) });
  }
  return out;
}

export const ETH_BTC_CANDLES = (): Candle[] => fixtureCandles('binance_ETH_BTC-5m.csv', 'binance', 'ETH/BTC', '5m');

/** Permissive limits in BTC for a 1-BTC account, so a good share of decisions are approved. */
export const PERMISSIVE_LIMITS: RiskLimits = {
  schemaVersion: 1,
  allowedSymbols: [],
  requireStopLoss: false,
  maxOrderNotional: 0.5,
  maxPositionNotional: 1,
  maxGrossExposure: 1,
  maxNetExposure: 1,
  riskPerTradePct: 2,
};

export const TEST_SIGNING_KEY = 'worker-e2e-signing-key-0123456789abcdef';
