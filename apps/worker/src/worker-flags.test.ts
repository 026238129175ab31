import { describe, expect, it } from 'vitest';
import { isAppError } from '@meridian/core';
import { DEFAULT_WORKER_SETTINGS } from './open-worker.ts';
import { parseWorkerFlags } from './worker-flags.ts';

function refusal(argv: string[]): string {
  try {
    parseWorkerFlags(argv);
  } catch (e) {
    if (isAppError(e) && e.code === 'VALIDATION') return e.message;
    throw e;
  }
  throw new Error(`expected ${argv.join(' ')} to be refused`);
}

describe('worker flags', () => {
  it('defaults: the documented settings, no replay', () => {
    const s = parseWorkerFlags([]);
    expect(s).toMatchObject({ ...DEFAULT_WORKER_SETTINGS, replay: null });
    expect(s.checkpointRuns).toBe(true);
  });

  it('--no-checkpoint-runs turns off the per-step checkpoints of decision runs', () => {
    expect(parseWorkerFlags(['--no-checkpoint-runs']).checkpointRuns).toBe(false);
  });

  it('--replay: the series and its window (ISO-8601, UTC without a zone, or epoch ms); exchange defaults to binance', () => {
    const s = parseWorkerFlags(['--replay', '--symbol', 'ETH/BTC', '--timeframe', '5m', '--from', '2018-01-11T10:00', '--to', '1515801600000', '--runner', 'fast']);
    // a time without a zone is UTC, as everywhere on the command line
    expect(s.replay).toEqual({ exchange: 'binance', symbol: 'ETH/BTC', timeframe: '5m', from: Date.UTC(2018, 0, 11, 10), to: 1515801600000 });
    expect(s.runner).toBe('fast');
  });

  it('refuses a replay without its series, series flags without --replay, and a bad time, saying what to give', () => {
    expect(refusal(['--replay', '--symbol', 'ETH/BTC'])).toBe('--replay needs --symbol and --timeframe (the stored series to replay)');
    expect(refusal(['--symbol', 'ETH/BTC'])).toBe('--symbol only goes with --replay');
    expect(refusal(['--replay', '--symbol', 'ETH/BTC', '--timeframe', '5m', '--from', 'yesterday'])).toBe('--from "yesterday" is not a time');
    expect(refusal(['--runner', 'slow'])).toBe('--runner must be graph or fast, got "slow"');
    expect(refusal(['--replay', '--symbol', 'ETH/BTC', '--timeframe', '7m'])).toMatch(/unknown timeframe "7m"/);
  });
});
