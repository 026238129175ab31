import { HumanMessage, SystemMessage, type AIMessage } from '@langchain/core/messages';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { ChatOpenAICompletions } from '@langchain/openai';
import { AppError, isAppError } from '@meridian/core';
import { z } from 'zod';
import { LlmBudget, estimateTokens, type LlmBudgetLimits } from './llm-budget.ts';
import type { LlmClient, LlmUsageTotals, StructuredRequest, StructuredResponse } from './llm-client.ts';
import { ResponseCacheStore, cacheKeyOf, type ResponseCache } from './response-cache.ts';

export type LlmProvider = 'openai' | 'ollama' | 'openai-compatible' | 'anthropic';

export interface LlmClientOptions {
  readonly provider: LlmProvider;
  readonly model: string;
  /** OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1 for Ollama */
  readonly baseURL?: string;
  readonly apiKey?: string;
  /** 0 by default: the same prompt should give the same answer */
  readonly temperature?: number;
  readonly maxOutputTokens?: number;
  /** per request (each retry gets its own) */
  readonly timeoutMs?: number;
  /** extra attempts after a retryable failure (provider 5xx/429/network, timeout, malformed answer) */
  readonly maxRetries?: number;
  /** a budget shared with other clients, or limits for a new one */
  readonly budget?: LlmBudget | LlmBudgetLimits;
  /** a shared cache, or a directory for a new on-disk one; default: in-memory only */
  readonly cache?: ResponseCache | { readonly dir: string };
}

const DEFAULTS = { temperature: 0, maxOutputTokens: 512, timeoutMs: 20_000, maxRetries: 1 } as const;

/**
 * LlmClient over a LangChain chat model. OpenAI, Ollama and any OpenAI-compatible server go
 * through `ChatOpenAICompletions` (the /v1/chat/completions API) with a configurable baseURL and
 * JSON mode; the answer is parsed with the caller's zod schema. Retries, timeouts, budget and
 * cache are ours, not LangChain's (its own retries are off), so each is counted exactly once.
 * Anthropic: not wired yet — @langchain/anthropic is not installed in this workspace.
 */
export class LangChainLlmClient implements LlmClient {
  readonly provider: LlmProvider;
  readonly model: string;
  readonly budget: LlmBudget;
  readonly cache: ResponseCache;
  readonly #chat: BaseChatModel;
  readonly #opts: Required<Pick<LlmClientOptions, 'temperature' | 'maxOutputTokens' | 'timeoutMs' | 'maxRetries'>>;
  #requests = 0;
  #cacheHits = 0;
  #retries = 0;
  #inputTokens = 0;
  #outputTokens = 0;
  #costUsd = 0;

  constructor(options: LlmClientOptions, chatModel?: BaseChatModel) {
    this.provider = options.provider;
    this.model = options.model;
    this.#opts = {
      temperature: options.temperature ?? DEFAULTS.temperature,
      maxOutputTokens: options.maxOutputTokens ?? DEFAULTS.maxOutputTokens,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      maxRetries: options.maxRetries ?? DEFAULTS.maxRetries,
    };
    this.budget = options.budget instanceof LlmBudget ? options.budget : new LlmBudget(options.budget ?? {});
    const c = options.cache;
    this.cache = c === undefined ? new ResponseCacheStore() : 'dir' in c ? new ResponseCacheStore(c.dir) : c;
    this.#chat = chatModel ?? makeChatModel(options, this.#opts);
  }

  usage(): LlmUsageTotals {
    return {
      requests: this.#requests,
      cacheHits: this.#cacheHits,
      retries: this.#retries,
      inputTokens: this.#inputTokens,
      outputTokens: this.#outputTokens,
      costUsd: this.#costUsd,
    };
  }

  async structured<T>(req: StructuredRequest<T>): Promise<StructuredResponse<T>> {
    const jsonSchema = z.toJSONSchema(req.schema, { unrepresentable: 'any' });
    const system = `${req.system}\n\nAnswer with one JSON object only, matching this JSON Schema (${req.schemaName}):\n${JSON.stringify(jsonSchema)}`;
    const cacheKey = cacheKeyOf({
      provider: this.provider,
      model: this.model,
      temperature: this.#opts.temperature,
      maxOutputTokens: this.#opts.maxOutputTokens,
      schemaName: req.schemaName,
      system,
      prompt: req.prompt,
    });

    const cached = await this.cache.get(cacheKey);
    if (cached !== undefined) {
      const parsed = parseAnswer(cached.content, req);
      if (parsed.ok) {
        this.#cacheHits++;
        return { value: parsed.value, cached: true, usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 }, model: cached.model, cacheKey };
      }
      // an entry the current schema rejects (the schema changed): ask again
    }

    let lastError: AppError | undefined;
    for (let attempt = 0; attempt <= this.#opts.maxRetries; attempt++) {
      if (req.signal?.aborted) throw new AppError('TIMEOUT', 'the LLM call was cancelled', { cause: req.signal.reason });
      this.budget.assertCanSpend(estimateTokens(system) + estimateTokens(req.prompt), this.#opts.maxOutputTokens);
      if (attempt > 0) this.#retries++;
      this.#requests++;
      let content: string;
      try {
        const signals = [AbortSignal.timeout(this.#opts.timeoutMs)];
        if (req.signal) signals.push(req.signal);
        const msg = await this.#chat.invoke([new SystemMessage(system), new HumanMessage(req.prompt)], {
          signal: AbortSignal.any(signals),
          response_format: { type: 'json_object' },
        } as Parameters<BaseChatModel['invoke']>[1]);
        const usage = this.#charge(msg);
        content = textOf(msg);
        const parsed = parseAnswer(content, req);
        if (parsed.ok) {
          await this.cache.set(cacheKey, { content, model: this.model, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens });
          return { value: parsed.value, cached: false, usage, model: this.model, cacheKey };
        }
        lastError = new AppError('VALIDATION', `${this.model} answered ${req.schemaName} wrongly: ${parsed.error}`);
      } catch (e) {
        lastError = classify(e, this.#opts.timeoutMs, req.signal);
        if (!lastError.retryable || req.signal?.aborted) throw lastError;
      }
    }
    throw lastError ?? new AppError('INTERNAL', 'LLM call ended without an answer');
  }

  #charge(msg: AIMessage): { inputTokens: number; outputTokens: number; costUsd: number } {
    const u = msg.usage_metadata;
    const usage = this.budget.charge(u?.input_tokens ?? 0, u?.output_tokens ?? 0);
    this.#inputTokens += usage.inputTokens;
    this.#outputTokens += usage.outputTokens;
    this.#costUsd += usage.costUsd;
    return usage;
  }
}

function makeChatModel(options: LlmClientOptions, o: { temperature: number; maxOutputTokens: number }): BaseChatModel {
  switch (options.provider) {
    case 'openai':
    case 'ollama':
    case 'openai-compatible': {
      const baseURL = options.baseURL ?? (options.provider === 'ollama' ? 'http://127.0.0.1:11434/v1' : undefined);
      if (options.provider === 'openai-compatible' && baseURL === undefined)
        throw new AppError('CONFIG', 'an openai-compatible LLM provider needs a baseURL', { hint: 'set the LLM base URL, e.g. http://127.0.0.1:8000/v1' });
      // Ollama and most local servers ignore the key, but the OpenAI SDK insists on one
      const apiKey = options.apiKey ?? (options.provider === 'openai' ? undefined : 'not-needed');
      if (apiKey === undefined) throw new AppError('CONFIG', 'the openai LLM provider needs an API key', { hint: 'set the OpenAI API key in the configuration' });
      return new ChatOpenAICompletions({
        model: options.model,
        apiKey,
        temperature: o.temperature,
        maxTokens: o.maxOutputTokens,
        maxRetries: 0,
        configuration: baseURL === undefined ? {} : { baseURL },
      }) as unknown as BaseChatModel;
    }
    case 'anthropic':
      throw new AppError('CONFIG', 'the anthropic LLM provider is not available: @langchain/anthropic is not installed', {
        hint: 'use provider openai, ollama or openai-compatible (or add @langchain/anthropic to packages/llm)',
      });
  }
}

function textOf(msg: AIMessage): string {
  const c = msg.content;
  if (typeof c === 'string') return c;
  return c.map((part) => (typeof part === 'string' ? part : 'text' in part && typeof part.text === 'string' ? part.text : '')).join('');
}

function parseAnswer<T>(content: string, req: StructuredRequest<T>): { ok: true; value: T } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(stripFences(content));
  } catch {
    return { ok: false, error: `not JSON: ${content.slice(0, 80)}` };
  }
  const r = req.schema.safeParse(json);
  if (r.success) return { ok: true, value: r.data };
  const i = r.error.issues[0];
  return { ok: false, error: i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'schema mismatch' };
}

/** Some models wrap JSON in a ```json fence even in JSON mode. */
function stripFences(s: string): string {
  const t = s.trim();
  if (!t.startsWith('```')) return t;
  return t.replace(/^```[a-z]*\s*/i, '').replace(/```\s*$/, '');
}

function classify(e: unknown, timeoutMs: number, outer: AbortSignal | undefined): AppError {
  if (isAppError(e)) return e;
  const err = e as { name?: string; status?: number; message?: string; cause?: unknown };
  if (outer?.aborted) return new AppError('TIMEOUT', 'the LLM call was cancelled', { cause: e });
  const msg = err.message ?? String(e);
  if (err.name === 'TimeoutError' || err.name === 'AbortError' || /abort|timed? ?out/i.test(msg))
    return new AppError('TIMEOUT', `no answer from the LLM within ${timeoutMs} ms`, { cause: e });
  const status = typeof err.status === 'number' ? err.status : undefined;
  if (status === 429) return new AppError('RATE_LIMITED', `LLM provider rate limit: ${msg}`, { cause: e });
  if (status !== undefined && status >= 400 && status < 500)
    return new AppError('VALIDATION', `LLM provider rejected the request (${status}): ${msg}`, { cause: e, hint: 'check the model name, key and parameters' });
  return new AppError('LLM_UNAVAILABLE', `LLM provider unavailable: ${msg}`, { cause: e });
}
