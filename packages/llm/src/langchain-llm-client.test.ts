import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startFakeLlmServer, type FakeLlmServer } from '../../../test/fake-llm/fake-llm-server.ts';
import { LangChainLlmClient, type LlmClientOptions } from './langchain-llm-client.ts';
import { LlmBudget } from './llm-budget.ts';

const Answer = z.object({ direction: z.enum(['long', 'short', 'flat']), confidence: z.number().min(0).max(1) }).strict();
const ask = (client: LangChainLlmClient, prompt = '{"close":1}') => client.structured({ system: 'sys', prompt, schema: Answer, schemaName: 'Answer' });

let server: FakeLlmServer;
beforeEach(async () => {
  server = await startFakeLlmServer({ content: '{"direction":"long","confidence":0.61}' });
});
afterEach(async () => {
  await server.close();
});

const client = (over: Partial<LlmClientOptions> = {}) =>
  new LangChainLlmClient({ provider: 'openai-compatible', model: 'fake-1', baseURL: server.baseURL, timeoutMs: 2_000, maxRetries: 1, ...over });

describe('LangChainLlmClient against a local OpenAI-compatible server', () => {
  it('returns the parsed structured answer, sends JSON mode, and counts usage', async () => {
    const c = client({ budget: { maxTokens: 10_000, pricing: { inputPerMTok: 1, outputPerMTok: 2 } } });
    const r = await ask(c);
    expect(r).toMatchObject({ value: { direction: 'long', confidence: 0.61 }, cached: false, usage: { inputTokens: 100, outputTokens: 20 } });
    expect(r.usage.costUsd).toBeCloseTo((100 * 1 + 20 * 2) / 1e6, 12);
    expect(server.requests).toHaveLength(1);
    const body = server.requests[0]!.body;
    expect(body.model).toBe('fake-1');
    expect(body.response_format).toEqual({ type: 'json_object' });
    expect(body.temperature).toBe(0);
    expect(body.messages?.map((m) => m.role)).toEqual(['system', 'user']);
    expect(c.usage()).toMatchObject({ requests: 1, cacheHits: 0, inputTokens: 100, outputTokens: 20 });
  });

  it('answers a repeated request from the cache without a second request', async () => {
    const c = client();
    const a = await ask(c);
    const b = await ask(c);
    expect(b).toMatchObject({ value: a.value, cached: true, cacheKey: a.cacheKey, usage: { costUsd: 0 } });
    expect(server.requests).toHaveLength(1);
    await ask(c, '{"close":2}');
    expect(server.requests).toHaveLength(2);
  });

  it('persists the cache on disk so a new client (a re-run) costs nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-cache-'));
    try {
      await ask(client({ cache: { dir } }));
      expect(await readdir(dir)).toHaveLength(1);
      const rerun = await ask(client({ cache: { dir } }));
      expect(rerun.cached).toBe(true);
      expect(server.requests).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses before sending when the token budget is exhausted', async () => {
    const budget = new LlmBudget({ maxTokens: 50 });
    await expect(ask(client({ budget }))).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
    expect(server.requests).toHaveLength(0);
  });

  it('stops once a shared cost budget is spent', async () => {
    const budget = new LlmBudget({ maxCostUsd: 0.0002, pricing: { inputPerMTok: 1, outputPerMTok: 1 } });
    const c = client({ budget, maxOutputTokens: 50 });
    await ask(c, 'a'); // charged 120 tokens = $0.00012
    await expect(ask(c, 'b')).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
    expect(server.requests).toHaveLength(1);
  });

  it('times out a slow answer and retries within the retry budget', async () => {
    server.reply({ content: '{"direction":"flat","confidence":0}', delayMs: 1_000 });
    await expect(ask(client({ timeoutMs: 100, maxRetries: 1 }))).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(server.requests).toHaveLength(2);
  });

  it('retries a 500 and a broken body, then succeeds', async () => {
    server.reply((_req, i) => (i === 0 ? { status: 500 } : i === 1 ? { brokenBody: true } : { content: '{"direction":"short","confidence":0.4}' }));
    const c = client({ maxRetries: 2 });
    expect((await ask(c)).value).toEqual({ direction: 'short', confidence: 0.4 });
    expect(c.usage()).toMatchObject({ requests: 3, retries: 2 });
  });

  it('rejects an answer that is not the schema’s JSON, after its retries, and does not cache it', async () => {
    server.reply({ content: '{"direction":"up","confidence":2}' });
    const c = client({ maxRetries: 1 });
    await expect(ask(c)).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/direction/) });
    expect(server.requests).toHaveLength(2);
    server.reply({ content: 'not json at all' });
    await expect(ask(c)).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/not JSON/) });
    expect(server.requests).toHaveLength(4);
  });

  it('does not retry a 4xx (a bad request stays bad)', async () => {
    server.reply({ status: 400 });
    await expect(ask(client({ maxRetries: 3 }))).rejects.toMatchObject({ code: 'VALIDATION' });
    expect(server.requests).toHaveLength(1);
  });

  it('explains the providers it cannot serve', () => {
    expect(() => new LangChainLlmClient({ provider: 'anthropic', model: 'claude' })).toThrow(/@langchain\/anthropic is not installed/);
    expect(() => new LangChainLlmClient({ provider: 'openai-compatible', model: 'x' })).toThrow(/needs a baseURL/);
  });
});
