import type { MarketInfo, MemoryScope, Timeframe } from '@meridian/contracts';
import { canonicalJson } from '@meridian/core';
import type { Bar } from '@meridian/market';
import type { VersionedLimits } from '@meridian/risk';
import { createHash } from 'node:crypto';

/** Bump when the replay rules change in a way that changes outputs for the same inputs. */
export const BACKTEST_ENGINE_VERSION = 'backtest@1.0.0';

/** One candle series to replay, already cut to the run's [from, to) window, oldest first. */
export interface BacktestSeries {
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: Timeframe;
  readonly bars: readonly Bar[];
  /** the market's trading rules (sizing, order rules) */
  readonly market: MarketInfo;
  /** what identifies the data, for the config hash: e.g. { kind: 'file', name, sha256 } */
  readonly source: Readonly<Record<string, string | number>>;
}

export interface MemorySettings {
  readonly enabled: boolean;
  /** neighbours per recall */
  readonly k: number;
  readonly scope: MemoryScope;
  /** outcome horizon of the memories built during the run */
  readonly horizonBars: number;
}

export interface BacktestConfig {
  readonly series: readonly BacktestSeries[];
  readonly timeframe: Timeframe;
  /** requested window (epoch ms open times, from inclusive, to exclusive); null = the whole data */
  readonly from: number | null;
  readonly to: number | null;
  /** starting cash in the quote currency shared by every symbol */
  readonly capital: number;
  readonly feeBps: number;
  readonly slippageBps: number;
  readonly limits: VersionedLimits;
  readonly seed: number;
  readonly memory: MemorySettings;
}

/**
 * The effective configuration as canonical JSON: every input that can change an output — the data's content
 * hashes, the window, capital, costs, limits, seed, memory settings and the engine version. The runner (fast or
 * graph) is not in it: both give identical decisions (tested), so it cannot change an output.
 */
export function effectiveConfig(c: BacktestConfig): Record<string, unknown> {
  return {
    engine: BACKTEST_ENGINE_VERSION,
    series: c.series.map((s) => ({ exchange: s.exchange, symbol: s.symbol, timeframe: s.timeframe, bars: s.bars.length, market: s.market, source: s.source })),
    timeframe: c.timeframe,
    from: c.from,
    to: c.to,
    capital: c.capital,
    feeBps: c.feeBps,
    slippageBps: c.slippageBps,
    limits: { version: c.limits.version, limits: c.limits.limits },
    seed: c.seed,
    memory: c.memory,
  };
}

/** sha256 (hex) of the canonical JSON of the effective configuration. */
export function configHash(c: BacktestConfig): string {
  return createHash('sha256').update(canonicalJson(effectiveConfig(c))).digest('hex');
}
