import { SCHEMA_VERSION, type OrderRequest } from '@meridian/contracts';
import { uuidv7 } from '@meridian/core';

/**
 * An unsigned market buy of BTC/USDT on the paper exchange with fresh order and decision ids (each call a new
 * order), for tests and benches that sign it (`signOrder`) or attach an approval themselves.
 */
export function freshOrderRequest(over: Partial<Omit<OrderRequest, 'approval'>> = {}): Omit<OrderRequest, 'approval'> {
  return {
    schemaVersion: SCHEMA_VERSION,
    orderId: uuidv7(),
    decisionId: uuidv7(),
    exchange: 'paper',
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'market',
    quantity: 0.01,
    limitPrice: null,
    stopPrice: null,
    reduceOnly: false,
    createdAt: Date.now(),
    ...over,
  };
}
