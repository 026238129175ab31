import type { z } from 'zod';
import type { JobDefinition } from './job-definition.ts';

/** What a handler learns about the job it runs. */
export interface JobContext {
  readonly jobId: string;
  /** 1 on the first run, 2 on the first retry, … */
  readonly attempt: number;
  readonly maxAttempts: number;
}

export type JobHandler<S extends z.ZodType> = (payload: z.infer<S>, ctx: JobContext) => Promise<void>;

/**
 * Throw this from a handler when running the job again cannot help (BullMQ's UnrecoverableError):
 * the job fails at once instead of using up its retries. Any other error is retried with backoff
 * until the definition's `attempts` are spent; then the job fails for good and is not retried again.
 */
export class FinalJobError extends Error {
  override readonly name = 'FinalJobError';
}

export interface ProcessOptions {
  /** jobs run at the same time by this consumer (default 1) */
  readonly concurrency?: number;
  /** a payload that does not match the definition's schema: called once, then the job fails without retry */
  readonly onInvalidPayload?: (jobId: string, raw: unknown, error: string) => Promise<void> | void;
  /** a job failed for good (final error, or retries spent); for logging */
  readonly onFailed?: (jobId: string, error: Error, final: boolean) => void;
}

export interface JobConsumer {
  /** stop taking jobs; resolves when running handlers have finished */
  close(): Promise<void>;
}

export interface AddResult {
  readonly jobId: string;
  /** false when a job with this id was already waiting or running (deduplicated) */
  readonly added: boolean;
}

/**
 * The queue interface: BullMQ on Redis in services mode (`BullMqQueue`), an in-process queue in
 * embedded mode (`InProcessQueue`). Both pass `runJobQueueSpec`.
 */
export interface JobQueue {
  readonly kind: 'bullmq' | 'in-process';
  /** validate and enqueue; VALIDATION error for a payload that does not match the schema */
  add<S extends z.ZodType>(def: JobDefinition<S>, payload: z.infer<S>): Promise<AddResult>;
  /**
   * Like `add` (validated, deduplicated on the job id) without reporting whether the job was new:
   * one Redis round trip instead of two in BullMQ. For producers that do not need `added` (the outbox relay).
   */
  enqueue<S extends z.ZodType>(def: JobDefinition<S>, payload: z.infer<S>): Promise<{ readonly jobId: string }>;
  process<S extends z.ZodType>(def: JobDefinition<S>, handler: JobHandler<S>, opts?: ProcessOptions): JobConsumer;
  /** jobs waiting or delayed (not running) on the definition's queue */
  pendingCount(def: JobDefinition): Promise<number>;
  /** close consumers and connections */
  close(): Promise<void>;
}

export function retryDelayMs(def: JobDefinition, attempt: number): number {
  const base = def.backoffMs ?? 500;
  return Math.min(60_000, base * 2 ** Math.max(0, attempt - 1));
}

export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}
