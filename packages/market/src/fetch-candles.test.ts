import { describe, expect, it } from 'vitest';
import { backoffDelay, isRetryableExchangeError } from './fetch-candles.ts';

// The download itself is tested against the fake Binance in test/market/fetch-candles.test.ts.
describe('retry policy', () => {
  it('classifies ccxt errors', async () => {
    const ccxt = (await import('ccxt')).default as unknown as Record<string, new (m: string) => Error>;
    for (const n of ['NetworkError', 'RateLimitExceeded', 'DDoSProtection', 'ExchangeNotAvailable', 'RequestTimeout', 'OnMaintenance'])
      expect(isRetryableExchangeError(new ccxt[n]!('x')), n).toBe(true);
    for (const n of ['BadSymbol', 'ExchangeError', 'AuthenticationError', 'InsufficientFunds']) expect(isRetryableExchangeError(new ccxt[n]!('x')), n).toBe(false);
    expect(isRetryableExchangeError(new Error('x'))).toBe(false);
  });

  it('backoff doubles per attempt within [half, full] of the step and is capped', () => {
    const p = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, p, () => 0)).toBe(50);
    expect(backoffDelay(1, p, () => 1)).toBe(100);
    expect(backoffDelay(3, p, () => 0)).toBe(200);
    expect(backoffDelay(8, p, () => 1)).toBe(1000);
  });
});
