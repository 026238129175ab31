import type { PolicyKind } from '@meridian/contracts';
import { AppError, isAppError } from '@meridian/core';
import type { ZodType } from 'zod';

/** Per-run context the orchestrator passes to every agent. */
export interface AgentContext {
  /** made by the orchestrator: uuidv7 live, deterministicId in backtests */
  readonly decisionId: string;
  /** aborts an LLM call when the graph run is cancelled */
  readonly signal?: AbortSignal;
}

/** One way of producing an agent's output: the deterministic rules, or an LLM. */
export interface AgentPolicy<I, O> {
  readonly kind: PolicyKind;
  /** goes into the output's agentVersion and the trace */
  readonly version: string;
  run(input: I, ctx: AgentContext): Promise<O>;
}

/** The fields every agent output carries to say which policy produced it. */
interface Provenance {
  policy: PolicyKind;
  fallbackReason: string | null;
}

/** Wrap a synchronous deterministic agent function as a policy. */
export function deterministicPolicy<I, O>(version: string, fn: (input: I, ctx: AgentContext) => O): AgentPolicy<I, O> & { runSync(input: I, ctx: AgentContext): O } {
  return {
    kind: 'deterministic',
    version,
    run: (input, ctx) => Promise.resolve(fn(input, ctx)),
    runSync: fn,
  };
}

export interface FallbackOptions<O> {
  /** the contracts schema the LLM output must pass */
  readonly schema: ZodType<O>;
  /** wall-clock limit for the LLM policy (the LLM client has its own per-call timeout too) */
  readonly timeoutMs: number;
  /** called once per fallback, e.g. to log or count it */
  readonly onFallback?: (reason: string) => void;
}

/** Why an LLM policy's answer was not used, as one line for the trace. */
export function fallbackReasonOf(e: unknown): string {
  if (isAppError(e)) {
    switch (e.code) {
      case 'TIMEOUT':
        return `llm timeout: ${e.message}`;
      case 'BUDGET_EXCEEDED':
        return `llm budget exceeded: ${e.message}`;
      case 'VALIDATION':
        return `llm output invalid: ${e.message}`;
      default:
        return `llm error (${e.code}): ${e.message}`;
    }
  }
  return `llm error: ${e instanceof Error ? e.message : String(e)}`;
}

/**
 * Use the LLM policy when it answers in time, within budget, with output that passes the contracts
 * schema; otherwise answer with the deterministic policy, marked `policy: 'deterministic'` and the
 * reason in `fallbackReason`. Never throws for an LLM failure.
 */
export function withFallback<I, O extends Provenance>(llm: AgentPolicy<I, O>, fallback: AgentPolicy<I, O>, options: FallbackOptions<O>): AgentPolicy<I, O> {
  return {
    kind: 'llm',
    version: llm.version,
    async run(input, ctx) {
      let reason: string;
      try {
        const raw = await runWithTimeout(llm, input, ctx, options.timeoutMs);
        const parsed = options.schema.safeParse(raw);
        if (parsed.success) {
          if (parsed.data.policy !== 'llm')
            throw new AppError('VALIDATION', `the LLM policy must mark its output policy 'llm', got '${parsed.data.policy}'`);
          return parsed.data;
        }
        const first = parsed.error.issues[0];
        reason = `llm output invalid: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'schema mismatch'}`;
      } catch (e) {
        reason = fallbackReasonOf(e);
      }
      options.onFallback?.(reason);
      const out = await fallback.run(input, ctx);
      return { ...out, policy: 'deterministic', fallbackReason: reason.length <= 500 ? reason : reason.slice(0, 500) };
    },
  };
}

async function runWithTimeout<I, O>(policy: AgentPolicy<I, O>, input: I, ctx: AgentContext, timeoutMs: number): Promise<O> {
  const ac = new AbortController();
  const onOuterAbort = () => ac.abort(ctx.signal?.reason);
  ctx.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort(new AppError('TIMEOUT', `no answer within ${timeoutMs} ms`));
      reject(new AppError('TIMEOUT', `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([policy.run(input, { ...ctx, signal: ac.signal }), timeout]);
  } finally {
    clearTimeout(timer);
    ctx.signal?.removeEventListener('abort', onOuterAbort);
  }
}
