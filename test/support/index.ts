export * from './services.ts';
export * from './cli.ts';
export * from './orders.ts';
