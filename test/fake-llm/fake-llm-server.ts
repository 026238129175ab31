import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for an OpenAI-compatible /v1/chat/completions endpoint (no real API is
 * reachable here). Each reply is scripted: JSON content, a delay, an HTTP error, or a malformed
 * body. Every request is recorded so tests can assert how many reached the "provider".
 */
export interface FakeLlmReply {
  /** the assistant message text (usually a JSON string) */
  readonly content?: string;
  /** HTTP status other than 200: answered with an OpenAI-style error body */
  readonly status?: number;
  /** wait this long before answering (to trigger client timeouts) */
  readonly delayMs?: number;
  /** answer 200 with a body that is not JSON at all */
  readonly brokenBody?: boolean;
  readonly promptTokens?: number;
  readonly completionTokens?: number;
}

export interface FakeLlmRequest {
  readonly path: string;
  readonly body: {
    model?: string;
    messages?: { role: string; content: string }[];
    response_format?: unknown;
    [k: string]: unknown;
  };
}

export type FakeLlmScript = FakeLlmReply | ((request: FakeLlmRequest, index: number) => FakeLlmReply);

export interface FakeLlmServer extends AsyncDisposable {
  /** e.g. http://127.0.0.1:43121/v1 */
  readonly baseURL: string;
  readonly requests: readonly FakeLlmRequest[];
  /** replace the script for the following requests */
  reply(script: FakeLlmScript): void;
  close(): Promise<void>;
}

export async function startFakeLlmServer(initial: FakeLlmScript = { content: '{}' }): Promise<FakeLlmServer> {
  let script = initial;
  const requests: FakeLlmRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = req.url ?? '/';
    if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${path}` } }));
      return;
    }
    let body: FakeLlmRequest['body'];
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FakeLlmRequest['body'];
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'request body is not JSON' } }));
      return;
    }
    const request = { path, body };
    const index = requests.length;
    requests.push(request);
    const reply = typeof script === 'function' ? script(request, index) : script;
    if (reply.delayMs !== undefined && reply.delayMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, reply.delayMs);
        timers.add(t);
        res.on('close', () => {
          clearTimeout(t);
          timers.delete(t);
          resolve();
        });
      });
      if (res.destroyed || res.writableEnded) return;
    }
    if (reply.status !== undefined && reply.status !== 200) {
      res
        .writeHead(reply.status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: `fake error ${reply.status}`, type: 'fake_error', code: null } }));
      return;
    }
    if (reply.brokenBody) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices": [ this is not json');
      return;
    }
    const promptTokens = reply.promptTokens ?? 100;
    const completionTokens = reply.completionTokens ?? 20;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: `chatcmpl-fake-${index}`,
        object: 'chat.completion',
        created: 1_700_000_000,
        model: body.model ?? 'fake',
        choices: [{ index: 0, message: { role: 'assistant', content: reply.content ?? '{}' }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      }),
    );
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(e));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const close = async (): Promise<void> => {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    reply(next) {
      script = next;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
