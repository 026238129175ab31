import { CandleSchema, OrderRequestSchema } from '@meridian/contracts';
import { defineJob, safeJobId } from './job-definition.ts';

export const ORDERS_QUEUE = 'orders';
export const CANDLES_QUEUE = 'candles';

/**
 * An approved order on its way to the executor. jobId = orderId (the client order id), so the
 * relay can add it again after a restart or a Redis flush without ever creating two jobs for it
 * while one is still waiting or running.
 */
export const orderRequestJob = defineJob({
  name: 'orderRequest',
  queue: ORDERS_QUEUE,
  schema: OrderRequestSchema,
  jobId: (o) => o.orderId,
  attempts: 8,
  backoffMs: 250,
});

/**
 * A closed candle, for the worker that runs the agent graph. One job per bar
 * (exchange|symbol|timeframe|ts), so a redelivered candle is not analysed twice.
 */
export const candleClosedJob = defineJob({
  name: 'candleClosed',
  queue: CANDLES_QUEUE,
  schema: CandleSchema,
  jobId: (c) => safeJobId(`${c.exchange}:${c.symbol}:${c.timeframe}:${c.ts}`),
  attempts: 3,
  backoffMs: 1000,
});
