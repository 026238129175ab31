/**
 * Publishing closed candles as events, free of I/O: where they go is a `Publish` function (a queue's
 * `add(candleClosedJob, c)`), so `meridian feed replay` (to BullMQ) and the embedded worker's `--replay`
 * (to its in-process queue) share it.
 */
import type { Candle } from '@meridian/contracts';

/** Where events go: `queue.add(candleClosedJob, c)` (a function, so the loops below stay free of I/O imports). */
export type Publish = (c: Candle) => Promise<{ added: boolean }>;
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const abortableSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });

export interface ReplayOptions {
  readonly candles: readonly Candle[];
  readonly publish: Publish;
  /** null: as fast as possible; n: bar time divided by n (60 → a 1m bar every second) */
  readonly speed: number | null;
  readonly sleep?: Sleep;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface FeedReport {
  readonly published: number;
  /** events whose job was still waiting in the queue (deduplicated) */
  readonly duplicates: number;
}

/** Publish candles in time order; the pause before each is its distance in bar time from the previous one, divided by `speed`. */
export async function replayCandles(o: ReplayOptions): Promise<FeedReport> {
  const sleep = o.sleep ?? abortableSleep;
  let published = 0;
  let duplicates = 0;
  let prev: number | null = null;
  for (const c of o.candles) {
    if (o.signal?.aborted) break;
    if (o.speed !== null && prev !== null) await sleep((c.ts - prev) / o.speed, o.signal);
    if (o.signal?.aborted) break;
    prev = c.ts;
    const r = await o.publish(c);
    if (r.added) published++;
    else duplicates++;
    o.onProgress?.(published + duplicates, o.candles.length);
  }
  return { published, duplicates };
}
