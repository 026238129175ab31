/**
 * One error type for the whole system. `code` is a closed union; each code maps
 * once to an HTTP status (api) and a process exit code (cli).
 * Expected business outcomes (a risk rejection, an invalid candle row) are values,
 * not exceptions — AppError is for requests that cannot be served and broken infrastructure.
 */
export const ERROR_CODES = [
  'VALIDATION',
  'CONFIG',
  'NOT_FOUND',
  'CONFLICT',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'RISK_REJECTED',
  'TRADING_HALTED',
  'APPROVAL_INVALID',
  'EXCHANGE_UNAVAILABLE',
  'EXCHANGE_REJECTED',
  'RATE_LIMITED',
  'TIMEOUT',
  'DB_UNAVAILABLE',
  'QUEUE_UNAVAILABLE',
  'LLM_UNAVAILABLE',
  'BUDGET_EXCEEDED',
  'DATA_INTEGRITY',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

interface CodeInfo {
  readonly http: number;
  readonly exit: number;
  /** true when retrying the same operation later may succeed */
  readonly retryable: boolean;
}

const CODE_INFO: { readonly [C in ErrorCode]: CodeInfo } = {
  VALIDATION: { http: 400, exit: 2, retryable: false },
  CONFIG: { http: 500, exit: 78, retryable: false },
  NOT_FOUND: { http: 404, exit: 3, retryable: false },
  CONFLICT: { http: 409, exit: 4, retryable: false },
  UNAUTHORIZED: { http: 401, exit: 5, retryable: false },
  FORBIDDEN: { http: 403, exit: 5, retryable: false },
  RISK_REJECTED: { http: 422, exit: 6, retryable: false },
  TRADING_HALTED: { http: 423, exit: 7, retryable: false },
  APPROVAL_INVALID: { http: 422, exit: 6, retryable: false },
  EXCHANGE_UNAVAILABLE: { http: 503, exit: 69, retryable: true },
  EXCHANGE_REJECTED: { http: 422, exit: 8, retryable: false },
  RATE_LIMITED: { http: 429, exit: 75, retryable: true },
  TIMEOUT: { http: 504, exit: 75, retryable: true },
  DB_UNAVAILABLE: { http: 503, exit: 69, retryable: true },
  QUEUE_UNAVAILABLE: { http: 503, exit: 69, retryable: true },
  LLM_UNAVAILABLE: { http: 503, exit: 69, retryable: true },
  BUDGET_EXCEEDED: { http: 429, exit: 9, retryable: false },
  DATA_INTEGRITY: { http: 422, exit: 10, retryable: false },
  INTERNAL: { http: 500, exit: 1, retryable: false },
};

export interface AppErrorOptions {
  /** what the user should do next; printed after the message */
  hint?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get httpStatus(): number {
    return httpStatusOf(this.code);
  }

  get exitCode(): number {
    return exitCodeOf(this.code);
  }

  get retryable(): boolean {
    return CODE_INFO[this.code].retryable;
  }

  /** one line for a person: message, then what to do */
  toUserMessage(): string {
    return this.hint ? `${this.message} — ${this.hint}` : this.message;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export function httpStatusOf(code: ErrorCode): number {
  return CODE_INFO[code].http;
}

export function exitCodeOf(code: ErrorCode): number {
  return CODE_INFO[code].exit;
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** Wrap anything thrown into an AppError (unknown errors become INTERNAL). */
export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (e instanceof Error) return new AppError('INTERNAL', e.message, { cause: e });
  return new AppError('INTERNAL', String(e));
}
