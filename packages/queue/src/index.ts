export * from './job-definition.ts';
export * from './job-queue.ts';
export * from './jobs.ts';
export * from './in-process-queue.ts';
export * from './bullmq-queue.ts';
export * from './outbox-relay.ts';
export * from './outbox-listener.ts';
