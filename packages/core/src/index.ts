export * from './app-error.ts';
export * from './result.ts';
export * from './clock.ts';
export * from './ids.ts';
export * from './money.ts';
export * from './logger.ts';
export * from './canonical-json.ts';
