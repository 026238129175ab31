import type { MarketInfo } from '@meridian/contracts';
import { AppError, type Clock } from '@meridian/core';
import { createCcxtExchange, PaperExchange, type CcxtExchange, type ExchangeAdapter } from '@meridian/execution';

/** The markets the paper exchange lists (Binance spot rules for these pairs). */
export const PAPER_MARKETS: readonly MarketInfo[] = [
  { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', minQty: 0.00001, qtyStep: 0.00001, priceStep: 0.01, minNotional: 5 },
  { symbol: 'ETH/USDT', base: 'ETH', quote: 'USDT', minQty: 0.0001, qtyStep: 0.0001, priceStep: 0.01, minNotional: 5 },
  { symbol: 'SOL/USDT', base: 'SOL', quote: 'USDT', minQty: 0.001, qtyStep: 0.001, priceStep: 0.01, minNotional: 5 },
  { symbol: 'BNB/USDT', base: 'BNB', quote: 'USDT', minQty: 0.001, qtyStep: 0.001, priceStep: 0.01, minNotional: 5 },
];

/** The paper account every executor start begins with. */
export const PAPER_BALANCES: Readonly<Record<string, number>> = { USDT: 100_000 };

export interface ExchangeSelection {
  /** config `exchange.id`: 'paper' or a ccxt exchange id */
  readonly id: string;
  readonly apiKey?: string | undefined;
  readonly secret?: string | undefined;
  readonly password?: string | undefined;
  readonly sandbox?: boolean;
  /** MERIDIAN_EXCHANGE_URL: send every request to this origin (tests: the fake Binance) */
  readonly url?: string | undefined;
  readonly timeoutMs?: number;
}

/**
 * MERIDIAN_EXCHANGE=paper → an in-memory PaperExchange (fills from the price feed, see paper-price-feed.ts);
 * anything else → ccxt with the keys from the executor's environment. A real exchange without keys is a
 * CONFIG error at start-up, not a stream of authentication failures later.
 */
export async function createExchange(sel: ExchangeSelection, clock: Clock): Promise<ExchangeAdapter> {
  if (sel.id === 'paper') return new PaperExchange({ markets: PAPER_MARKETS, balances: PAPER_BALANCES, clock });
  if (!sel.apiKey || !sel.secret) {
    throw new AppError('CONFIG', `MERIDIAN_EXCHANGE=${sel.id} needs MERIDIAN_EXCHANGE_API_KEY and MERIDIAN_EXCHANGE_SECRET`, {
      hint: 'set both in the executor environment, or use MERIDIAN_EXCHANGE=paper',
    });
  }
  const ex = await createCcxtExchange({
    id: sel.id,
    apiKey: sel.apiKey,
    secret: sel.secret,
    ...(sel.password ? { password: sel.password } : {}),
    ...(sel.sandbox ? { sandbox: true } : {}),
    ...(sel.url ? { urlOverride: sel.url } : {}),
    ...(sel.timeoutMs !== undefined ? { timeoutMs: sel.timeoutMs } : {}),
  });
  await loadMarketsWithRetry(ex);
  return ex;
}

/**
 * Load the exchange's markets before taking orders, waiting out an exchange that is not reachable yet
 * at start-up. The adapter itself reloads after a failed load (ccxt caches the rejected promise; see
 * CcxtExchange), so this loop only adds the start-up patience. Gives up after `attempts` with
 * EXCHANGE_UNAVAILABLE (the process exits; its supervisor restarts it).
 */
export async function loadMarketsWithRetry(ex: CcxtExchange, attempts = 30, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<void> {
  let last: unknown;
  for (let i = 1; i <= attempts; i++) {
    try {
      await ex.loadMarkets();
      return;
    } catch (e) {
      last = e;
      await sleep(Math.min(2000, 100 * 2 ** (i - 1)));
    }
  }
  throw new AppError('EXCHANGE_UNAVAILABLE', `cannot load the markets of ${ex.id}: ${(last as Error).message}`, {
    hint: 'check MERIDIAN_EXCHANGE_URL / the network; the executor retries on its next start',
  });
}
