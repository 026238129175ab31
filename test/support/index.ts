export * from './services.ts';
export * from './cli.ts';
