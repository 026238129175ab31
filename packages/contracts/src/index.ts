export * from './common.ts';
export * from './market.ts';
export * from './agents.ts';
export * from './risk.ts';
export * from './execution.ts';
export * from './trace.ts';
export * from './decision-line.ts';
export * from './json-schema.ts';
