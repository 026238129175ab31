import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Bar } from './bar.ts';

/**
 * For tests: the real Binance candles copied into test/fixtures/candles (from ../shared/data),
 * parsed synchronously. Not exported from the package index.
 */
export const FIXTURE_DIR = fileURLToPath(new URL('../../../test/fixtures/candles/', import.meta.url));

export const REAL_FIXTURES = [
  { file: 'binance_ETH_BTC-5m.csv', symbol: 'ETH/BTC', timeframe: '5m', rows: 5760, gaps: 0 },
  { file: 'binance_LTC_BTC-5m.csv', symbol: 'LTC/BTC', timeframe: '5m', rows: 5760, gaps: 0 },
  { file: 'binance_ADA_BTC-5m.csv', symbol: 'ADA/BTC', timeframe: '5m', rows: 5720, gaps: 5 },
  { file: 'binance_XRP_ETH-1m.csv', symbol: 'XRP/ETH', timeframe: '1m', rows: 2469, gaps: 676 },
] as const;

export function loadFixture(file: string): Bar[] {
  const lines = readFileSync(FIXTURE_DIR + file, 'utf8').trim().split('\n').slice(1);
  return lines.map((l) => {
    const [t, o, h, lo, c, v] = l.split(',');
    return { ts: Date.parse(t!), open: Number(o), high: Number(h), low: Number(lo), close: Number(c), volume: Number(v) };
  });
}
