import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A local stand-in for the Binance REST API, for tests that drive ccxt's real `binance` class.
 * The server is a route table: modules register routes (`server.register(routes)`), so the
 * market-data routes (market-data-routes.ts) and, later, trading routes live in separate files.
 * Faults are one-shot and queued: each is consumed by the next request whose path matches.
 */
export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface FakeResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
  /** the handler's work is done (e.g. an order stored), but the connection is destroyed instead of answered */
  readonly drop?: boolean;
}

export type FakeHandler = (req: FakeRequest) => FakeResponse | Promise<FakeResponse>;

export interface FakeRoute {
  readonly method: 'GET' | 'POST' | 'DELETE' | 'PUT';
  readonly path: string;
  readonly handler: FakeHandler;
}

/** `after`: let that many matching requests through first (a fault in the middle of a download) */
export type Fault =
  | { readonly kind: 'status'; readonly status: number; readonly body?: unknown; readonly retryAfterSec?: number; readonly path?: string; readonly after?: number }
  | { readonly kind: 'drop'; readonly path?: string; readonly after?: number }
  | { readonly kind: 'latency'; readonly ms: number; readonly path?: string; readonly after?: number };

export interface RequestLogEntry {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly status: number | 'dropped';
  readonly fault: Fault['kind'] | null;
  readonly at: number;
}

export interface FakeServer {
  readonly url: string;
  readonly port: number;
  readonly log: RequestLogEntry[];
  register(routes: readonly FakeRoute[]): void;
  /** queue one-shot faults (consumed in order by matching requests) */
  inject(...faults: Fault[]): void;
  pendingFaults(): number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startFakeServer(routes: readonly FakeRoute[] = []): Promise<FakeServer> {
  const table = new Map<string, FakeHandler>();
  const faults: { fault: Fault; wait: number }[] = [];
  const log: RequestLogEntry[] = [];
  const sockets = new Set<Socket>();
  const register = (rs: readonly FakeRoute[]): void => {
    for (const r of rs) {
      const k = `${r.method} ${r.path}`;
      if (table.has(k)) throw new Error(`fake server: route ${k} registered twice`);
      table.set(k, r.handler);
    }
  };
  register(routes);

  const server = http.createServer((req, res) => {
    const arrivedAt = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const u = new URL(req.url ?? '/', 'http://127.0.0.1');
        const entry = { method: req.method ?? 'GET', path: u.pathname, query: Object.fromEntries(u.searchParams), at: arrivedAt };
        // the first queued fault for this path fires; faults still waiting count this request down
        let fault: Fault | null = null;
        for (let i = 0; i < faults.length; i++) {
          const q = faults[i]!;
          if (q.fault.path !== undefined && q.fault.path !== u.pathname) continue;
          if (q.wait > 0) {
            q.wait--;
            break;
          }
          fault = q.fault;
          faults.splice(i, 1);
          break;
        }
        if (fault?.kind === 'drop') {
          log.push({ ...entry, status: 'dropped', fault: 'drop' });
          req.socket.destroy();
          return;
        }
        if (fault?.kind === 'latency') await new Promise((r) => setTimeout(r, fault.ms));
        let out: FakeResponse;
        if (fault?.kind === 'status') {
          out = {
            status: fault.status,
            body: fault.body ?? defaultFaultBody(fault.status),
            headers: fault.retryAfterSec !== undefined ? { 'Retry-After': String(fault.retryAfterSec) } : {},
          };
        } else {
          const h = table.get(`${entry.method} ${entry.path}`);
          try {
            out = h
              ? await h({ method: entry.method, path: entry.path, query: u.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
              : { status: 404, body: { code: -1, msg: `fake binance: no route ${entry.method} ${entry.path}` } };
          } catch (e) {
            out = { status: 500, body: { code: -1000, msg: `fake binance handler failed: ${(e as Error).message}` } };
          }
        }
        if (out.drop) {
          log.push({ ...entry, status: 'dropped', fault: fault?.kind ?? null });
          req.socket.destroy();
          return;
        }
        log.push({ ...entry, status: out.status, fault: fault?.kind ?? null });
        const text = typeof out.body === 'string' ? out.body : JSON.stringify(out.body);
        res.writeHead(out.status, { 'Content-Type': typeof out.body === 'string' ? 'text/html' : 'application/json;charset=UTF-8', ...out.headers });
        res.end(text);
      })();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    register,
    inject: (...fs) => {
      for (const f of fs) faults.push({ fault: f, wait: f.after ?? 0 });
    },
    pendingFaults: () => faults.length,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function defaultFaultBody(status: number): unknown {
  if (status === 429) return { code: -1003, msg: 'Too much request weight used; current limit is 6000 request weight per 1 MINUTE.' };
  if (status === 418) return { code: -1003, msg: 'Way too much request weight used; IP banned.' };
  if (status >= 500) return '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>';
  return { code: -1000, msg: 'An unknown error occurred while processing the request.' };
}
