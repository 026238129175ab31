import { SignalProposalSchema, type SignalProposal } from '@meridian/contracts';
import { LangChainLlmClient, LlmBudget } from '@meridian/llm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeLlmServer, type FakeLlmServer } from '../../../test/fake-llm/fake-llm-server.ts';
import { deterministicPolicy, withFallback, type AgentPolicy } from './agent-policy.ts';
import { report } from './agent-test-inputs.ts';
import { llmSignalPolicyWithFallback, signalPrompt } from './llm-signal-policy.ts';
import { proposeSignal, type SignalInput } from './signal-agent.ts';

const input: SignalInput = { analysis: report({ trend: 'up', regime: 'trending', momentum: 0.5, close: 62_310 }), recall: null };
const ctx = { decisionId: '00000000-0000-7000-8000-000000000001' };
const GOOD = JSON.stringify({ direction: 'long', strength: 0.7, confidence: 0.55, stop: 61_500, target: 63_900, rationale: 'Trend and momentum agree.' });

let server: FakeLlmServer;
beforeEach(async () => {
  server = await startFakeLlmServer({ content: GOOD });
});
afterEach(async () => {
  await server.close();
});

function agent(opts: { timeoutMs?: number; maxTokens?: number; clientTimeoutMs?: number } = {}) {
  const client = new LangChainLlmClient({
    provider: 'openai-compatible',
    model: 'fake-1',
    baseURL: server.baseURL,
    timeoutMs: opts.clientTimeoutMs ?? 5_000,
    maxRetries: 0,
    budget: new LlmBudget(opts.maxTokens === undefined ? {} : { maxTokens: opts.maxTokens }),
  });
  const reasons: string[] = [];
  const policy = llmSignalPolicyWithFallback({ client, timeoutMs: opts.timeoutMs ?? 5_000, onFallback: (r) => reasons.push(r) });
  return { policy, reasons };
}

describe('signal agent with an LLM policy and the deterministic fallback', () => {
  it('uses a valid LLM answer (policy llm, no fallback reason)', async () => {
    const { policy, reasons } = agent();
    const s = await policy.run(input, ctx);
    expect(SignalProposalSchema.parse(s)).toEqual(s);
    expect(s).toMatchObject({ policy: 'llm', fallbackReason: null, direction: 'long', entry: 62_310, stop: 61_500, target: 63_900, confidence: 0.55 });
    expect(s.agentVersion).toMatch(/^signal-llm@1\.0\.0\+openai-compatible:fake-1$/);
    expect(reasons).toEqual([]);
    expect(server.requests[0]!.body.messages?.[1]?.content).toBe(signalPrompt(input));
  });

  it('falls back when the answer breaks the contract (a long with its stop above entry)', async () => {
    server.reply({ content: JSON.stringify({ direction: 'long', strength: 0.7, confidence: 0.55, stop: 63_000, target: 63_900, rationale: 'x' }) });
    const { policy, reasons } = agent();
    const s = await policy.run(input, ctx);
    const { policy: _p, fallbackReason: _f, ...det } = proposeSignal(input);
    expect(s).toMatchObject({ ...det, policy: 'deterministic' });
    expect(s.fallbackReason).toMatch(/^llm output invalid: stop: a long needs stop < entry < target/);
    expect(reasons).toEqual([s.fallbackReason]);
  });

  it('falls back when the answer is not JSON of the asked shape', async () => {
    server.reply({ content: '{"direction":"sideways"}' });
    const s = await agent().policy.run(input, ctx);
    expect(s.policy).toBe('deterministic');
    expect(s.fallbackReason).toMatch(/^llm output invalid: .*direction/);
  });

  it('falls back on a timeout', async () => {
    server.reply({ content: GOOD, delayMs: 2_000 });
    const s = await agent({ timeoutMs: 150 }).policy.run(input, ctx);
    expect(s.policy).toBe('deterministic');
    expect(s.fallbackReason).toMatch(/^llm timeout: no answer within 150 ms/);
  });

  it('falls back without calling the server when the budget is exhausted', async () => {
    const s = await agent({ maxTokens: 10 }).policy.run(input, ctx);
    expect(s.policy).toBe('deterministic');
    expect(s.fallbackReason).toMatch(/^llm budget exceeded: token budget/);
    expect(server.requests).toHaveLength(0);
  });

  it('serves a repeated prompt from the cache: one request for two runs, same answer', async () => {
    const { policy } = agent();
    const a = await policy.run(input, ctx);
    const b = await policy.run(input, ctx);
    expect(b).toEqual(a);
    expect(server.requests).toHaveLength(1);
  });

  it('falls back on a provider error', async () => {
    server.reply({ status: 503 });
    const s = await agent().policy.run(input, ctx);
    expect(s.fallbackReason).toMatch(/^llm error \(LLM_UNAVAILABLE\)/);
  });
});

describe('withFallback', () => {
  const det = deterministicPolicy<SignalInput, SignalProposal>('signal@1.0.0', (i) => proposeSignal(i));

  it('rejects an LLM policy that mislabels its output as deterministic', async () => {
    const liar: AgentPolicy<SignalInput, SignalProposal> = { kind: 'llm', version: 'x', run: async (i) => proposeSignal(i) };
    const s = await withFallback(liar, det, { schema: SignalProposalSchema, timeoutMs: 1_000 }).run(input, ctx);
    expect(s.fallbackReason).toMatch(/must mark its output policy 'llm'/);
  });

  it('falls back when the LLM policy throws', async () => {
    const broken: AgentPolicy<SignalInput, SignalProposal> = { kind: 'llm', version: 'x', run: () => Promise.reject(new Error('boom')) };
    const s = await withFallback(broken, det, { schema: SignalProposalSchema, timeoutMs: 1_000 }).run(input, ctx);
    expect(s).toMatchObject({ policy: 'deterministic', fallbackReason: 'llm error: boom' });
  });
});
