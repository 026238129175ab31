import type { z } from 'zod';
import { AppError } from '@meridian/core';
import type { JobDefinition } from './job-definition.ts';
import {
  FinalJobError,
  describeIssues,
  retryDelayMs,
  type AddResult,
  type JobConsumer,
  type JobHandler,
  type JobQueue,
  type ProcessOptions,
} from './job-queue.ts';

interface Pending {
  readonly jobId: string;
  readonly name: string;
  readonly payload: unknown;
  attempt: number;
}

interface Lane {
  readonly waiting: Pending[];
  /** ids waiting, delayed for a retry, or running: the dedupe set (like BullMQ's existing job ids) */
  readonly live: Set<string>;
  readonly timers: Set<NodeJS.Timeout>;
  consumer: LaneConsumer | undefined;
  /** whenEmpty callers, called once no job is waiting, delayed or running */
  readonly empty: Set<() => void>;
}

interface LaneConsumer {
  readonly def: JobDefinition;
  readonly handler: JobHandler<z.ZodType>;
  readonly opts: ProcessOptions;
  running: number;
  closed: boolean;
  readonly idle: Set<() => void>;
}

/**
 * The embedded-mode queue: same interface and semantics as BullMqQueue, in memory. Jobs are
 * deduplicated by id while waiting, delayed or running; retried with the definition's exponential
 * backoff; FinalJobError fails a job at once. Nothing survives the process — which is fine because
 * the outbox in the database is the source of truth and the relay re-dispatches whatever was not acked.
 */
export class InProcessQueue implements JobQueue {
  readonly kind = 'in-process' as const;
  readonly #lanes = new Map<string, Lane>();
  #closed = false;

  #lane(def: JobDefinition): Lane {
    const key = `${def.queue}/${def.name}`;
    let l = this.#lanes.get(key);
    if (!l) {
      l = { waiting: [], live: new Set(), timers: new Set(), consumer: undefined, empty: new Set() };
      this.#lanes.set(key, l);
    }
    return l;
  }

  async add<S extends z.ZodType>(def: JobDefinition<S>, payload: z.infer<S>): Promise<AddResult> {
    if (this.#closed) throw new AppError('QUEUE_UNAVAILABLE', 'the in-process queue is closed');
    const r = def.schema.safeParse(payload);
    if (!r.success) throw new AppError('VALIDATION', `${def.name} payload is invalid: ${describeIssues(r.error)}`);
    const jobId = def.jobId(r.data);
    const lane = this.#lane(def);
    if (lane.live.has(jobId)) return { jobId, added: false };
    lane.live.add(jobId);
    lane.waiting.push({ jobId, name: def.name, payload: r.data, attempt: 1 });
    this.#pump(lane);
    return { jobId, added: true };
  }

  async enqueue<S extends z.ZodType>(def: JobDefinition<S>, payload: z.infer<S>): Promise<{ readonly jobId: string }> {
    return { jobId: (await this.add(def, payload)).jobId };
  }

  process<S extends z.ZodType>(def: JobDefinition<S>, handler: JobHandler<S>, opts: ProcessOptions = {}): JobConsumer {
    const lane = this.#lane(def);
    if (lane.consumer && !lane.consumer.closed) throw new AppError('CONFLICT', `${def.name} already has a consumer in this process`);
    const c: LaneConsumer = { def, handler: handler as JobHandler<z.ZodType>, opts, running: 0, closed: false, idle: new Set() };
    lane.consumer = c;
    this.#pump(lane);
    return {
      close: async () => {
        c.closed = true;
        if (c.running > 0) await new Promise<void>((resolve) => c.idle.add(resolve));
      },
    };
  }

  async pendingCount(def: JobDefinition): Promise<number> {
    const lane = this.#lane(def);
    return lane.live.size - (lane.consumer?.running ?? 0);
  }

  /**
   * Resolves once no job of `def` is waiting, delayed for a retry or running — every job added so far has
   * been handled (or has failed for good). At once when there are none. Closing the queue resolves it too.
   */
  whenEmpty(def: JobDefinition): Promise<void> {
    const lane = this.#lane(def);
    if (lane.live.size === 0 || this.#closed) return Promise.resolve();
    return new Promise<void>((resolve) => lane.empty.add(resolve));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const waits: Promise<void>[] = [];
    for (const lane of this.#lanes.values()) {
      for (const t of lane.timers) clearTimeout(t);
      lane.timers.clear();
      for (const f of lane.empty) f();
      lane.empty.clear();
      const c = lane.consumer;
      if (c) {
        c.closed = true;
        if (c.running > 0) waits.push(new Promise<void>((resolve) => c.idle.add(resolve)));
      }
    }
    await Promise.all(waits);
  }

  #pump(lane: Lane): void {
    const c = lane.consumer;
    if (!c || c.closed) return;
    const max = c.opts.concurrency ?? 1;
    while (c.running < max && lane.waiting.length > 0) {
      const job = lane.waiting.shift() as Pending;
      c.running++;
      void this.#run(lane, c, job);
    }
  }

  async #run(lane: Lane, c: LaneConsumer, job: Pending): Promise<void> {
    const maxAttempts = c.def.attempts ?? 5;
    let retry = false;
    try {
      const parsed = c.def.schema.safeParse(job.payload);
      if (!parsed.success) {
        const msg = describeIssues(parsed.error);
        await c.opts.onInvalidPayload?.(job.jobId, job.payload, msg);
        throw new FinalJobError(`${c.def.name} payload is invalid: ${msg}`);
      }
      await c.handler(parsed.data, { jobId: job.jobId, attempt: job.attempt, maxAttempts });
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      const final = e instanceof FinalJobError || job.attempt >= maxAttempts;
      if (final || this.#closed) c.opts.onFailed?.(job.jobId, error, final);
      retry = !final && !this.#closed;
    } finally {
      c.running--;
      if (retry) {
        const delay = retryDelayMs(c.def, job.attempt);
        job.attempt++;
        const t = setTimeout(() => {
          lane.timers.delete(t);
          lane.waiting.push(job);
          this.#pump(lane);
        }, delay);
        lane.timers.add(t);
      } else {
        lane.live.delete(job.jobId);
        if (lane.live.size === 0) {
          for (const f of lane.empty) f();
          lane.empty.clear();
        }
      }
      if (c.closed && c.running === 0) {
        for (const f of c.idle) f();
        c.idle.clear();
      }
      this.#pump(lane);
    }
  }
}
