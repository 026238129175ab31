export * from './candle-decider.ts';
export * from './event-phases.ts';
export * from './recall-prefetch.ts';
export * from './series-state.ts';
export * from './portfolio-view.ts';
export * from './market-catalog.ts';
export * from './worker-service.ts';
export * from './open-worker.ts';
export { parseWorkerFlags, parseCapital, USAGE as WORKER_USAGE } from './worker-flags.ts';
