import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob } from './job-definition.ts';
import { runJobQueueSpec } from './job-queue-spec.ts';
import { InProcessQueue } from './in-process-queue.ts';

runJobQueueSpec('InProcessQueue', async () => new InProcessQueue());

describe('InProcessQueue.whenEmpty', () => {
  const job = defineJob({ name: 'emptyJob', queue: 'q', schema: z.object({ id: z.string() }).strict(), jobId: (p) => p.id, attempts: 2, backoffMs: 5 });

  it('resolves once every added job has been handled, retries included, and at once when there are none', async () => {
    const q = new InProcessQueue();
    try {
      await q.whenEmpty(job); // nothing added: resolves at once
      const handled: string[] = [];
      let failedOnce = false;
      const c = q.process(
        job,
        async (p) => {
          // 'b' fails its first attempt: the queue is not empty while its retry is delayed
          if (p.id === 'b' && !failedOnce) {
            failedOnce = true;
            throw new Error('transient');
          }
          handled.push(p.id);
        },
        { concurrency: 1 },
      );
      for (const id of ['a', 'b', 'c']) await q.add(job, { id });
      expect(handled.length).toBeLessThan(3);
      await q.whenEmpty(job);
      expect(handled.sort()).toEqual(['a', 'b', 'c']);
      expect(await q.pendingCount(job)).toBe(0);
      await c.close();
    } finally {
      await q.close();
    }
  });

  it('is resolved by close() when jobs are still queued (nobody waits forever)', async () => {
    const q = new InProcessQueue();
    await q.add(job, { id: 'x' }); // no consumer: it stays queued
    const waiting = q.whenEmpty(job);
    await q.close();
    await expect(waiting).resolves.toBeUndefined();
  });
});
