import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeRoute, FakeServer } from '../fake-binance/fake-server.ts';
import type { FakeTrading } from '../fake-binance/trading.ts';

/** the repository root (this file is test/chaos/executor-harness.ts) */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Small seeded PRNG (mulberry32): the same seed gives the same faults and kill points. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ExecutorProcess {
  readonly child: ChildProcess;
  /** everything the process wrote to stdout and stderr so far */
  output(): string;
  /** resolves with the exit code / signal */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** resolves when the process logged "executor started" (rejects if it exits first) */
  readonly started: Promise<void>;
}

/** Spawn the real executor process (`apps/executor/src/main.ts`) with exactly this environment. */
export function spawnExecutor(env: Record<string, string>, args: readonly string[] = []): ExecutorProcess {
  const child = spawn(process.execPath, ['--conditions=@meridian/source', '--import', 'tsx', 'apps/executor/src/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let onStarted: (() => void) | undefined;
  const started = new Promise<void>((resolve, reject) => {
    onStarted = resolve;
    child.once('exit', (code) => reject(new Error(`executor exited (${code}) before it started:\n${out.slice(-3000)}`)));
  });
  started.catch(() => undefined);
  const collect = (b: Buffer) => {
    out += b.toString('utf8');
    if (onStarted && out.includes('"msg":"executor started"')) {
      onStarted();
      onStarted = undefined;
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited, started };
}

/**
 * Random faults at `rate` of all requests, seeded: core faults (5xx, 429, dropped connection, latency past the
 * client timeout) are queued with geometric gaps so that on average `rate` of requests hit one; on order creates,
 * the trading faults (order accepted, answer dropped / held past the timeout) are injected at `tradingRate`.
 */
export function injectRandomFaults(
  server: FakeServer,
  trading: FakeTrading,
  opts: { rate: number; tradingRate: number; seed: number; count: number; holdMs: number },
): { wrap(routes: readonly FakeRoute[]): FakeRoute[] } {
  const rnd = seededRandom(opts.seed);
  for (let i = 0; i < opts.count; i++) {
    // number of clean requests before the next fault ~ Geometric(rate)
    const after = Math.floor(Math.log(1 - rnd()) / Math.log(1 - opts.rate));
    const k = rnd();
    if (k < 0.35) server.inject({ kind: 'status', status: 503, after });
    else if (k < 0.55) server.inject({ kind: 'status', status: 429, after });
    else if (k < 0.8) server.inject({ kind: 'drop', after });
    else server.inject({ kind: 'latency', ms: opts.holdMs, after });
  }
  const trnd = seededRandom(opts.seed ^ 0x5bd1e995);
  return {
    wrap: (routes) =>
      routes.map((r) =>
        r.method === 'POST' && r.path === '/api/v3/order'
          ? {
              ...r,
              handler: (req) => {
                if (trnd() < opts.tradingRate) trading.inject(trnd() < 0.5 ? { kind: 'accept-and-drop' } : { kind: 'accept-and-hold', ms: opts.holdMs });
                return r.handler(req);
              },
            }
          : r,
      ),
  };
}
