import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { z } from 'zod';
import { AppError } from '@meridian/core';
import type { JobDefinition } from './job-definition.ts';
import {
  FinalJobError,
  describeIssues,
  type AddResult,
  type JobConsumer,
  type JobHandler,
  type JobQueue,
  type ProcessOptions,
} from './job-queue.ts';

export interface BullMqQueueOptions {
  /** redis://host:port/db — config `REDIS_URL` */
  readonly url: string;
  /** key prefix per deployment or test (config `queuePrefix`), so deployments and tests never share keys */
  readonly prefix: string;
  /**
   * How long a running job's lock lasts without renewal; a worker that died (SIGKILL) loses its jobs
   * to another worker after this (default 30 000 ms — BullMQ's default).
   */
  readonly lockDurationMs?: number;
  /** how often workers look for jobs whose lock expired (default 30 000 ms) */
  readonly stalledIntervalMs?: number;
  /** connection and worker errors (Redis down, a flushed job); default: ignored */
  readonly onError?: (error: Error) => void;
}

/**
 * BullMQ 5 on Redis behind the JobQueue interface. Each definition's queue is one BullMQ queue; jobs
 * carry the definition's `jobId`, `attempts` and exponential backoff. Finished jobs are removed
 * (completed and failed alike): the outbox table, not Redis, is the record, and a removed job can be
 * added again by the relay if its order was never acknowledged.
 */
export class BullMqQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  readonly #opts: BullMqQueueOptions;
  readonly #connection: Redis;
  readonly #queues = new Map<string, Queue>();
  readonly #workers = new Set<Worker>();
  #closing: Promise<void> | undefined;

  constructor(opts: BullMqQueueOptions) {
    if (!opts.prefix || opts.prefix.includes(':')) throw new AppError('CONFIG', `queue prefix "${opts.prefix}" must be non-empty and contain no ':'`);
    this.#opts = opts;
    this.#connection = new Redis(opts.url, redisOptions());
    this.#connection.on('error', (e: Error) => opts.onError?.(e));
  }

  #queue(name: string): Queue {
    let q = this.#queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.#connection, prefix: this.#opts.prefix });
      q.on('error', (e: Error) => this.#opts.onError?.(e));
      this.#queues.set(name, q);
    }
    return q;
  }

  async add<S extends z.ZodType>(def: JobDefinition<S>, payload: z.infer<S>): Promise<AddResult> {
    const { jobId, data } = this.#validate(def, payload);
    // BullMQ ignores an add whose jobId exists; ask first only to report it (the add itself is the dedupe)
    const state = await this.#redis(def, jobId, () => this.#queue(def.queue).getJobState(jobId));
    await this.#redis(def, jobId, () => this.#addJob(def, jobId, data));
    return { jobId, added: state === 'unknown' };
  }

  async enqueue<S extends z.ZodType>(def: JobDefinition<S>, payload: z.infer<S>): Promise<{ readonly jobId: string }> {
    const { jobId, data } = this.#validate(def, payload);
    await this.#redis(def, jobId, () => this.#addJob(def, jobId, data));
    return { jobId };
  }

  #validate<S extends z.ZodType>(def: JobDefinition<S>, payload: z.infer<S>): { jobId: string; data: z.infer<S> } {
    const r = def.schema.safeParse(payload);
    if (!r.success) throw new AppError('VALIDATION', `${def.name} payload is invalid: ${describeIssues(r.error)}`);
    return { jobId: def.jobId(r.data), data: r.data };
  }

  #addJob(def: JobDefinition, jobId: string, data: unknown): Promise<unknown> {
    return this.#queue(def.queue).add(def.name, data, {
      jobId,
      attempts: def.attempts ?? 5,
      backoff: { type: 'exponential', delay: def.backoffMs ?? 500 },
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  async #redis<T>(def: JobDefinition, jobId: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw new AppError('QUEUE_UNAVAILABLE', `cannot add ${def.name} job ${jobId} to Redis: ${(e as Error).message}`, {
        hint: 'check that Redis is running and REDIS_URL is right',
        cause: e,
      });
    }
  }

  process<S extends z.ZodType>(def: JobDefinition<S>, handler: JobHandler<S>, opts: ProcessOptions = {}): JobConsumer {
    const maxAttempts = def.attempts ?? 5;
    const worker = new Worker(
      def.queue,
      async (job: Job) => {
        if (job.name !== def.name) throw new UnrecoverableError(`queue ${def.queue} has no handler for job ${job.name}`);
        const jobId = job.id ?? '';
        const parsed = def.schema.safeParse(job.data);
        if (!parsed.success) {
          const msg = describeIssues(parsed.error);
          await opts.onInvalidPayload?.(jobId, job.data, msg);
          throw new UnrecoverableError(`${def.name} payload is invalid: ${msg}`);
        }
        try {
          await handler(parsed.data, { jobId, attempt: job.attemptsMade + 1, maxAttempts });
        } catch (e) {
          if (e instanceof FinalJobError) throw new UnrecoverableError(e.message);
          throw e;
        }
      },
      {
        connection: new Redis(this.#opts.url, redisOptions()),
        prefix: this.#opts.prefix,
        concurrency: opts.concurrency ?? 1,
        lockDuration: this.#opts.lockDurationMs ?? 30_000,
        stalledInterval: this.#opts.stalledIntervalMs ?? 30_000,
        maxStalledCount: 5,
      },
    );
    worker.on('error', (e: Error) => this.#opts.onError?.(e));
    worker.on('failed', (job: Job | undefined, e: Error) => {
      if (!job) return;
      const final = e instanceof UnrecoverableError || e.name === 'UnrecoverableError' || job.attemptsMade >= maxAttempts;
      if (final) opts.onFailed?.(job.id ?? '', e, true);
    });
    this.#workers.add(worker);
    return {
      close: async () => {
        this.#workers.delete(worker);
        await worker.close();
        await worker.disconnect();
      },
    };
  }

  async pendingCount(def: JobDefinition): Promise<number> {
    return this.#queue(def.queue).getJobCountByTypes('waiting', 'delayed', 'prioritized', 'paused');
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#workers].map(async (w) => {
        await w.close();
        await w.disconnect();
      }));
      await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
      this.#connection.disconnect();
    })();
    return this.#closing;
  }
}

/** BullMQ needs maxRetriesPerRequest: null (blocking commands); reconnect quickly after Redis restarts. */
function redisOptions(): RedisOptions {
  return { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: (n: number) => Math.min(2000, 50 * n) };
}
