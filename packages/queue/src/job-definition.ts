import type { z } from 'zod';

/**
 * A queue job, documenso-style: a name, the queue it travels on, the zod payload schema from
 * packages/contracts, and how its BullMQ job id is derived. Producers and consumers share the
 * definition, so a payload is validated with the same schema on both sides.
 */
export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  /** job name (BullMQ's job name; also used in logs) */
  readonly name: string;
  /** the queue the job travels on */
  readonly queue: string;
  readonly schema: S;
  /**
   * The job id: adding a job whose id is already waiting or running is a no-op (BullMQ dedupes on
   * jobId), which is what makes the outbox relay's re-dispatch idempotent. Must not contain ':'.
   */
  readonly jobId: (payload: z.infer<S>) => string;
  /** attempts before the job counts as failed (default 5) */
  readonly attempts?: number;
  /** first retry delay in ms; doubles each attempt (default 500) */
  readonly backoffMs?: number;
}

export type JobPayload<D extends JobDefinition> = z.infer<D['schema']>;

export function defineJob<S extends z.ZodType>(def: JobDefinition<S>): JobDefinition<S> {
  if (!/^[a-z][a-zA-Z0-9-]*$/.test(def.queue)) throw new RangeError(`job ${def.name}: queue name "${def.queue}" must be alphanumeric`);
  return def;
}

/** BullMQ refuses ':' in custom ids (it is its key separator) and integer-looking ids. */
export function safeJobId(raw: string): string {
  const id = raw.replace(/:/g, '|');
  return /^\d+$/.test(id) ? `j${id}` : id;
}
