export * from './fake-server.ts';
export * from './market-data-routes.ts';
import { startFakeServer, type FakeServer } from './fake-server.ts';
import { marketDataRoutes, type MarketDataOptions } from './market-data-routes.ts';

/** A fake Binance answering the public market-data endpoints; register more routes on it as needed. */
export async function startFakeBinance(opts: MarketDataOptions = {}): Promise<FakeServer> {
  return startFakeServer(marketDataRoutes(opts));
}
