import type { Clock, Logger } from '@meridian/core';
import type { ExchangeOrder, PaperExchange } from '@meridian/execution';

/** Where the paper exchange's prices come from: a price per symbol, or undefined when none is known yet. */
export type PriceSource = (symbol: string) => Promise<number | undefined>;

/** A fixed price per symbol (tests, benchmarks). */
export function fixedPrices(prices: Readonly<Record<string, number>>): PriceSource {
  return async (symbol) => prices[symbol];
}

export interface PaperPriceFeedOptions {
  readonly paper: PaperExchange;
  readonly symbols: readonly string[];
  readonly source: PriceSource;
  readonly clock: Clock;
  /** ticks per second = 1000 / intervalMs (default 1000 ms) */
  readonly intervalMs?: number;
  /** called with each order a tick filled (the executor stores it) */
  readonly onUpdate: (order: ExchangeOrder) => Promise<void>;
  readonly logger?: Logger;
}

/**
 * Drives a PaperExchange: every tick, each symbol's current price is fed in (`onPrice`), and every order it
 * filled goes to `onUpdate`. In the executor process the source is the newest stored candle's close
 * (`latestCandleClose`), so paper trading follows the market data the worker ingests.
 */
export function startPaperPriceFeed(o: PaperPriceFeedOptions): { tick(): Promise<void>; stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const tick = async (): Promise<void> => {
    for (const symbol of o.symbols) {
      const price = await o.source(symbol);
      if (price === undefined || !(price > 0)) continue;
      for (const ev of o.paper.onPrice(symbol, price, o.clock.now())) await o.onUpdate(ev.order);
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = tick()
      .catch((e: unknown) => o.logger?.warn({ err: (e as Error).message }, 'paper price tick failed'))
      .finally(() => (running = undefined));
  }, o.intervalMs ?? 1000);
  return {
    tick: async () => {
      await running;
      await tick();
    },
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
