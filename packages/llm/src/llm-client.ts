import type { ZodType } from 'zod';

/** Tokens and money one call used (zero for a cache hit). */
export interface LlmCallUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
}

/** What a client has used since it was made (or its budget was shared). */
export interface LlmUsageTotals {
  /** requests sent to the provider (retries included) */
  readonly requests: number;
  readonly cacheHits: number;
  readonly retries: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
}

export interface StructuredRequest<T> {
  readonly system: string;
  /** the exact user prompt; with the system text, model and params it is the cache key */
  readonly prompt: string;
  /** the answer must be a JSON object passing this schema */
  readonly schema: ZodType<T>;
  /** names the schema in the cache key and in errors */
  readonly schemaName: string;
  readonly signal?: AbortSignal;
}

export interface StructuredResponse<T> {
  readonly value: T;
  readonly cached: boolean;
  readonly usage: LlmCallUsage;
  readonly model: string;
  /** sha-256 of the exact request (model, params, messages, schema) */
  readonly cacheKey: string;
}

/**
 * One model behind one interface. Every call has a timeout, a retry budget, a token/cost budget
 * and a response cache keyed by the exact request. Failures are AppErrors: TIMEOUT, BUDGET_EXCEEDED,
 * VALIDATION (the answer was not the JSON the schema wants), LLM_UNAVAILABLE (provider errors).
 */
export interface LlmClient {
  readonly provider: string;
  readonly model: string;
  structured<T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>>;
  usage(): LlmUsageTotals;
}
