import { AppError } from '@meridian/core';
import type { LlmCallUsage } from './llm-client.ts';

/** USD per million tokens. */
export interface LlmPricing {
  readonly inputPerMTok: number;
  readonly outputPerMTok: number;
}

export interface LlmBudgetLimits {
  /** total tokens (input + output) this budget allows; undefined = no token limit */
  readonly maxTokens?: number;
  readonly maxCostUsd?: number;
  readonly pricing?: LlmPricing;
}

/**
 * A token and cost budget shared by every call that holds it (e.g. one backtest run). Checked
 * before a request is sent — with a conservative estimate of its size — so an exhausted budget
 * never reaches the provider; charged afterwards with the provider's reported usage.
 */
export class LlmBudget {
  #tokens = 0;
  #cost = 0;
  constructor(readonly limits: LlmBudgetLimits = {}) {}

  get spentTokens(): number {
    return this.#tokens;
  }

  get spentCostUsd(): number {
    return this.#cost;
  }

  costOf(inputTokens: number, outputTokens: number): number {
    const p = this.limits.pricing;
    if (p === undefined) return 0;
    return (inputTokens * p.inputPerMTok + outputTokens * p.outputPerMTok) / 1e6;
  }

  /** Throws BUDGET_EXCEEDED when a request of this estimated size would not fit. */
  assertCanSpend(estimatedInputTokens: number, maxOutputTokens: number): void {
    const { maxTokens, maxCostUsd } = this.limits;
    const need = estimatedInputTokens + maxOutputTokens;
    if (maxTokens !== undefined && this.#tokens + need > maxTokens)
      throw new AppError('BUDGET_EXCEEDED', `token budget: ${this.#tokens} of ${maxTokens} used, this request may need ${need}`, {
        hint: 'raise the LLM token budget or use the deterministic policy',
      });
    const cost = this.costOf(estimatedInputTokens, maxOutputTokens);
    if (maxCostUsd !== undefined && this.#cost + cost > maxCostUsd)
      throw new AppError('BUDGET_EXCEEDED', `cost budget: $${this.#cost.toFixed(4)} of $${maxCostUsd} used, this request may cost $${cost.toFixed(4)}`, {
        hint: 'raise the LLM cost budget or use the deterministic policy',
      });
  }

  charge(inputTokens: number, outputTokens: number): LlmCallUsage {
    const costUsd = this.costOf(inputTokens, outputTokens);
    this.#tokens += inputTokens + outputTokens;
    this.#cost += costUsd;
    return { inputTokens, outputTokens, costUsd };
  }
}

/** A deliberately generous estimate (≈ 3 characters per token) so the pre-check errs on the safe side. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 3);
}
