import { AppError } from '@meridian/core';
import {
  FinalExchangeError,
  RetryableExchangeError,
  UnknownOutcomeError,
  type FinalReason,
  type RetryableReason,
} from './exchange-errors.ts';

/**
 * ccxt error class → our classification. ccxt's classes form a hierarchy (RateLimitExceeded extends
 * NetworkError, OrderNotFound extends InvalidOrder, …); the error's class chain is walked most-derived first,
 * so a subclass listed here wins over its parent. Matching is by class name, so this module does not load
 * ccxt (importing it costs ~1 s).
 */
export const CCXT_ERROR_TABLE: Readonly<Record<string, { readonly kind: 'retryable'; readonly reason: RetryableReason } | { readonly kind: 'final'; readonly reason: FinalReason }>> = {
  // retryable: the same request may succeed later
  RateLimitExceeded: { kind: 'retryable', reason: 'rate_limited' },
  DDoSProtection: { kind: 'retryable', reason: 'rate_limited' },
  OnMaintenance: { kind: 'retryable', reason: 'maintenance' },
  ExchangeNotAvailable: { kind: 'retryable', reason: 'unavailable' },
  RequestTimeout: { kind: 'retryable', reason: 'timeout' },
  /** request timestamp outside the exchange's window: a fresh request carries a fresh timestamp */
  InvalidNonce: { kind: 'retryable', reason: 'network' },
  ChecksumError: { kind: 'retryable', reason: 'network' },
  NetworkError: { kind: 'retryable', reason: 'network' },
  BadResponse: { kind: 'retryable', reason: 'bad_response' },
  NullResponse: { kind: 'retryable', reason: 'bad_response' },
  CancelPending: { kind: 'retryable', reason: 'unavailable' },
  OperationFailed: { kind: 'retryable', reason: 'network' },
  // final: retrying the same request cannot help
  InsufficientFunds: { kind: 'final', reason: 'insufficient_funds' },
  OrderNotFound: { kind: 'final', reason: 'order_not_found' },
  OrderNotCached: { kind: 'final', reason: 'order_not_found' },
  DuplicateOrderId: { kind: 'final', reason: 'duplicate_order' },
  OrderImmediatelyFillable: { kind: 'final', reason: 'invalid_order' },
  OrderNotFillable: { kind: 'final', reason: 'invalid_order' },
  ContractUnavailable: { kind: 'final', reason: 'invalid_order' },
  InvalidOrder: { kind: 'final', reason: 'invalid_order' },
  AccountSuspended: { kind: 'final', reason: 'permission_denied' },
  AccountNotEnabled: { kind: 'final', reason: 'permission_denied' },
  PermissionDenied: { kind: 'final', reason: 'permission_denied' },
  AuthenticationError: { kind: 'final', reason: 'authentication' },
  BadSymbol: { kind: 'final', reason: 'bad_symbol' },
  ArgumentsRequired: { kind: 'final', reason: 'bad_request' },
  BadRequest: { kind: 'final', reason: 'bad_request' },
  MarketClosed: { kind: 'final', reason: 'rejected' },
  RestrictedLocation: { kind: 'final', reason: 'permission_denied' },
  OperationRejected: { kind: 'final', reason: 'rejected' },
  NotSupported: { kind: 'final', reason: 'not_supported' },
  AddressPending: { kind: 'final', reason: 'bad_request' },
  InvalidAddress: { kind: 'final', reason: 'bad_request' },
  InvalidProxySettings: { kind: 'final', reason: 'bad_request' },
  ManualInteractionNeeded: { kind: 'final', reason: 'rejected' },
  MarginModeAlreadySet: { kind: 'final', reason: 'rejected' },
  NoChange: { kind: 'final', reason: 'rejected' },
  ExchangeClosedByUser: { kind: 'final', reason: 'rejected' },
  ExchangeError: { kind: 'final', reason: 'rejected' },
};

/** Names of the error's classes, most-derived first (ccxt sets `name` per class; constructors keep theirs). */
function classChain(e: Error): string[] {
  const names: string[] = [e.name];
  for (let p = Object.getPrototypeOf(e) as object | null; p && p !== Error.prototype; p = Object.getPrototypeOf(p) as object | null) {
    const n = (p as { constructor?: { name?: string } }).constructor?.name;
    if (n && names[names.length - 1] !== n) names.push(n);
  }
  return names;
}

export type CcxtOperation = 'createOrder' | 'cancelOrder' | 'fetchOrder' | 'fetchOpenOrders' | 'fetchBalance' | 'loadMarkets';

/** Signatures in a request URL are one-time, but they are still nobody's business in a log line. */
function clean(msg: string): string {
  return msg.replace(/signature=[0-9a-fA-F]+/g, 'signature=[REDACTED]');
}

/**
 * Maps anything a ccxt call threw to our ExchangeError classes.
 * For `createOrder` every retryable failure except a rate limit becomes UnknownOutcomeError: a timeout, a lost
 * connection or a 5xx may come after the exchange accepted the order (Binance documents 5xx on order placement
 * as "status UNKNOWN"). A rate-limit answer means the request was refused unprocessed, so it stays retryable.
 * Binance's "Duplicate order sent." (-2010, an InvalidOrder in ccxt) and "Filter failure" (-1013, BadRequest)
 * are refined by message. An error that is not ccxt's: unknown outcome for a create, else rethrown as INTERNAL.
 */
export function mapCcxtError(e: unknown, exchange: string, op: CcxtOperation, clientOrderId?: string): AppError {
  if (e instanceof AppError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const message = clean(err.message);
  let entry = classChain(err)
    .map((n) => CCXT_ERROR_TABLE[n])
    .find((x) => x !== undefined);
  if (entry?.kind === 'final' && /duplicate order/i.test(message)) entry = { kind: 'final', reason: 'duplicate_order' };
  if (entry?.kind === 'final' && entry.reason === 'bad_request' && /filter failure/i.test(message)) entry = { kind: 'final', reason: 'invalid_order' };

  if (entry === undefined) {
    if (op === 'createOrder' && clientOrderId !== undefined)
      return new UnknownOutcomeError('bad_response', exchange, clientOrderId, `unexpected failure after sending: ${message}`, { cause: err });
    return new AppError('INTERNAL', `${exchange} ${op}: ${message}`, { cause: err });
  }
  if (entry.kind === 'final') return new FinalExchangeError(entry.reason, exchange, op, message, { cause: err });
  if (op === 'createOrder' && clientOrderId !== undefined && entry.reason !== 'rate_limited')
    return new UnknownOutcomeError(entry.reason, exchange, clientOrderId, message, { cause: err });
  return new RetryableExchangeError(entry.reason, exchange, op, message, { cause: err });
}
