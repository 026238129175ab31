import { AppError, type AppErrorOptions, type ErrorCode } from '@meridian/core';

/**
 * Why an exchange call failed, in our words. The split that matters to a caller:
 * - retryable: the same call may succeed later (network, timeouts, rate limits, 5xx, maintenance);
 * - final: retrying the same request cannot help (funds, invalid order, credentials, unknown symbol);
 * - unknown outcome: an order create whose answer never arrived — the order may or may not exist,
 *   so the caller must look it up by client order id before deciding to send it again.
 */
export const RETRYABLE_REASONS = ['network', 'timeout', 'rate_limited', 'unavailable', 'maintenance', 'bad_response'] as const;
export const FINAL_REASONS = [
  'insufficient_funds',
  'invalid_order',
  'order_not_found',
  'duplicate_order',
  'authentication',
  'permission_denied',
  'bad_symbol',
  'bad_request',
  'not_supported',
  'rejected',
] as const;
export type RetryableReason = (typeof RETRYABLE_REASONS)[number];
export type FinalReason = (typeof FINAL_REASONS)[number];
export type ExchangeErrorReason = RetryableReason | FinalReason;

const RETRYABLE_CODE: { readonly [R in RetryableReason]: ErrorCode } = {
  network: 'EXCHANGE_UNAVAILABLE',
  timeout: 'TIMEOUT',
  rate_limited: 'RATE_LIMITED',
  unavailable: 'EXCHANGE_UNAVAILABLE',
  maintenance: 'EXCHANGE_UNAVAILABLE',
  bad_response: 'EXCHANGE_UNAVAILABLE',
};

const FINAL_CODE: { readonly [R in FinalReason]: ErrorCode } = {
  insufficient_funds: 'EXCHANGE_REJECTED',
  invalid_order: 'EXCHANGE_REJECTED',
  order_not_found: 'NOT_FOUND',
  duplicate_order: 'CONFLICT',
  authentication: 'UNAUTHORIZED',
  permission_denied: 'FORBIDDEN',
  bad_symbol: 'EXCHANGE_REJECTED',
  bad_request: 'EXCHANGE_REJECTED',
  not_supported: 'EXCHANGE_REJECTED',
  rejected: 'EXCHANGE_REJECTED',
};

const FINAL_HINT: { readonly [R in FinalReason]: string } = {
  insufficient_funds: 'the account lacks the balance for this order; do not retry it unchanged',
  invalid_order: "the order breaks the market's rules (size, precision, notional or type); fix the order, do not retry it unchanged",
  order_not_found: 'the exchange has no such order; reconcile the order store with the exchange',
  duplicate_order: 'an order with this client order id already exists; look it up instead of creating it again',
  authentication: 'check the exchange API key and secret in the executor environment',
  permission_denied: 'enable trading permission for this API key on the exchange',
  bad_symbol: 'the exchange does not list this symbol; check the symbol and the exchange id',
  bad_request: 'the exchange refused the request as malformed; this is a bug in the request, not a transient failure',
  not_supported: 'this exchange does not support the operation through ccxt',
  rejected: 'the exchange rejected the request; read the message for its reason',
};

/** Base class: carries the exchange id, the operation and our reason. */
export abstract class ExchangeError extends AppError {
  abstract readonly kind: 'retryable' | 'final' | 'unknown_outcome';
  readonly reason: ExchangeErrorReason;
  readonly exchange: string;
  readonly operation: string;

  protected constructor(code: ErrorCode, reason: ExchangeErrorReason, exchange: string, operation: string, message: string, options: AppErrorOptions) {
    super(code, `${exchange} ${operation}: ${message}`, { ...options, details: { ...options.details, exchange, operation, reason } });
    this.reason = reason;
    this.exchange = exchange;
    this.operation = operation;
  }
}

/** The same call may succeed later; retry with backoff. */
export class RetryableExchangeError extends ExchangeError {
  readonly kind = 'retryable' as const;
  declare readonly reason: RetryableReason;
  constructor(reason: RetryableReason, exchange: string, operation: string, message: string, options: AppErrorOptions = {}) {
    super(RETRYABLE_CODE[reason], reason, exchange, operation, message, {
      hint: options.hint ?? 'transient exchange failure; retry with backoff',
      ...options,
    });
  }
}

/** Retrying the same request cannot succeed. */
export class FinalExchangeError extends ExchangeError {
  readonly kind = 'final' as const;
  declare readonly reason: FinalReason;
  constructor(reason: FinalReason, exchange: string, operation: string, message: string, options: AppErrorOptions = {}) {
    super(FINAL_CODE[reason], reason, exchange, operation, message, { hint: options.hint ?? FINAL_HINT[reason], ...options });
  }
}

/**
 * An order create was sent but its answer was lost (timeout, dropped connection, 5xx — Binance documents
 * a 5xx on order placement as "execution status UNKNOWN"). The order may exist: look it up by client order
 * id; only if the exchange says it does not exist may the same request be sent again (same client order id).
 */
export class UnknownOutcomeError extends ExchangeError {
  readonly kind = 'unknown_outcome' as const;
  declare readonly reason: RetryableReason;
  readonly clientOrderId: string;
  constructor(reason: RetryableReason, exchange: string, clientOrderId: string, message: string, options: AppErrorOptions = {}) {
    super('TIMEOUT', reason, exchange, 'createOrder', message, {
      hint: `the order may or may not exist: fetch it by client order id ${clientOrderId} before sending it again`,
      ...options,
      details: { ...options.details, clientOrderId },
    });
    this.clientOrderId = clientOrderId;
  }
}

export function isExchangeError(e: unknown): e is ExchangeError {
  return e instanceof ExchangeError;
}
export function isRetryableExchangeError(e: unknown): e is RetryableExchangeError {
  return e instanceof RetryableExchangeError;
}
export function isFinalExchangeError(e: unknown): e is FinalExchangeError {
  return e instanceof FinalExchangeError;
}
export function isUnknownOutcomeError(e: unknown): e is UnknownOutcomeError {
  return e instanceof UnknownOutcomeError;
}
