import { AppError } from '@meridian/core';
import type { Exchange } from 'ccxt';

/**
 * A ccxt exchange for public market data only: no credentials are ever passed, so no private
 * endpoint can be called. ccxt's own rate limiter is on (`enableRateLimit`).
 * `baseUrl` (config `exchange.url`, MERIDIAN_EXCHANGE_URL) replaces the origin of every REST
 * URL ccxt knows for the exchange, which points it at a local fake exchange in tests.
 */
export interface PublicExchangeOptions {
  readonly baseUrl?: string | undefined;
  /** ccxt request timeout, ms */
  readonly timeoutMs?: number;
}

export async function createPublicExchange(id: string, opts: PublicExchangeOptions = {}): Promise<Exchange> {
  const ccxt = (await import('ccxt')).default as unknown as Record<string, unknown>;
  const Ctor = ccxt[id] as (new (config: Record<string, unknown>) => Exchange) | undefined;
  if (typeof Ctor !== 'function' || !(ccxt['exchanges'] as string[] | undefined)?.includes(id))
    throw new AppError('VALIDATION', `unknown exchange "${id}"`, { hint: 'use a ccxt exchange id such as binance' });
  const ex = new Ctor({
    enableRateLimit: true,
    timeout: opts.timeoutMs ?? 10_000,
    options: {
      // spot markets only: never touch the futures/options APIs (they are not needed for spot candles)
      fetchMarkets: { types: ['spot'] },
      fetchCurrencies: false,
      fetchMargins: false,
      adjustForTimeDifference: false,
    },
  });
  if (opts.baseUrl) overrideOrigin(ex, opts.baseUrl);
  return ex;
}

function overrideOrigin(ex: Exchange, baseUrl: string): void {
  const origin = new URL(baseUrl).origin;
  const rewrite = (v: unknown): unknown => {
    if (typeof v === 'string') {
      try {
        const u = new URL(v);
        return origin + u.pathname.replace(/\/$/, '') + u.search;
      } catch {
        return v;
      }
    }
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) o[k] = rewrite(o[k]);
    }
    return v;
  };
  const urls = ex.urls as Record<string, unknown>;
  urls['api'] = rewrite(structuredClone(urls['api']));
}
