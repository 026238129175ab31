import { randomBytes } from 'node:crypto';
import { probeRedis } from '@meridian/test/support';
import { BullMqQueue } from './bullmq-queue.ts';
import { runJobQueueSpec } from './job-queue-spec.ts';

const redis = await probeRedis();

// a unique prefix per queue: tests never see each other's keys; Redis keys under it expire with the test run
runJobQueueSpec(
  `BullMqQueue on Redis${redis.skipNote}`,
  async () => new BullMqQueue({ url: redis.url, prefix: `mt-q-${randomBytes(4).toString('hex')}` }),
  { skip: !redis.ok },
);
