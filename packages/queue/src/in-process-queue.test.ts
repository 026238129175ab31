import { runJobQueueSpec } from './job-queue-spec.ts';
import { InProcessQueue } from './in-process-queue.ts';

runJobQueueSpec('InProcessQueue', async () => new InProcessQueue());
