import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob } from './job-definition.ts';
import { FinalJobError, type JobQueue } from './job-queue.ts';

/**
 * The behaviour every JobQueue implementation must have (BullMqQueue on Redis, InProcessQueue).
 * `makeQueue` returns a fresh, isolated queue (own prefix); `{ close }` is called after each test.
 */
export function runJobQueueSpec(name: string, makeQueue: () => Promise<JobQueue>, opts: { skip?: boolean } = {}): void {
  const Payload = z.object({ id: z.string().min(1), n: z.number().int() }).strict();
  const job = (queue: string, extra: { attempts?: number; backoffMs?: number } = {}) =>
    defineJob({ name: 'specJob', queue, schema: Payload, jobId: (p) => p.id, attempts: extra.attempts ?? 3, backoffMs: extra.backoffMs ?? 20 });

  /** resolves when `pred` holds, checking after each event the handler signals */
  const waitFor = (pred: () => boolean, signal: { on: (f: () => void) => void }, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 15_000);
      const check = () => {
        if (pred()) {
          clearTimeout(t);
          resolve();
        }
      };
      signal.on(check);
      check();
    });
  const signal = () => {
    const fs: (() => void)[] = [];
    return { on: (f: () => void) => fs.push(f), fire: () => fs.forEach((f) => f()) };
  };

  describe.skipIf(opts.skip === true)(`JobQueue spec: ${name}`, () => {
    it('delivers a validated payload once to the handler, with the job id', async () => {
      const q = await makeQueue();
      try {
        const seen: { payload: unknown; jobId: string; attempt: number }[] = [];
        const s = signal();
        const c = q.process(job('a'), async (p, ctx) => {
          seen.push({ payload: p, jobId: ctx.jobId, attempt: ctx.attempt });
          s.fire();
        });
        expect(await q.add(job('a'), { id: 'o-1', n: 7 })).toEqual({ jobId: 'o-1', added: true });
        await waitFor(() => seen.length === 1, s, 'the job');
        expect(seen).toEqual([{ payload: { id: 'o-1', n: 7 }, jobId: 'o-1', attempt: 1 }]);
        await c.close();
      } finally {
        await q.close();
      }
    });

    it('refuses a payload that does not match the schema at add', async () => {
      const q = await makeQueue();
      try {
        await expect(q.add(job('b'), { id: '', n: 1.5 } as never)).rejects.toMatchObject({ code: 'VALIDATION' });
        expect(await q.pendingCount(job('b'))).toBe(0);
      } finally {
        await q.close();
      }
    });

    it('deduplicates on job id while the job is waiting', async () => {
      const q = await makeQueue();
      try {
        expect((await q.add(job('c'), { id: 'dup', n: 1 })).added).toBe(true);
        expect((await q.add(job('c'), { id: 'dup', n: 2 })).added).toBe(false);
        expect(await q.pendingCount(job('c'))).toBe(1);
        const seen: number[] = [];
        const s = signal();
        const c = q.process(job('c'), async (p) => {
          seen.push(p.n);
          s.fire();
        });
        await waitFor(() => seen.length === 1, s, 'the job');
        expect(seen).toEqual([1]);
        await c.close();
      } finally {
        await q.close();
      }
    });

    it('enqueue validates, deduplicates on job id like add, and delivers once', async () => {
      const q = await makeQueue();
      try {
        await expect(q.enqueue(job('g'), { id: '', n: 1.5 } as never)).rejects.toMatchObject({ code: 'VALIDATION' });
        expect(await q.enqueue(job('g'), { id: 'enq', n: 1 })).toEqual({ jobId: 'enq' });
        expect(await q.enqueue(job('g'), { id: 'enq', n: 2 })).toEqual({ jobId: 'enq' });
        expect(await q.pendingCount(job('g'))).toBe(1);
        expect((await q.add(job('g'), { id: 'enq', n: 3 })).added).toBe(false);
        const seen: number[] = [];
        const s = signal();
        const c = q.process(job('g'), async (p) => {
          seen.push(p.n);
          s.fire();
        });
        await waitFor(() => seen.length === 1, s, 'the job');
        expect(seen).toEqual([1]);
        await c.close();
      } finally {
        await q.close();
      }
    });

    it('retries a throwing handler with backoff until it succeeds', async () => {
      const q = await makeQueue();
      try {
        const attempts: number[] = [];
        const s = signal();
        const c = q.process(job('d', { attempts: 4 }), async (_p, ctx) => {
          attempts.push(ctx.attempt);
          s.fire();
          if (ctx.attempt < 3) throw new Error('transient');
        });
        await q.add(job('d', { attempts: 4 }), { id: 'r-1', n: 1 });
        await waitFor(() => attempts.length === 3, s, 'three attempts');
        expect(attempts).toEqual([1, 2, 3]);
        await c.close();
      } finally {
        await q.close();
      }
    });

    it('does not retry after FinalJobError, nor beyond the attempts, and reports the failure once', async () => {
      const q = await makeQueue();
      try {
        const runs: string[] = [];
        const failed: string[] = [];
        const s = signal();
        const c = q.process(
          job('e', { attempts: 2 }),
          async (p) => {
            runs.push(p.id);
            if (p.id === 'final') throw new FinalJobError('never works');
            throw new Error('always transient');
          },
          {
            onFailed: (id, _e, final) => {
              if (final) failed.push(id);
              s.fire();
            },
          },
        );
        await q.add(job('e', { attempts: 2 }), { id: 'final', n: 1 });
        await q.add(job('e', { attempts: 2 }), { id: 'spent', n: 1 });
        await waitFor(() => failed.length === 2, s, 'both failures');
        expect(runs.filter((r) => r === 'final')).toHaveLength(1);
        expect(runs.filter((r) => r === 'spent')).toHaveLength(2);
        expect(failed.sort()).toEqual(['final', 'spent']);
        // a finished job is gone, so the relay can add it again
        expect((await q.add(job('e', { attempts: 2 }), { id: 'final', n: 2 })).added).toBe(true);
        await c.close();
      } finally {
        await q.close();
      }
    });

    it('runs up to `concurrency` handlers at once', async () => {
      const q = await makeQueue();
      try {
        let running = 0;
        let peak = 0;
        let done = 0;
        const s = signal();
        const gate: (() => void)[] = [];
        const c = q.process(
          job('f'),
          async () => {
            running++;
            peak = Math.max(peak, running);
            s.fire();
            await new Promise<void>((r) => gate.push(r));
            running--;
            done++;
            s.fire();
          },
          { concurrency: 3 },
        );
        for (let i = 0; i < 5; i++) await q.add(job('f'), { id: `c-${i}`, n: i });
        await waitFor(() => running === 3, s, 'three running');
        expect(peak).toBe(3);
        while (done < 5) {
          gate.shift()?.();
          await waitFor(() => gate.length > 0 || done === 5, s, 'the next job');
        }
        expect(peak).toBe(3);
        await c.close();
      } finally {
        await q.close();
      }
    });
  });
}
