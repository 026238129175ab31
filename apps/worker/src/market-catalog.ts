import type { MarketInfo } from '@meridian/contracts';

/**
 * Trading rules (MarketInfo) the worker puts in each MarketSnapshot. The worker holds no exchange
 * credentials and never calls the exchange, so rules come from this table: the exchange's
 * published spot rules for common pairs, then a derived fallback (see `derivedMarketInfo`).
 * Override or extend it with `--markets <file.json>` (an array of MarketInfo).
 */
export const KNOWN_MARKETS: readonly MarketInfo[] = [
  { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', minQty: 0.00001, qtyStep: 0.00001, priceStep: 0.01, minNotional: 5 },
  { symbol: 'ETH/USDT', base: 'ETH', quote: 'USDT', minQty: 0.0001, qtyStep: 0.0001, priceStep: 0.01, minNotional: 5 },
  { symbol: 'SOL/USDT', base: 'SOL', quote: 'USDT', minQty: 0.001, qtyStep: 0.001, priceStep: 0.01, minNotional: 5 },
  { symbol: 'BNB/USDT', base: 'BNB', quote: 'USDT', minQty: 0.001, qtyStep: 0.001, priceStep: 0.01, minNotional: 5 },
  { symbol: 'ETH/BTC', base: 'ETH', quote: 'BTC', minQty: 0.0001, qtyStep: 0.0001, priceStep: 0.00001, minNotional: 0.0001 },
];

export function splitSymbol(symbol: string): { base: string; quote: string } {
  const [base = symbol, rest = ''] = symbol.split('/');
  return { base, quote: rest.split(':')[0] ?? rest };
}

/**
 * Rules for a pair not in the table: no minimums; the price step is the power of ten at most a
 * millionth of a tenth of the reference price (room for the price to fall 90 %), the quantity step
 * the power of ten that splits what the capital buys at that price into at most a million steps —
 * the same rule the backtest uses for data without rules, so live and backtest size alike.
 */
export function derivedMarketInfo(symbol: string, referencePrice: number, capital: number): MarketInfo {
  const { base, quote } = splitSymbol(symbol);
  const low = referencePrice / 10;
  const pow10 = (e: number) => Number(`1e${e}`);
  const qtyStep = capital > 0 && low > 0 ? pow10(Math.ceil(Math.log10(capital / low / 1e6))) : 1e-8;
  const priceStep = low > 0 ? pow10(Math.floor(Math.log10(low * 1e-6))) : 1e-8;
  return { symbol, base, quote, minQty: 0, qtyStep, priceStep, minNotional: 0 };
}

/** Looks a symbol up in the configured markets; derives (and remembers) rules for the rest. */
export class MarketCatalog {
  readonly #known = new Map<string, MarketInfo>();

  constructor(markets: readonly MarketInfo[] = KNOWN_MARKETS) {
    for (const m of markets) this.#known.set(m.symbol, m);
  }

  /** `referencePrice` and `capital` are used only the first time an unknown symbol is seen, so its rules stay fixed */
  get(symbol: string, referencePrice: number, capital: number): MarketInfo {
    let m = this.#known.get(symbol);
    if (!m) {
      m = derivedMarketInfo(symbol, referencePrice, capital);
      this.#known.set(symbol, m);
    }
    return m;
  }
}
