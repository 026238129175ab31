import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fmtNum, roundOut } from './number-format.ts';
import { BufferedFileWriter, EQUITY_HEADER, isoTime, TRADES_HEADER, tradesCsv, writeEquityCsv } from './output-writers.ts';
import { SUMMARY_FIELDS, summaryJson, type BacktestSummary } from './summary.ts';

describe('number format', () => {
  it.each([
    [0, '0'],
    [-0, '0'],
    [0.1 + 0.2, '0.3'],
    [10000, '10000'],
    [1234567.891234567, '1234567.89123'],
    [-5.5, '-5.5'],
    [1e-7, '1e-7'],
    [0.09946999000000001, '0.09946999'],
    [123456789012345, '123456789012000'],
    [1e21, '1e+21'],
  ])('%s → %s', (x, s) => {
    expect(fmtNum(x)).toBe(s);
  });
  it.each([Number.NaN, Infinity, -Infinity])('refuses %s', (x) => {
    expect(() => roundOut(x)).toThrow(RangeError);
  });
});

describe('summary.json', () => {
  const s: BacktestSummary = {
    symbols: ['BTC/USDT'],
    timeframe: '5m',
    from: '2024-01-01T00:00:00.000Z',
    to: '2024-01-02T00:00:00.000Z',
    bars: 288,
    startingCapital: 10000,
    finalEquity: 10000.1 + 0.2,
    totalReturnPct: 0.003,
    cagrPct: 1,
    sharpe: null,
    sortino: null,
    calmar: null,
    maxDrawdownPct: 0,
    maxDrawdownDurationBars: 0,
    volatilityPct: 0,
    trades: 0,
    winRatePct: null,
    profitFactor: null,
    expectancy: null,
    avgTradeReturnPct: null,
    bestTradePct: null,
    worstTradePct: null,
    avgHoldingBars: null,
    exposurePct: 0,
    feesPaid: 0,
    buyAndHoldReturnPct: 1,
    decisions: 5,
    riskApproved: 0,
    riskResized: 0,
    riskRejected: 1,
    rejectionsByCheck: { minConfidence: 1 },
    seed: 1,
    configHash: 'ab',
  };
  it('has exactly the issue fields, in order, numbers in the output format', () => {
    const json = summaryJson(s);
    const parsed = JSON.parse(json) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual([...SUMMARY_FIELDS]);
    expect(SUMMARY_FIELDS).toHaveLength(33);
    expect(parsed['finalEquity']).toBe(10000.3);
    expect(json.endsWith('}\n')).toBe(true);
  });
  it('the same summary built in another key order gives the same bytes', () => {
    const reversed = Object.fromEntries(Object.entries(s).reverse()) as unknown as BacktestSummary;
    expect(summaryJson(reversed)).toBe(summaryJson(s));
  });
});

describe('CSV writers', () => {
  it('trades.csv: header and one row per trade, ISO times, one number format', () => {
    const csv = tradesCsv([
      {
        symbol: 'ETH/BTC',
        side: 'long',
        entryTime: Date.UTC(2018, 0, 10, 5),
        entryPrice: 0.09946999000000001,
        exitTime: Date.UTC(2018, 0, 10, 6),
        exitPrice: 0.1,
        quantity: 3,
        notional: 0.29840997,
        pnl: 0.1 + 0.2,
        returnPct: -0,
        fees: 0.0003,
        exitReason: 'stop',
        holdingBars: 12,
      },
    ]);
    expect(csv).toBe(`${TRADES_HEADER}\nETH/BTC,long,2018-01-10T05:00:00.000Z,0.09946999,2018-01-10T06:00:00.000Z,0.1,3,0.29840997,0.3,0,0.0003,stop\n`);
  });
  it('equity.csv: one row per bar', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bt-writers-'));
    try {
      const f = path.join(dir, 'equity.csv');
      const col = (xs: number[]) => Float64Array.from(xs);
      writeEquityCsv(f, { n: 2, ts: col([0, 300000]), equity: col([100, 99.5]), cash: col([100, 49.5]), exposure: col([0, 50]), drawdownPct: col([0, 0.5]) });
      expect(readFileSync(f, 'utf8')).toBe(`${EQUITY_HEADER}\n1970-01-01T00:00:00.000Z,100,100,0,0\n1970-01-01T00:05:00.000Z,99.5,49.5,50,0.5\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('BufferedFileWriter writes everything, across flushes', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bt-writers-'));
    try {
      const f = path.join(dir, 'x.txt');
      const w = new BufferedFileWriter(f, 10);
      for (let i = 0; i < 100; i++) w.write(`${i}\n`);
      w.close();
      expect(readFileSync(f, 'utf8')).toBe(Array.from({ length: 100 }, (_, i) => `${i}\n`).join(''));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('isoTime', () => {
  it('is exactly Date#toISOString for any whole epoch ms (day prefix cached)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 - 1 }), (t) => {
        expect(isoTime(t)).toBe(new Date(t).toISOString());
        expect(isoTime(t + 1)).toBe(new Date(t + 1).toISOString());
      }),
      { numRuns: 2000 },
    );
    for (const t of [0, -1, 86_399_999, 86_400_000, 1_704_067_199_999, 1_704_067_200_000]) expect(isoTime(t)).toBe(new Date(t).toISOString());
  });
  it('refuses a time outside the Date range', () => {
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});

