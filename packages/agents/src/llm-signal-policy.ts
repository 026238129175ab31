import { DirectionSchema, SignalProposalSchema, type SignalProposal } from '@meridian/contracts';
import { canonicalJson } from '@meridian/core';
import type { LlmClient } from '@meridian/llm';
import { z } from 'zod';
import { withFallback, type AgentPolicy } from './agent-policy.ts';
import { signalPolicy } from './policies.ts';
import { roundTo } from './numeric.ts';
import type { SignalInput } from './signal-agent.ts';
import { SIGNAL_RULES } from './signal-agent.ts';


/** What the model is asked for; everything else in the SignalProposal is filled in from the input. */
export const LlmSignalAnswerSchema = z
  .object({
    direction: DirectionSchema,
    strength: z.number().min(0).max(1),
    /** the model's probability that price reaches target before stop (not calibrated: see docs/agents.md) */
    confidence: z.number().min(0).max(1),
    stop: z.number().positive().nullable(),
    target: z.number().positive().nullable(),
    rationale: z.string().min(1).max(600),
  })
  .strict();
export type LlmSignalAnswer = z.infer<typeof LlmSignalAnswerSchema>;

const SYSTEM = [
  'You are the signal agent of a trading system. From a market analysis and the outcomes of similar past situations,',
  'propose long, short or flat for the next bars. Entry is the last close. A long needs stop < entry < target,',
  'a short needs target < entry < stop; use null stop/target for flat. Prefer flat when evidence conflicts.',
  `Keep reward/risk at least 1.5; the horizon is ${SIGNAL_RULES.horizonBars} bars.`,
].join(' ');

/** The prompt is canonical JSON of the input's relevant parts, so equal inputs hit the response cache. */
export function signalPrompt(input: SignalInput): string {
  const a = input.analysis;
  const r = input.recall;
  return canonicalJson({
    market: { exchange: a.exchange, symbol: a.symbol, timeframe: a.timeframe, asOf: new Date(a.asOf).toISOString() },
    entry: a.close,
    analysis: { trend: a.trend, regime: a.regime, volatilityState: a.volatilityState, momentum: a.momentum, indicators: a.indicators, keyLevels: a.keyLevels, summary: a.summary },
    memory: r === null ? null : { stats: r.stats, neighbours: r.neighbours.map((m) => ({ forwardReturn: m.forwardReturn, mfe: m.mfe, mae: m.mae, distance: roundTo(m.distance, 6) })) },
  });
}

export interface LlmSignalPolicyOptions {
  readonly client: LlmClient;
}

/** The LLM signal policy alone (no fallback): its output still has to pass SignalProposalSchema. */
export function llmSignalPolicy({ client }: LlmSignalPolicyOptions): AgentPolicy<SignalInput, SignalProposal> {
  const version = `signal-llm@1.0.0+${client.provider}:${client.model}`;
  return {
    kind: 'llm',
    version,
    async run(input, ctx) {
      const res = await client.structured({
        system: SYSTEM,
        prompt: signalPrompt(input),
        schema: LlmSignalAnswerSchema,
        schemaName: 'SignalAnswer',
        ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
      });
      const ans = res.value;
      const a = input.analysis;
      const flat = ans.direction === 'flat';
      return {
        schemaVersion: 1,
        exchange: a.exchange,
        symbol: a.symbol,
        timeframe: a.timeframe,
        asOf: a.asOf,
        agentVersion: version,
        policy: 'llm',
        fallbackReason: null,
        direction: ans.direction,
        strength: roundTo(ans.strength, 4),
        confidence: flat ? 0 : roundTo(ans.confidence, 4),
        entry: flat ? null : a.close,
        stop: flat ? null : ans.stop,
        target: flat ? null : ans.target,
        horizonBars: SIGNAL_RULES.horizonBars,
        evidence: {
          indicators: [],
          memoryIds: input.recall === null ? [] : input.recall.neighbours.map((m) => m.memoryId),
          memoryStats: input.recall === null ? null : input.recall.stats,
        },
        rationale: ans.rationale,
      };
    },
  };
}

/** The signal agent with an LLM in front and the deterministic rules behind it. */
export function llmSignalPolicyWithFallback(options: LlmSignalPolicyOptions & { readonly timeoutMs: number; readonly onFallback?: (reason: string) => void }): AgentPolicy<SignalInput, SignalProposal> {
  return withFallback(llmSignalPolicy(options), signalPolicy, {
    schema: SignalProposalSchema,
    timeoutMs: options.timeoutMs,
    ...(options.onFallback === undefined ? {} : { onFallback: options.onFallback }),
  });
}
