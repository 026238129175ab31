export * from './memory-store.ts';
export * from './memory-stats.ts';
export * from './memory-builder.ts';
export { memoryId, keyString, toRecall } from './memory-validation.ts';
export * from './pg-memory-store.ts';
export * from './synthetic-memories.ts';
export * from './in-process-memory-store.ts';
export { HnswIndex, TopK, type HnswOptions, type HnswPaths } from './hnsw-index.ts';
export * from './build-memories.ts';
