import type { RiskLimits } from '@meridian/contracts';
import { ETH_BTC_MARKET, FIXTURE_DIR, readCsvBars, SeriesMemory, type ReplaySetup } from './decision-replay.ts';

/** Real ETH/BTC 5m candles (test/fixtures/candles, copied from /work/shared/data). */
export const ETH_BTC_BARS = readCsvBars(new URL('binance_ETH_BTC-5m.csv', FIXTURE_DIR));

const BASE_LIMITS: RiskLimits = {
  schemaVersion: 1,
  allowedSymbols: [],
  requireStopLoss: false,
  maxOrderNotional: 0.3,
  maxPositionNotional: 0.6,
  maxGrossExposure: 1,
  // tighter than the decision agent sizes to, so adds are resized or rejected by the gate
  maxNetExposure: 0.4,
  riskPerTradePct: 1,
};

/**
 * Limits a risk officer changes every 300 decisions: version 2 requires approval above 0.25 BTC,
 * so opens then go to pending_approval. With these, 2,000 real bars produce approved, resized,
 * rejected and pending verdicts (the equivalence test asserts that they do).
 */
export function alternatingLimits(n: number): { version: number; limits: RiskLimits } {
  return Math.floor(n / 300) % 2 === 1 ? { version: 2, limits: { ...BASE_LIMITS, requireApprovalAboveNotional: 0.25 } } : { version: 1, limits: BASE_LIMITS };
}

export function ethBtcSetup(runScope: string, decisions: number): ReplaySetup {
  return {
    exchange: 'binance',
    symbol: 'ETH/BTC',
    timeframe: '5m',
    bars: ETH_BTC_BARS,
    market: ETH_BTC_MARKET,
    limitsAt: alternatingLimits,
    runScope,
    warmup: 200,
    decisions,
    initialCash: 1,
  };
}

export const ethBtcMemory = (): SeriesMemory => new SeriesMemory('binance', 'ETH/BTC', '5m', ETH_BTC_BARS, 12, 200);
